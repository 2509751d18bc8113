"""The model registry through the real binary, on a local folder and on
SeaweedFS (the `stores` fixture): concurrent publishers get distinct,
consecutive version numbers; only complete versions are visible; a tampered
artifact is refused; aliases are plain JSON an independent client can read."""
from __future__ import annotations

import csv
import io
import json
import random
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from conftest import modelbay_binary
from model_util import TINY_PREPROCESSOR, checksum, tiny_model

CONCURRENCY = 6


def _has_train() -> bool:
    try:
        proc = subprocess.run([str(modelbay_binary()), "train", "--help"], capture_output=True, text=True, timeout=30)
        return proc.returncode == 0 and "--data" in proc.stdout
    except Exception:  # noqa: BLE001 - binary missing or broken
        return False


def make_bundle(path: Path, version: int, model: bytes | None = None, prep: bytes = TINY_PREPROCESSOR) -> Path:
    """A model_af_<N>.zip as another modelbay store would export it (a valid
    tiny model by default: the registry validates every model it registers)."""
    model = tiny_model() if model is None else model
    meta = {"version": version, "created": "2024-01-01T00:00:00.000Z", "target": "churn",
            "metrics": {"accuracy": 0.5 + version / 100}, "trigger": "manual",
            "artifacts": {"model.json": checksum(model), "preprocessor.json": checksum(prep)}}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model.json", model)
        z.writestr("preprocessor.json", prep)
        z.writestr("metadata.json", json.dumps(meta, indent=2))
    return path


def import_bundle(stores, path: Path) -> int:
    out = stores.run("models", "import", path).stdout
    m = re.search(r"as version (\d+)", out)
    assert m, out
    return int(m.group(1))


def listed_versions(stores) -> list[int]:
    return [v["version"] for v in json.loads(stores.run("models", "list", "--json").stdout)["versions"]]


