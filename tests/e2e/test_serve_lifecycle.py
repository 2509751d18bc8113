"""The service across a model's life, without restarts: no model yet (503),
the first training picked up, a promotion served within seconds, a broken
version that fails to load leaving the old one serving, and a clean SIGTERM.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from serve_util import Server, wait_for

ROOT = Path(__file__).resolve().parents[2]


def default_version(srv: Server) -> str | None:
    r = srv.infer([["aa", 2, 2]])
    return r.json()["model_version"] if r.status_code == 200 else None


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_model_lifecycle_without_restart(kind, request, tmp_path):
    if kind == "local":
        from conftest import make_local_stores
        stores = make_local_stores(tmp_path)
    else:
        from conftest import make_s3_stores
        stores = make_s3_stores(request.getfixturevalue("seaweed"), tmp_path)
    srv = Server(stores, args=["--threads", "2", "--alias-refresh", "0.5"])
    with srv:
        # No model yet: 503 with Retry-After, not ready, but alive.
        r = srv.infer([["aa", 2, 2]])
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0, r.text
        assert r.json()["error"] == "no_model" and "modelbay train" in r.json()["message"]
        assert srv.get("/ready").status_code == 503
        assert srv.get("/health").status_code == 200

        stores.run("sample-data", "--rows", "1500", "--seed", "3", "--out", "churn.csv")
        stores.run("upload", "churn.csv")
        stores.run("train", "--quiet")
        assert wait_for(lambda: default_version(srv) == "1", 15, "version 1 served")
        assert srv.get("/ready").json()["status"] == "ready"

        # The seed's client, as shipped.
        client = subprocess.run([sys.executable, str(ROOT / "examples" / "test_inference.py"),
                                 srv.url + "/inference"], capture_output=True, text=True, timeout=60)
        assert client.returncode == 0, client.stdout + client.stderr
        assert client.stdout.startswith("200") and "inference completed" in client.stdout

        # A second version that is not promoted: explicit requests reach it,
        # the default stays on production.
        stores.run("train", "--quiet", "--promote", "never")
        assert wait_for(lambda: srv.infer([["aa", 2, 2]], "2").status_code == 200, 15, "version 2 visible")
        aliases = srv.get("/models").json()["aliases"]
        if "production" in aliases:
            assert default_version(srv) == str(aliases["production"])
        fetches = srv.metrics()['modelbay_store_reads_total{kind="fetch"}']

        # Promotion is served without a restart, and needs no new download
        # (version 2 is already loaded).
        stores.run("models", "promote", "2")
        assert wait_for(lambda: default_version(srv) == "2", 10, "promotion served")
        assert srv.infer([["aa", 2, 2]], "1").json()["model_version"] == "1"  # old versions stay
        assert srv.metrics()['modelbay_store_reads_total{kind="fetch"}'] == fetches

        # A broken version 3 (its model bytes do not match the checksums),
        # then pointed to by production: it fails to load, 2 keeps serving.
        for name in [".reserved", "model.json", "preprocessor.json", "metadata.json"]:
            stores.write("models", f"3/{name}", stores.read("models", f"2/{name}"))
        stores.write("models", "3/model.json", b'{"not": "a model"}')
        stores.write("models", "3/.committed", b"")
        stores.write("models", "aliases/production.json",
                     json.dumps({"version": 3, "updated": "2026-01-01T00:00:00Z", "reason": "test"}).encode())
        wait_for(lambda: srv.metrics()['modelbay_model_loads_total{result="error"}'] >= 1, 10,
                 "failed load of version 3 counted")
        assert default_version(srv) == "2"
        assert srv.get("/ready").json()["model_version"] == "2"
        broken = srv.infer([["aa", 2, 2]], "3")
        assert broken.status_code in (404, 503), broken.text  # never a 500 for a request
    # `with` stopped it with SIGTERM and asserted exit code 0.
    assert "stopped" in srv.log_text()
