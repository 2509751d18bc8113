"""Issue 11 §3: ground truth. True labels sent back for logged predictions
(POST /feedback, `modelbay feedback FILE`), joined by request id and row, give
per-version live metrics at GET /models/{v}/feedback, in /metrics and in
`modelbay monitor --feedback`.

The expected figures are scikit-learn's and numpy's on the same pairs: the
label the test sent and the probabilities (or value) the server answered.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from conftest import make_local_stores
from serve_util import Server
from servers import wait_until
from test_drift import FEATURES, make_rows


def as_rows(df: pd.DataFrame) -> list[dict]:
    out = []
    for rec in df[FEATURES].to_dict("records"):
        out.append({k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()})
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feedback")
    stores = make_local_stores(tmp)
    make_rows(3000, seed=1).to_csv(tmp / "train.csv", index=False)
    stores.run("upload", "train.csv")
    stores.run("train", "--quiet", "--target", "churn")
    return stores


def score(srv: Server, df: pd.DataFrame, batch: int):
    """Sends `df` in requests of `batch` rows; returns per row (request_id,
    row index in its request, probabilities, predicted label)."""
    out = []
    rows = as_rows(df)
    for start in range(0, len(rows), batch):
        r = srv.infer(rows[start:start + batch], "1")
        assert r.status_code == 200, r.text
        body = r.json()
        for i, (probs, pred) in enumerate(zip(body["probabilities"], body["predictions"])):
            out.append((body["request_id"], i, probs, str(pred)))
    return out


def wait_labelled(srv: Server, n: int, keys: int | None = None, version: str = "1") -> dict:
    doc = {}

    def done():
        nonlocal doc
        doc = srv.get(f"/models/{version}/feedback").json()
        return doc.get("labelled_rows") == n and (keys is None or doc["feedback"]["keys"] == keys)
    wait_until(done, 60, f"{n} labelled rows (last: {doc})", srv.proc, srv.log)
    return doc


def test_metrics_equal_sklearn_and_unknown_ids_are_counted(trained):
    stores = trained
    traffic = make_rows(400, seed=5)
    with Server(stores, args=["--threads", "2", "--ship-interval-ms", "200"]) as srv:
        scored = score(srv, traffic.iloc[:300], batch=50) + score(srv, traffic.iloc[300:], batch=1)
        truth = traffic["churn"].astype(str).tolist()
        labelled = list(range(0, 400, 2))  # every other row has feedback
        records = [{"request_id": scored[i][0], "label": truth[i], "row": scored[i][1]} for i in labelled]
        # single-row requests: no row index needed; a number label is its text
        for i, rec in zip(labelled, records):
            if i >= 300:
                del rec["row"]
                rec["label"] = int(rec["label"])
        for chunk in range(0, len(records), 60):
            r = srv.post("/feedback", json=records[chunk:chunk + 60])
            assert r.status_code == 200, r.text
            assert r.json() == {"recorded": len(records[chunk:chunk + 60])}
        # A correction: the later label for the same row counts.
        first = labelled[0]
        wrong = "0" if truth[first] == "1" else "1"
        assert srv.post("/feedback", json={"request_id": scored[first][0], "label": wrong,
                                           "row": scored[first][1]}).status_code == 200
        assert srv.post("/feedback", json={"request_id": scored[first][0], "label": truth[first],
                                           "row": scored[first][1]}).status_code == 200
        # Last: once these are counted, everything sent before them is too.
        unknown = [{"request_id": f"nobody-{k}", "label": "1"} for k in range(7)]
        assert srv.post("/feedback", json=unknown).status_code == 200

        doc = wait_labelled(srv, len(labelled), keys=len(labelled) + 7)
        y = [int(truth[i]) for i in labelled]
        p = np.array([scored[i][2] for i in labelled], dtype=float)
        assert doc["task"] == "binary" and doc["positive_class"] == "1"
        assert doc["logged_rows"] == 400
        assert doc["auc"] == pytest.approx(roc_auc_score(y, p[:, 1]), abs=1e-12)
        assert doc["accuracy"] == pytest.approx(
            accuracy_score([truth[i] for i in labelled], [scored[i][3] for i in labelled]), abs=1e-12)
        # The log holds each probability as the float the model returned, the
        # answer as that float widened to a double: equal to ~1e-7.
        assert doc["log_loss"] == pytest.approx(log_loss(y, p, labels=[0, 1]), rel=1e-6)
        assert doc["rmse"] is None
        assert doc["feedback"]["unknown"] == 7
        assert doc["feedback"]["keys"] == len(labelled) + 7
        assert doc["feedback"]["unknown_examples"] == sorted(f"nobody-{k}" for k in range(7))[:5]

        metrics = srv.get("/metrics").text
        samples = srv.metrics()
        assert samples['modelbay_feedback_auc{model="default",version="1"}'] == pytest.approx(doc["auc"], rel=1e-12)
        assert samples['modelbay_feedback_labelled_rows{model="default",version="1"}'] == len(labelled)
        assert samples['modelbay_feedback_unknown_request_ids{model="default"}'] == 7
        promtool = shutil.which("promtool")
        if promtool:
            proc = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True, text=True)
            assert proc.returncode == 0, proc.stdout + proc.stderr

    # Offline, from the shipped objects: the same figures.
    offline = json.loads(stores.run("monitor", "--version", "1", "--feedback", "--json").stdout)
    assert offline == doc
    table = stores.run("monitor", "--version", "1", "--feedback").stdout
    assert "auc" in table and f"{len(labelled)} of 400" in table


def test_bad_feedback_is_400_naming_the_field(trained):
    stores = trained
    with Server(stores, args=["--threads", "2"]) as srv:
        rid = srv.infer(as_rows(make_rows(1, seed=9)), "1").json()["request_id"]
        cases = [
            ("{not json", "body"),
            ('{"label": "1"}', "request_id"),
            ('{"request_id": "x"}', "label"),
            ('{"request_id": 5, "label": "1"}', "request_id"),
            (json.dumps({"request_id": rid, "label": "maybe"}), "label"),
            (json.dumps({"request_id": rid, "label": "1", "row": -1}), "row"),
            (json.dumps({"request_id": rid, "label": "1", "row": "2"}), "row"),
            (json.dumps({"request_id": rid, "lable": "1"}), "lable"),
            (json.dumps([{"request_id": rid, "label": "1"}, {"request_id": rid, "label": [1]}]), "[1].label"),
            ("[]", "body"),
            ('"text"', "body"),
            (json.dumps({"request_id": "", "label": "1"}), "request_id"),
            (json.dumps({"request_id": "a\u0001b", "label": "1"}), "request_id"),
        ]
        for body, field in cases:
            r = srv.post("/feedback", data=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, (body, r.status_code, r.text)
            assert field in r.json()["message"], (body, r.text)
        r = srv.post("/feedback", data="request_id,label", headers={"Content-Type": "text/csv"})
        assert r.status_code == 415
        assert srv.get("/feedback").status_code == 405
        assert srv.get("/models/9/feedback").status_code == 404
        assert srv.get("/models/x..y/feedback").status_code in (400, 404)


def test_sigkill_after_acknowledged_feedback_loses_nothing(tmp_path):
    stores = make_local_stores(tmp_path)
    make_rows(1500, seed=11).to_csv(tmp_path / "train.csv", index=False)
    stores.run("upload", "train.csv")
    stores.run("train", "--quiet", "--target", "churn")
    traffic = make_rows(60, seed=12)
    # Nothing ships before the kill: every acknowledged row is only in the spool.
    srv = Server(stores, args=["--threads", "2", "--ship-interval-ms", "3600000"]).start()
    try:
        scored = score(srv, traffic, batch=20)
        truth = traffic["churn"].astype(str).tolist()
        records = [{"request_id": s[0], "row": s[1], "label": truth[i]} for i, s in enumerate(scored)]
        assert srv.post("/feedback", json=records).status_code == 200
    finally:
        srv.kill()
    assert not [k for k in stores.list_keys("results") if k.startswith("feedback/")]  # only in the spool
    with Server(stores, args=["--threads", "2", "--ship-interval-ms", "200"]) as srv:
        doc = wait_labelled(srv, len(records))
        y = [int(t) for t in truth]
        p = np.array([s[2] for s in scored], dtype=float)
        assert doc["auc"] == pytest.approx(roc_auc_score(y, p[:, 1]), abs=1e-12)
        assert doc["feedback"]["unknown"] == 0
    offline = json.loads(stores.run("monitor", "--version", "1", "--feedback", "--json").stdout)
    assert offline["labelled_rows"] == len(records)


def test_feedback_cli_and_regression_rmse_equal_numpy(tmp_path):
    stores = make_local_stores(tmp_path)
    rng = np.random.default_rng(21)
    df = make_rows(1500, seed=21)
    df["value"] = np.round(df["tenure"].fillna(24) * 2.5 + rng.normal(0, 3, len(df)), 3)
    df.drop(columns=["churn"]).to_csv(tmp_path / "train.csv", index=False)
    stores.run("upload", "train.csv")
    stores.run("train", "--quiet", "--target", "value")
    traffic = make_rows(80, seed=22)
    truth = np.round(traffic["tenure"].fillna(24) * 2.5, 3).tolist()
    with Server(stores, args=["--threads", "2", "--ship-interval-ms", "200"]) as srv:
        rows = as_rows(traffic)
        scored = []
        for start in range(0, len(rows), 16):
            body = srv.infer(rows[start:start + 16], "1").json()
            scored += [(body["request_id"], i, float(v)) for i, v in enumerate(body["predictions"])]
        assert srv.post("/feedback", json={"request_id": scored[0][0], "label": "high"}).status_code == 400
    lines = ["request_id,label,row"] + [f"{s[0]},{truth[i]},{s[1]}" for i, s in enumerate(scored)]
    lines.append("ghost-request,1.5,0")
    (tmp_path / "labels.csv").write_text("\n".join(lines) + "\n")
    out = stores.run("feedback", "labels.csv").stdout
    assert "recorded 81 labels" in out
    doc = json.loads(stores.run("monitor", "--version", "1", "--feedback", "--json").stdout)
    assert doc["task"] == "regression" and doc["labelled_rows"] == len(scored)
    err = np.array([s[2] for s in scored]) - np.array(truth)
    assert doc["rmse"] == pytest.approx(float(np.sqrt(np.mean(err ** 2))), rel=1e-9)
    assert doc["auc"] is None and doc["accuracy"] is None
    assert doc["feedback"]["unknown"] == 1 and doc["feedback"]["unknown_examples"] == ["ghost-request"]
    # A bad file names file, line and column; nothing is recorded.
    (tmp_path / "bad.csv").write_text("request_id,label\nabc,1.0\ndef,high\n")
    proc = stores.run("feedback", "bad.csv", check=False)
    assert proc.returncode != 0
    assert "bad.csv:3" in proc.stderr and "label" in proc.stderr
    again = json.loads(stores.run("monitor", "--version", "1", "--feedback", "--json").stdout)
    assert again["feedback"]["keys"] == doc["feedback"]["keys"]
