"""SageMaker's bring-your-own-container contract (issue 10 §3): `modelbay serve
--sagemaker` answers /ping and /invocations (text/csv and JSON bodies, Accept
honoured) from the model store that SageMaker unpacks into /opt/ml/model, on
port 8080, and never writes to that folder.

The model folder here is a `tar -C <models store> -czf model.tar.gz .` of a
trained store unpacked elsewhere (as SageMaker does into /opt/ml/model);
`--model-dir` points at it, since /opt/ml is not ours to write in a test.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import tarfile

import pytest
import requests

from conftest import make_trained_stores, modelbay_binary
from serve_util import Server, wait_for

ROWS = [["aa", 2, 2], ["bb", 50, 7], ["ff", 99, 100]]
CSV_BODY = "Country,Count,id\naa,2,2\nbb,50,7\nff,99,100\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return make_trained_stores(tmp_path_factory.mktemp("sagemaker"))


@pytest.fixture(scope="module")
def model_dir(trained, tmp_path_factory):
    """model.tar.gz of the trained models store, unpacked as SageMaker does."""
    tmp = tmp_path_factory.mktemp("opt-ml")
    archive = tmp / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(trained.cwd / ".modelbay" / "models", arcname=".")
    target = tmp / "model"
    target.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def snapshot(folder):
    return sorted((str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def expected(trained):
    with Server(trained, args=["--threads", "1"]) as srv:
        srv.wait_ready()
        return srv.infer(ROWS).json()["predictions"]


def sagemaker_server(trained, model_dir, tmp_path, **kw):
    # The stores' own model store must not be what serves: point it elsewhere.
    env = {"MODEL_ARTIFACTS_STORE": str(tmp_path / "not-the-model"), "MODELBAY_PORT": "8000"}
    return Server(trained, args=["--sagemaker", "--model-dir", model_dir, "--threads", "2"],
                  extra_env=env, spool=tmp_path / "spool", **kw)


def test_ping_and_invocations_csv_and_json_with_accept(trained, model_dir, expected, tmp_path):
    before = snapshot(model_dir)
    with sagemaker_server(trained, model_dir, tmp_path) as srv:
        wait_for(lambda: srv.get("/ping").status_code == 200, 60, "/ping 200")
        # text/csv in, JSON out (no Accept: JSON).
        r = srv.post("/invocations", data=CSV_BODY, headers={"Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == expected
        # text/csv in and out: one prediction per line.
        r = srv.post("/invocations", data=CSV_BODY, headers={"Content-Type": "text/csv", "Accept": "text/csv"})
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/csv")
        assert r.text.splitlines() == [str(p) for p in expected]
        # JSON in, CSV out; JSON in and out (SageMaker's default Accept is */*).
        r = srv.post("/invocations", json={"instances": ROWS}, headers={"Accept": "text/csv"})
        assert r.text.splitlines() == [str(p) for p in expected]
        r = srv.post("/invocations", json={"instances": ROWS}, headers={"Accept": "*/*"})
        assert r.json()["predictions"] == expected
        r = srv.post("/invocations", json={"instances": ROWS},
                     headers={"Accept": "application/xml, text/csv;q=0.5"})
        assert r.status_code == 200 and r.text.splitlines() == [str(p) for p in expected]
        # An Accept it cannot answer is a 400 saying what it can.
        r = srv.post("/invocations", json={"instances": ROWS}, headers={"Accept": "application/x-protobuf"})
        assert r.status_code == 400 and "text/csv" in r.json()["message"]
        # MLflow's /version and /health answer too.
        assert srv.get("/version").status_code == 200 and srv.get("/version").text.strip()
        assert srv.get("/health").status_code == 200
    assert snapshot(model_dir) == before, "serving wrote into the SageMaker model folder"


def test_missing_model_dir_is_a_clear_error(trained, tmp_path):
    missing = tmp_path / "no-such-model"
    proc = trained.run("serve", "--sagemaker", "--model-dir", missing, "--port", "0", check=False, timeout=60)
    assert proc.returncode != 0
    assert "does not exist" in proc.stderr and "model.tar.gz" in proc.stderr, proc.stderr


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_default_port_is_8080_even_with_the_images_modelbay_port(trained, model_dir, tmp_path):
    """No --port: SageMaker's 8080, although MODELBAY_PORT=8000 is set (as in
    the image)."""
    if not _port_free(8080):
        pytest.skip("127.0.0.1:8080 is in use on this machine")
    env = {**trained.env, "MODELBAY_PORT": "8000", "MODELBAY_HOST": "127.0.0.1"}
    log = open(tmp_path / "sm8080.log", "wb")
    proc = subprocess.Popen([str(modelbay_binary()), "serve", "--sagemaker", "--model-dir", str(model_dir),
                             "--spool", str(tmp_path / "spool8080"), "--threads", "1"],
                            cwd=trained.cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def ping():
            try:
                return requests.get("http://127.0.0.1:8080/ping", timeout=2).status_code == 200
            except requests.ConnectionError:
                assert proc.poll() is None, (tmp_path / "sm8080.log").read_text()
                return False
        wait_for(ping, 60, "/ping on 8080")
        r = requests.post("http://127.0.0.1:8080/invocations", data=CSV_BODY,
                          headers={"Content-Type": "text/csv", "Accept": "text/csv"}, timeout=30)
        assert r.status_code == 200 and len(r.text.splitlines()) == 3
    finally:
        proc.terminate()
        assert proc.wait(60) == 0


def test_ping_is_503_until_a_model_is_loaded(trained, tmp_path):
    """SageMaker sends traffic only after /ping says 200: an empty model folder
    (no version) keeps it at 503, and /invocations says why."""
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with sagemaker_server(trained, empty, tmp_path) as srv:
        r = srv.get("/ping")
        assert r.status_code == 503 and r.headers.get("Retry-After")
        r = srv.post("/invocations", data=CSV_BODY, headers={"Content-Type": "text/csv"})
        assert r.status_code == 503 and "train" in r.json()["message"], r.text
