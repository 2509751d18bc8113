"""`modelbay train` through the real binary on a local folder and on
SeaweedFS (the `stores` fixture): sample data -> upload -> train, metadata read
back by an independent client; bad inputs end in one clear error and write no
version."""
from __future__ import annotations

import hashlib
import json
import re

import pytest

PARAMS = '{"num_boost_round": 10}'


def committed_versions(stores) -> list[str]:
    return sorted({k.split("/")[0] for k in stores.list_keys("models") if k.endswith("/.committed")})


def upload(stores, tmp_path, text: str, name: str = "train.csv"):
    path = tmp_path / name
    path.write_text(text)
    stores.run("upload", path)


@pytest.fixture
def params(tmp_path):
    p = tmp_path / "params.json"
    p.write_text(PARAMS)
    return p


def test_train_registers_a_complete_version(stores, tmp_path, params):
    csv_path = tmp_path / "churn.csv"
    stores.run("sample-data", "--rows", "3000", "--out", csv_path)
    stores.run("upload", csv_path)
    proc = stores.run("train", "--params", params, "--json", "--code-rev", "abc123")
    out = json.loads(proc.stdout)
    assert out["version"] == 1
    assert out["promoted"] is True
    assert 0.5 < out["metrics"]["roc_auc"] <= 1.0
    assert "round 10/10" in proc.stderr  # progress on stderr

    assert committed_versions(stores) == ["1"]
    meta = json.loads(stores.read("models", "1/metadata.json"))
    for field in ("version", "created", "data", "target", "schema", "params", "metrics", "library_versions",
                  "code_revision", "trigger", "artifacts", "promotion", "training_seconds"):
        assert field in meta, field
    assert meta["target"] == "churn"
    assert meta["code_revision"] == "abc123"
    assert meta["trigger"] == "manual"
    assert meta["params"]["num_boost_round"] == 10
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["library_versions"]["xgboost"])
    assert [f["name"] for f in meta["schema"]["features"]] == ["Country", "Count", "id"]
    assert meta["schema"]["features"][0]["type"] == "categorical"
    data = csv_path.read_bytes()
    assert meta["data"] == [{"key": "churn.csv", "sha256": hashlib.sha256(data).hexdigest(), "rows": 3000,
                             "size": len(data), "etag": meta["data"][0]["etag"]}]
    for name in ("model.json", "preprocessor.json"):
        body = stores.read("models", f"1/{name}")
        assert meta["artifacts"][name]["sha256"] == hashlib.sha256(body).hexdigest(), name
    prep = json.loads(stores.read("models", "1/preprocessor.json"))
    assert prep["target"] == "churn" and prep["class_labels"] == ["0", "1"]
    assert json.loads(stores.read("models", "1/model.json"))["learner"]["objective"]["name"] == "binary:logistic"

    # Retraining on the same data is no worse, so auto promotes it; never does not.
    second = json.loads(stores.run("train", "--params", params, "--json", "-q").stdout)
    assert second["version"] == 2 and second["promoted"] is True, second
    third = json.loads(stores.run("train", "--params", params, "--promote", "never", "--json", "-q").stdout)
    assert third["version"] == 3 and third["promoted"] is False
    assert json.loads(stores.read("models", "aliases/production.json"))["version"] == 2
    meta3 = json.loads(stores.read("models", "3/metadata.json"))
    assert meta3["promotion"]["mode"] == "never" and meta3["promotion"]["promoted"] is False


def test_string_classes_and_regression(local_stores, tmp_path, params):
    path = tmp_path / "tiers.csv"
    local_stores.run("sample-data", "--rows", "1500", "--classes", "3", "--out", path)
    local_stores.run("upload", path)
    out = json.loads(local_stores.run("train", "--params", params, "--json", "-q").stdout)
    assert set(out["metrics"]) >= {"accuracy", "roc_auc", "log_loss", "f1"}
    prep = json.loads(local_stores.read("models", f"{out['version']}/preprocessor.json"))
    assert prep["task"] == "multiclass" and prep["labels_numeric"] is False
    assert all(not label.isdigit() for label in prep["class_labels"])

    path = tmp_path / "spend.csv"
    local_stores.run("sample-data", "--rows", "1500", "--regression", "--out", path)
    local_stores.run("upload", path)
    out = json.loads(local_stores.run("train", "--params", params, "--json", "-q", "--promote", "never").stdout)
    assert set(out["metrics"]) >= {"rmse", "mae", "r2"}


@pytest.mark.parametrize("csv_text, args, expected", [
    ("Country,Count,churn\naa,1,1\nbb,2,0\n", ["--target", "label"],
     r"target column 'label' not in \S*train\.csv; columns are: Country, Count, churn"),
    ("Country,Count,churn\naa,1,1\nbb,2,1\ncc,3,1\n", [],
     r"target column 'churn' in \S*train\.csv has a single value \(\"1\"\)"),
    ("Country,Empty,churn\naa,,1\nbb,,0\ncc,,1\n", [],
     r"column 'Empty' in \S*train\.csv is empty in every row \(3 rows\); drop it with --drop Empty"),
])
def test_bad_inputs_fail_clearly_and_write_nothing(stores, tmp_path, csv_text, args, expected):
    upload(stores, tmp_path, csv_text)
    proc = stores.run("train", *args, check=False)
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    assert re.search(expected, errors[0]), errors[0]
    assert committed_versions(stores) == []
    assert stores.list_keys("models") == []
