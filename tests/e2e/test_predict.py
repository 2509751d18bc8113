"""`modelbay predict FILE`: batch scoring with the server's preprocessing,
logged like served requests (in the results store when the command returns)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import make_local_stores
from serve_util import Server


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("predict")
    stores = make_local_stores(tmp)
    data = tmp / "churn.csv"
    stores.run("sample-data", "--rows", "400", "--out", data)
    stores.run("upload", data)
    (tmp / "params.json").write_text('{"num_boost_round": 8}')
    stores.run("train", "--params", tmp / "params.json", "-q")
    return stores, data


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_predict_matches_the_server_and_is_logged(trained, tmp_path):
    stores, data = trained
    src = read_csv(data)[:150]
    # Columns in another order, the target and an extra column: mapped by name.
    infile = tmp_path / "batch.csv"
    with open(infile, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["note", "id", "churn", "Count", "Country"])
        for i, r in enumerate(src):
            w.writerow([f"n,{i}", r["id"], r["churn"], r["Count"], r["Country"]])

    proc = stores.run("predict", infile, "--version", "1", "--batch-size", "64")
    out = tmp_path / "batch_predictions.csv"
    assert proc.stdout.strip() == str(out)
    got = read_csv(out)
    assert len(got) == len(src)
    assert list(got[0].keys()) == ["note", "id", "churn", "Count", "Country", "prediction", "prob_0", "prob_1"]
    assert got[3]["note"] == "n,3"

    with Server(stores, args=["--threads", "1"], spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        objects = [{"Country": r["Country"], "Count": float(r["Count"]), "id": float(r["id"])} for r in src]
        served = srv.infer(objects, version="1").json()
    assert [str(p) for p in served["predictions"]] == [g["prediction"] for g in got]
    for probs, g in zip(served["probabilities"], got):
        assert probs == pytest.approx([float(g["prob_0"]), float(g["prob_1"])], abs=1e-6)

    # Logged before predict returned: one job, one request id per row
    # (batch-<job>/<part>/<row>, rows numbered from 0 in file order).
    stores.run("results", "export", "--version", "1", "--out", tmp_path / "r.csv")
    logged = [r for r in read_csv(tmp_path / "r.csv") if r["request_id"].startswith("batch-")]
    assert len(logged) == len(src)
    assert len({r["request_id"].rsplit("/", 1)[0] for r in logged}) == 1
    assert sorted(int(r["request_id"].rsplit("/", 1)[1]) for r in logged) == list(range(len(src)))
    assert sorted(r["id"] for r in logged) == sorted(r["id"] for r in src)


def test_missing_feature_column_is_named(trained, tmp_path):
    stores, _ = trained
    infile = tmp_path / "nocount.csv"
    infile.write_text("Country,id\naa,1\n")
    proc = stores.run("predict", infile, "--version", "1", check=False)
    assert proc.returncode != 0
    assert "missing column 'Count'" in proc.stderr
    assert not (tmp_path / "nocount_predictions.csv").exists()


def test_non_number_in_numeric_column_names_line_and_column(trained, tmp_path):
    stores, _ = trained
    infile = tmp_path / "bad.csv"
    infile.write_text("Country,Count,id\naa,1,1\nbb,2,2\ncc,lots,3\n")
    proc = stores.run("predict", infile, "--version", "1", check=False)
    assert proc.returncode != 0
    assert f"{infile}:4" in proc.stderr and "'Count'" in proc.stderr and "lots" in proc.stderr, proc.stderr


def test_forest_simd_setting_changes_no_score_and_a_bad_value_is_named(trained, tmp_path):
    """MODELBAY_FOREST_SIMD caps the scorer's vector walk (docs/serving.md):
    every setting scores the same file to the same bytes; a value it does not
    know is named in a warning and the default walk is used."""
    stores, data = trained
    outputs = {}
    for simd in ("avx512", "avx2", "portable", "sse9"):
        out = tmp_path / f"{simd}.csv"
        proc = stores.run("predict", data, "--version", "1", "--out", out, "--no-results-file",
                          extra_env={"MODELBAY_FOREST_SIMD": simd})
        outputs[simd] = out.read_bytes()
        if simd == "sse9":
            assert "MODELBAY_FOREST_SIMD=sse9 is not avx512, avx2 or portable" in proc.stderr
        else:
            assert "MODELBAY_FOREST_SIMD" not in proc.stderr
    assert len(set(outputs.values())) == 1, "the walks scored the file differently"
    assert outputs["avx2"].count(b"\n") == 401  # header + every row
