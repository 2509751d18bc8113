"""Outputs and explanations (issue 10 §4): the decision threshold of binary
models and per-row feature contributions on /inference, the v2 routes and
/invocations.

The judge of the contributions is XGBoost itself: its Python package (the
system's python3-xgboost, the same 1.7 release modelbay links) loads the
version's model.json, the rows are encoded from preprocessor.json by this
file's own few lines, and Booster.predict(pred_contribs=True) and
(output_margin=True) give what modelbay's answers must equal.
"""
from __future__ import annotations

import csv
import io
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import make_trained_stores
from serve_util import Server

tritonclient_http = pytest.importorskip("tritonclient.http")

SYSTEM_PYTHON = "/usr/bin/python3"
ROWS = [["aa", 2, 2], ["bb", 50, 7], ["ff", 99, 100], ["cc", 0, 3], [None, 61, None], ["never-seen", 5, 12]]
COLUMNS = ["Country", "Count", "id"]

# Runs under the system python3 (python3-xgboost): stdin {"model", "X"},
# stdout {"contribs": [[...]], "margin": [...]}.
XGBOOST_JUDGE = r"""
import json, sys
import numpy as np
import xgboost as xgb
req = json.load(sys.stdin)
booster = xgb.Booster()
booster.load_model(bytearray(req["model"].encode()))
x = np.array([[np.nan if v is None else v for v in row] for row in req["X"]], dtype=np.float32)
d = xgb.DMatrix(x, missing=np.nan)
print(json.dumps({"contribs": booster.predict(d, pred_contribs=True).tolist(),
                  "margin": booster.predict(d, output_margin=True).tolist(),
                  "version": xgb.__version__}))
"""


def _has_system_xgboost() -> bool:
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import xgboost"], capture_output=True,
                              timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def encode(pre: dict, rows: list[list]) -> list[list]:
    """preprocessor.json applied to rows (docs/training.md): categories ->
    their index in the sorted vocabulary (unseen or missing: NaN), numbers ->
    min-max scaled (missing: NaN)."""
    out = []
    for row in rows:
        enc = []
        for feature, value in zip(pre["features"], row):
            if value is None:
                enc.append(None)
            elif feature["type"] == "categorical":
                cats = feature["categories"]
                enc.append(float(cats.index(str(value))) if str(value) in cats else None)
            else:
                lo, hi = feature["min"], feature["max"]
                enc.append((float(value) - lo) / (hi - lo) if hi > lo else 0.0)
        out.append(enc)
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return make_trained_stores(tmp_path_factory.mktemp("explain"))


@pytest.fixture(scope="module")
def server(trained):
    with Server(trained, ready_timeout=120, args=["--threads", "2"]) as srv:
        srv.wait_ready(60)
        yield srv


@pytest.fixture(scope="module")
def xgboost_says(trained):
    """XGBoost's own pred_contribs and margins for ROWS on version 1."""
    if not _has_system_xgboost():
        pytest.skip(f"{SYSTEM_PYTHON} has no xgboost module (Debian package python3-xgboost, "
                    "installed by scripts/install-deps.sh)")
    model = trained.read("models", "1/model.json").decode()
    pre = json.loads(trained.read("models", "1/preprocessor.json"))
    assert [f["name"] for f in pre["features"]] == COLUMNS
    proc = subprocess.run([SYSTEM_PYTHON, "-c", XGBOOST_JUDGE], input=json.dumps(
        {"model": model, "X": encode(pre, ROWS)}), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    return np.array(out["contribs"]), np.array(out["margin"])


def as_matrix(contributions: list[dict]) -> np.ndarray:
    """/inference's per-row {"columns": {...}, "bias": b} -> [rows, columns + 1]."""
    return np.array([[c["columns"][name] for name in COLUMNS] + [c["bias"]] for c in contributions])


def test_inference_explain_equals_xgboost_pred_contribs_and_sums_to_the_margin(server, xgboost_says):
    contribs, margin = xgboost_says
    r = server.post("/inference", json={"data": ROWS, "explain": True})
    assert r.status_code == 200, r.text
    body = r.json()
    ours = as_matrix(body["contributions"])
    assert ours.shape == (len(ROWS), len(COLUMNS) + 1)
    np.testing.assert_allclose(ours, contribs, atol=1e-5)
    np.testing.assert_allclose(ours.sum(axis=1), margin, atol=1e-4)
    # ... and the margin is what the probabilities came from.
    p1 = np.array(body["probabilities"])[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-ours.sum(axis=1))), p1, atol=1e-5)
    # Without "explain" the answer is as before: no contributions.
    plain = server.infer(ROWS).json()
    assert "contributions" not in plain
    assert plain["predictions"] == body["predictions"]


def test_v2_contributions_output_with_tritonclient_binary_and_json(server, xgboost_says):
    contribs, _ = xgboost_says
    meta = tritonclient_http.InferenceServerClient(url=f"{server.host}:{server.port}").get_model_metadata("default")
    out = {o["name"]: o for o in meta["outputs"]}
    assert out["contributions"]["shape"] == [-1, len(COLUMNS) + 1]
    assert meta["parameters"]["contribution_names"] == COLUMNS + ["bias"]
    client = tritonclient_http.InferenceServerClient(url=f"{server.host}:{server.port}", network_timeout=60)
    inp = tritonclient_http.InferInput("rows", [len(ROWS), len(COLUMNS)], "BYTES")
    inp.set_data_from_numpy(np.array([["" if v is None else str(v) for v in row] for row in ROWS],
                                     dtype=np.object_))
    for binary in (True, False):
        result = client.infer("default", [inp], outputs=[
            tritonclient_http.InferRequestedOutput("contributions", binary_data=binary),
            tritonclient_http.InferRequestedOutput("predict", binary_data=binary)])
        got = result.as_numpy("contributions")
        assert got.shape == (len(ROWS), len(COLUMNS) + 1) and got.dtype == np.float32
        np.testing.assert_allclose(got, contribs, atol=1e-5)
        assert result.get_output("probabilities") is None  # only what was asked for
    # Not asked for: not computed, not sent.
    default = client.infer("default", [inp])
    assert default.get_output("contributions") is None