def test_concurrent_imports_get_distinct_consecutive_versions(stores, tmp_path):
    bundles = [make_bundle(tmp_path / f"model_af_{i}.zip", i, tiny_model(i / 10))
               for i in range(1, CONCURRENCY + 1)]
    procs = [stores.popen("models", "import", b, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for b in bundles]
    got = {}
    for b, p in zip(bundles, procs):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        got[b.name] = int(re.search(r"as version (\d+)", out).group(1))
    assert sorted(got.values()) == list(range(1, CONCURRENCY + 1))
    assert listed_versions(stores) == list(range(1, CONCURRENCY + 1))
    for name, version in got.items():
        meta = json.loads(stores.run("models", "show", version, "--json").stdout)
        assert meta["version"] == version
        assert meta["trigger"] == "import"
        assert meta["imported_from"]["version"] == int(name.split("_")[2].split(".")[0])
        bundle_key = f"{version}/model_af_{version}.zip"
        inner = zipfile.ZipFile(io.BytesIO(stores.read("models", bundle_key)))
        assert sorted(inner.namelist()) == ["metadata.json", "model.json", "preprocessor.json"]
        assert json.loads(inner.read("metadata.json"))["version"] == version


def test_tampered_artifact_is_refused_naming_the_file(stores, tmp_path):
    assert import_bundle(stores, make_bundle(tmp_path / "model_af_1.zip", 1, tiny_model(0.1))) == 1
    assert import_bundle(stores, make_bundle(tmp_path / "model_af_2.zip", 2, tiny_model(0.2))) == 2
    stores.write("models", "1/model.json", b'{"trees": [6, 6, 6]}')
    prep = stores.read("models", "2/preprocessor.json")
    stores.write("models", "2/preprocessor.json", prep[: len(prep) // 2])

    for version, key in ((1, "1/model.json"), (2, "2/preprocessor.json")):
        proc = stores.run("models", "show", version, check=False)
        assert proc.returncode == 8, proc.stderr  # DataLoss
        assert f"{key}: sha256 mismatch" in proc.stderr
        assert "re-import or retrain" in proc.stderr
        promote = stores.run("models", "promote", version, check=False)
        assert promote.returncode != 0 and key in promote.stderr
    assert not any(k.startswith("aliases/") for k in stores.list_keys("models"))


def test_half_written_version_is_invisible_and_its_number_not_reused(stores, tmp_path):
    assert import_bundle(stores, make_bundle(tmp_path / "model_af_1.zip", 1)) == 1
    # A training that died after uploading some artifacts: no commit marker.
    stores.write("models", "2/.reserved", b"{}")
    stores.write("models", "2/model.json", b'{"half": true}')
    stores.write("models", "2/metadata.json", b'{"version": 2}')
    assert listed_versions(stores) == [1]
    proc = stores.run("models", "show", "2", check=False)
    assert proc.returncode == 3 and "version 2 is not complete" in proc.stderr
    assert "latest" in json.loads(stores.run("models", "list", "--json").stdout)["aliases"]
    assert import_bundle(stores, make_bundle(tmp_path / "model_af_9.zip", 9)) == 3
    assert listed_versions(stores) == [1, 3]


def test_promote_and_aliases_are_readable_by_an_independent_client(stores, tmp_path):
    unset = stores.run("models", "show", "production", check=False)
    assert unset.returncode == 3 and "no version is promoted to production yet" in unset.stderr
    for i in (1, 2):
        import_bundle(stores, make_bundle(tmp_path / f"model_af_{i}.zip", i, tiny_model(i / 10)))

    out = stores.run("models", "promote", "1").stdout
    assert "production: (none) -> 1" in out
    out = stores.run("models", "promote", "latest", "--reason", "better holdout").stdout
    assert "production: 1 -> 2" in out
    stores.run("models", "promote", "1", "--alias", "staging")

    doc = json.loads(stores.read("models", "aliases/production.json"))
    assert doc["version"] == 2 and doc["previous"] == 1 and doc["reason"] == "better holdout"
    assert json.loads(stores.read("models", "aliases/staging.json"))["version"] == 1
    listing = json.loads(stores.run("models", "list", "--json").stdout)
    assert listing["aliases"] == {"latest": 2, "production": 2, "staging": 1}
    table = stores.run("models", "list").stdout.splitlines()
    assert table[0].split() == ["VERSION", "CREATED", "TRIGGER", "TARGET", "METRIC", "ALIASES"]
    assert re.match(r"2\s.*import\s+churn\s+accuracy 0\.5200\s+latest, production$", table[2]), table
    assert json.loads(stores.run("models", "show", "staging", "--json").stdout)["version"] == 1

    bad = stores.run("models", "promote", "7", check=False)
    assert bad.returncode == 3 and "versions: 1, 2" in bad.stderr
    bad = stores.run("models", "promote", "1", "--alias", "latest", check=False)
    assert bad.returncode == 2 and "cannot be set" in bad.stderr


def test_malicious_bundle_is_rejected_and_nothing_is_written(stores, tmp_path):
    evil = tmp_path / "model_af_1.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../model.json", b"{}")
        z.writestr("preprocessor.json", b"{}")
        z.writestr("metadata.json", b"{}")
    proc = stores.run("models", "import", evil, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "outside the bundle" in proc.stderr and str(evil) in proc.stderr
    lying = make_bundle(tmp_path / "model_af_2.zip", 2)
    with zipfile.ZipFile(lying, "a") as z:
        z.writestr("run.sh", b"rm -rf /")
    proc = stores.run("models", "import", lying, check=False)
    assert proc.returncode == 2 and "unexpected" in proc.stderr
    assert stores.list_keys("models") == []
    assert "no versions yet" in stores.run("models", "list").stdout


def write_churn_csv(path: Path, rows: int = 200, seed: int = 5) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["plan", "calls", "minutes", "churn"])
        for _ in range(rows):
            plan, calls, minutes = rng.choice(["aa", "bb", "cc"]), rng.randint(0, 9), round(rng.uniform(0, 300), 1)
            w.writerow([plan, calls, minutes, int(calls > 5 or (plan == "cc" and minutes > 200))])
    return path


@pytest.mark.skipif(not _has_train(), reason="`modelbay train` not built yet")
def test_concurrent_trainings_on_s3_get_distinct_consecutive_versions(s3_stores, tmp_path):
    s3_stores.run("upload", write_churn_csv(tmp_path / "churn.csv"))
    procs = [s3_stores.popen("train", "--promote", "never", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(CONCURRENCY)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    assert listed_versions(s3_stores) == list(range(1, CONCURRENCY + 1))
    for version in range(1, CONCURRENCY + 1):
        meta = json.loads(s3_stores.run("models", "show", version, "--json").stdout)  # verifies checksums
        assert meta["version"] == version
        keys = s3_stores.list_keys("models")
        assert f"{version}/.committed" in keys and f"{version}/model_af_{version}.zip" in keys
