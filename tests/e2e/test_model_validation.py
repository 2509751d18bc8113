"""A model is untrusted input (issue 12 §1): crafted XGBoost trees with
recomputed checksums are refused by `models import`; a version planted
directly in the store (valid checksums, commit marker) is refused at load:
`/inference` answers an error and the server stays healthy, `predict` fails
fast naming the tree and node."""
from __future__ import annotations

import io
import json
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from conftest import make_local_stores
from model_util import MUTATIONS, checksum
from serve_util import Server, wait_for


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("validation")
    stores = make_local_stores(tmp)
    data = tmp / "churn.csv"
    stores.run("sample-data", "--rows", "400", "--out", data)
    stores.run("upload", data)
    (tmp / "params.json").write_text('{"num_boost_round": 6}')
    stores.run("train", "--params", tmp / "params.json", "-q")
    model = json.loads(stores.read("models", "1/model.json"))
    prep = stores.read("models", "1/preprocessor.json")
    return stores, data, model, prep


def bundle(path: Path, model: bytes, prep: bytes) -> Path:
    """An exported-looking bundle whose checksums the attacker recomputed."""
    meta = {"version": 1, "created": "2024-01-01T00:00:00.000Z", "target": "churn", "trigger": "manual",
            "artifacts": {"model.json": checksum(model), "preprocessor.json": checksum(prep)}}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.json", model)
        z.writestr("preprocessor.json", prep)
        z.writestr("metadata.json", json.dumps(meta))
    return path


def plant_version(stores, version: int, model: bytes, prep: bytes):
    """Writes a complete version straight into the model store, as someone
    with write access to the bucket could: valid checksums and commit marker."""
    meta = json.dumps({"version": version, "created": "2024-01-01T00:00:00.000Z", "target": "churn",
                       "trigger": "manual",
                       "artifacts": {"model.json": checksum(model), "preprocessor.json": checksum(prep)}}).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("model.json", model)
        z.writestr("preprocessor.json", prep)
        z.writestr("metadata.json", meta)
    zip_bytes = buf.getvalue()
    stores.write("models", f"{version}/.reserved", b"{}")
    stores.write("models", f"{version}/model.json", model)
    stores.write("models", f"{version}/preprocessor.json", prep)
    stores.write("models", f"{version}/metadata.json", meta)
    stores.write("models", f"{version}/model_af_{version}.zip", zip_bytes)
    commit = {"version": version, "committed": "2024-01-01T00:00:00.000Z", "metadata.json": checksum(meta),
              f"model_af_{version}.zip": checksum(zip_bytes)}
    stores.write("models", f"{version}/.committed", json.dumps(commit).encode())


def crafted(model: dict, name: str) -> tuple[bytes, str]:
    doc = json.loads(json.dumps(model))
    expect = MUTATIONS[name](doc)
    return json.dumps(doc).encode(), expect


def versions(stores) -> list[int]:
    return [v["version"] for v in json.loads(stores.run("models", "list", "--json").stdout)["versions"]]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_import_refuses_a_crafted_model_with_recomputed_checksums(trained, tmp_path, name):
    stores, _, model, prep = trained
    bad, expect = crafted(model, name)
    path = bundle(tmp_path / "model_af_1.zip", bad, prep)
    proc = stores.run("models", "import", path, check=False, timeout=60)
    assert proc.returncode == 2, proc.stderr  # InvalidArgument
    assert expect in proc.stderr, proc.stderr
    assert "nothing was registered" in proc.stderr
    assert versions(stores) == [1]


def test_import_refuses_a_preprocessor_with_a_repeated_column(trained, tmp_path):
    stores, _, model, prep = trained
    doc = json.loads(prep)
    doc["features"][1]["name"] = doc["features"][0]["name"]
    path = bundle(tmp_path / "model_af_1.zip", json.dumps(model).encode(), json.dumps(doc).encode())
    proc = stores.run("models", "import", path, check=False, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert f"repeats the column name '{doc['features'][0]['name']}'" in proc.stderr
    assert versions(stores) == [1]


def test_planted_versions_are_refused_at_load_and_the_server_stays_healthy(trained, tmp_path):
    stores, data, model, prep = trained
    planted = {}
    for i, name in enumerate(sorted(MUTATIONS)):
        version = 10 + i
        bad, expect = crafted(model, name)
        plant_version(stores, version, bad, prep)
        planted[version] = expect
    assert set(planted) <= set(versions(stores))

    # predict: fails fast with the problem named (before: segfault or endless loop).
    for version, expect in planted.items():
        start = time.monotonic()
        proc = stores.run("predict", data, "--version", version, "--out", tmp_path / f"p{version}.csv",
                          check=False, timeout=60)
        assert proc.returncode == 8, proc.stderr  # DataLoss
        assert f"version {version} model.json: {expect}" in proc.stderr, proc.stderr
        assert time.monotonic() - start < 30

    row = {"Country": "aa", "Count": 2.0, "id": 2.0}
    with Server(stores, args=["--threads", "2"], spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        for version, expect in planted.items():
            r = srv.infer([row], version=str(version), timeout=30)
            assert r.status_code == 503, r.text  # the version cannot be loaded
            assert expect in r.json()["message"], r.text
            assert srv.get("/health", timeout=10).status_code == 200
        # Promoting a planted version: the server's refresh refuses it and
        # keeps serving; version 1 still answers.
        bad = min(planted)
        stores.run("models", "promote", bad)
        wait_for(lambda: "keeping the previous model" in srv.log_text(), timeout=60,
                 what="the refresh to refuse the promoted version")
        assert srv.proc.poll() is None
        ok = srv.infer([row], version="1", timeout=30)
        assert ok.status_code == 200, ok.text
        assert srv.get("/health", timeout=10).status_code == 200
        assert srv.stop() == 0