def test_threshold_moves_labels_on_every_route_and_is_logged(trained, tmp_path):
    with Server(trained, spool=tmp_path / "spool", args=["--threads", "2"]) as srv:
        srv.wait_ready()
        base = srv.infer(ROWS).json()
        p1 = [p[1] for p in base["probabilities"]]
        cut = sorted(p1)[len(p1) // 2]  # a threshold that splits these rows
        want = [1 if p > cut else 0 for p in p1]
        assert 0 < sum(want) < len(want)
        r = srv.post("/inference", json={"data": ROWS, "threshold": cut}, headers={"X-Request-Id": "thr-inf"})
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == want
        assert r.json()["probabilities"] == base["probabilities"]
        # v2: the request's parameters.
        client = tritonclient_http.InferenceServerClient(url=f"{srv.host}:{srv.port}", network_timeout=60)
        inp = tritonclient_http.InferInput("rows", [len(ROWS), len(COLUMNS)], "BYTES")
        inp.set_data_from_numpy(np.array([["" if v is None else str(v) for v in row] for row in ROWS],
                                         dtype=np.object_))
        res = client.infer("default", [inp], parameters={"threshold": cut})
        assert [int(x) for x in res.as_numpy("predict").reshape(-1)] == want
        # MLflow: params in the body, or the query string (CSV bodies).
        r = srv.post("/invocations", json={"instances": ROWS, "params": {"threshold": cut}})
        assert r.json()["predictions"] == want
        text = "Country,Count,id\n" + "".join(f"{'' if a is None else a},{b},{'' if c is None else c}\n"
                                              for a, b, c in ROWS)
        r = srv.post(f"/invocations?threshold={cut}", data=text, headers={"Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == want
        # Bad thresholds are 400s that say what is allowed.
        for bad in (1.5, -0.1, "0.3", True):
            r = srv.post("/inference", json={"data": ROWS, "threshold": bad})
            assert r.status_code == 400 and "from 0 to 1" in r.json()["message"], (bad, r.text)
        r = srv.post("/invocations?threshold=abc", data=text, headers={"Content-Type": "text/csv"})
        assert r.status_code == 400 and "threshold" in r.json()["message"]
        r = srv.post("/inference", json={"data": ROWS, "explain": "yes"})
        assert r.status_code == 400 and "explain" in r.json()["message"]
    # The logged labels are the ones answered.
    out = tmp_path / "results_1.csv"
    trained.run("results", "export", "--version", "1", "--out", out)
    with open(out, newline="", encoding="utf-8") as f:
        logged = [r for r in csv.DictReader(f) if r["request_id"] == "thr-inf"]
    assert len(logged) == len(ROWS)
    by_country = {r["Country"]: r["prediction"] for r in logged}
    for row, label in zip(ROWS, want):
        if row[0] is not None:
            assert by_country[row[0]] == str(label), (row, by_country)


def test_invocations_explain(server, xgboost_says):
    contribs, margin = xgboost_says
    r = server.post("/invocations", json={"dataframe_split": {"columns": COLUMNS, "data": ROWS},
                                          "params": {"explain": True}})
    assert r.status_code == 200, r.text
    ours = as_matrix(r.json()["contributions"])
    np.testing.assert_allclose(ours, contribs, atol=1e-5)
    np.testing.assert_allclose(ours.sum(axis=1), margin, atol=1e-4)
    # Contributions need a JSON answer.
    r = server.post("/invocations", json={"instances": ROWS, "params": {"explain": True}},
                    headers={"Accept": "text/csv"})
    assert r.status_code == 400 and "application/json" in r.json()["message"]


def test_multiclass_contributions_one_group_per_class(tmp_path):
    """A three-class model: contributions [rows, classes, columns + 1] whose
    group sums are the class margins (softmax gives the probabilities)."""
    stores = make_trained_stores(tmp_path)  # the churn model, for the layout
    lines = ["size,color,medal"]
    for i in range(600):
        size = i % 30
        medal = "bronze" if size < 10 else "silver" if size < 20 else "gold"
        lines.append(f"{size},{'red' if i % 3 else 'blue'},{medal}")
    (tmp_path / "medals.csv").write_text("\n".join(lines) + "\n")
    stores.run("upload", "medals.csv")
    stores.run("train", "--quiet", "--data", "medals.csv", "--target", "medal", "--promote", "never")
    rows = [[3, "red"], [15, "blue"], [27, None]]
    with Server(stores, args=["--threads", "2"]) as srv:
        srv.wait_ready()
        r = srv.post("/inference", json={"data": rows, "model_version": 2, "explain": True})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["predictions"] == ["bronze", "silver", "gold"]
        for row_groups, probs in zip(body["contributions"], body["probabilities"]):
            assert len(row_groups) == 3
            margins = [sum(g["columns"].values()) + g["bias"] for g in row_groups]
            total = sum(math.exp(m) for m in margins)
            assert [math.exp(m) / total for m in margins] == pytest.approx(probs, abs=1e-5)
        r = srv.post("/inference", json={"data": rows, "model_version": 2, "threshold": 0.3})
        assert r.status_code == 400 and "binary classifiers only" in r.json()["message"]
