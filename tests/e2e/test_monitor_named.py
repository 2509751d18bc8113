"""Issue 11 per named model (issue 10's `--model NAME`): live drift, its
gauges, /traffic, feedback and `modelbay monitor` are per model. One server
serves the unnamed churn model and a named model `shop` trained on the same
columns; shifted traffic goes to `shop` only, calm traffic to the unnamed one,
and each model's figures show only its own rows. `watch --on-drift --model`
reads that model's drift.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from conftest import make_local_stores
from serve_util import Server
from servers import wait_until
from test_drift import FEATURES, baseline_of, check_against_numpy, make_rows
from test_watch import committed_versions, trigger_of

NAMED = "shop"


def as_rows(df: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
            for rec in df[FEATURES].to_dict("records")]


def send(srv: Server, df: pd.DataFrame, model: str | None, batch: int = 100) -> list[tuple]:
    """Scores `df` with `model` (None: the unnamed one); returns per row
    (request_id, row index in its request, probabilities, version)."""
    out = []
    rows = as_rows(df)
    for start in range(0, len(rows), batch):
        body = {"data": rows[start:start + batch]}
        if model:
            body["model"] = model
        r = srv.post("/inference", json=body)
        assert r.status_code == 200, r.text
        j = r.json()
        out += [(j["request_id"], i, p, j["model_version"]) for i, p in enumerate(j["probabilities"])]
    return out


def check_promtool(metrics: str):
    """promtool accepts the exposition (skipped where promtool is absent)."""
    promtool = shutil.which("promtool")
    if promtool:
        proc = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("monitor-named")
    stores = make_local_stores(tmp)
    make_rows(3000, seed=1).to_csv(tmp / "train.csv", index=False)
    stores.run("upload", "train.csv")
    stores.run("train", "--quiet", "--target", "churn")
    stores.run("train", "--quiet", "--target", "churn", "--model", NAMED)
    return stores


def test_drift_traffic_and_monitor_are_per_model(two_models):
    stores = two_models
    shifted = make_rows(600, seed=7, shift_tenure=12.0, unseen_share=0.2)
    calm = make_rows(300, seed=8)
    with Server(stores, args=["--threads", "2", "--drift-window", "100000"]) as srv:
        send(srv, shifted, NAMED)
        send(srv, calm, None)

        named = srv.get(f"/models/1/drift?model={NAMED}").json()
        unnamed = srv.get("/models/1/drift").json()
        assert named["model"] == NAMED and unnamed["model"] == "default"
        assert named["window"]["rows"] == 600 and unnamed["window"]["rows"] == 300
        psi = {f["name"]: f["psi"] for f in named["features"]}
        assert psi["tenure"] > 0.25 and psi["plan"] > 0.25 and psi["spend"] < 0.1, psi
        assert all(f["psi"] < 0.1 for f in unnamed["features"]), unnamed["features"]
        # The named model's figures are numpy's on the rows sent to it alone.
        check_against_numpy(named, json.loads(stores.read("models", f"models/{NAMED}/1/baseline.json")), shifted)
        check_against_numpy(unnamed, baseline_of(stores), calm)
        # Bad and unknown names, as on GET /models/{v}.
        assert srv.get("/models/1/drift?model=Bad!").status_code == 400
        assert srv.get("/models/1/drift?model=nosuch").status_code == 404
        assert srv.get(f"/models/9/drift?model={NAMED}").status_code == 404

        samples = srv.metrics()
        assert samples[f'modelbay_feature_psi{{model="{NAMED}",version="1",feature="tenure"}}'] == \
            pytest.approx(psi["tenure"], rel=1e-9)
        assert samples['modelbay_feature_psi{model="default",version="1",feature="tenure"}'] < 0.1
        assert samples[f'modelbay_drift_window_rows{{model="{NAMED}",version="1"}}'] == 600
        assert samples['modelbay_drift_window_rows{model="default",version="1"}'] == 300
        check_promtool(srv.get("/metrics").text)

        traffic = srv.get(f"/traffic?model={NAMED}").json()
        assert traffic["model"] == NAMED
        assert [v["version"] for v in traffic["versions"]] == [1]
        assert sum(traffic["versions"][0]["rows"]) == 600
        assert sum(srv.get("/traffic").json()["versions"][0]["rows"]) == 300
        assert srv.get("/traffic?model=nosuch").status_code == 404

        # watch --on-drift --model reads that model's drift: with new data,
        # `shop` (drifted) trains once with trigger drift; the unnamed model
        # (calm) does not. --once and --debounce 0: one reading decides.
        make_rows(1500, seed=31).to_csv(stores.cwd / "newer.csv", index=False)
        stores.run("upload", "newer.csv")
        calm_watch = stores.run("watch", "--once", "--on-drift", "0.25", "--debounce", "0", "--drift-url", srv.url,
                                "--target", "churn")
        assert "waits for sustained drift" in calm_watch.stderr + calm_watch.stdout
        assert committed_versions(stores) == [1]
        stores.run("watch", "--once", "--on-drift", "0.25", "--debounce", "0", "--drift-url", srv.url,
                   "--target", "churn", "--model", NAMED)
        meta = json.loads(stores.read("models", f"models/{NAMED}/2/metadata.json"))
        trigger, detail = trigger_of(meta)
        assert trigger == "drift" and detail["drift"]["version"] == 1 and detail["drift"]["psi"] > 0.25
        assert committed_versions(stores) == [1]

    # Offline, from the named model's prediction log: the live figures.
    offline = json.loads(stores.run("monitor", "--model", NAMED, "--version", "1", "--json").stdout)
    assert offline["model"] == NAMED and offline["window"]["rows"] == 600
    for live_f, off_f in zip(named["features"], offline["features"]):
        assert off_f["psi"] == pytest.approx(live_f["psi"], abs=1e-9)
        assert [b["live"] for b in off_f["bins"]] == [b["live"] for b in live_f["bins"]]
    table = stores.run("monitor", "--model", NAMED, "--version", "1").stdout
    assert "DRIFT" in table
    bad = stores.run("monitor", "--model", "nosuch", "--version", "1", check=False)
    assert bad.returncode == 3, bad.stderr


def test_feedback_for_a_named_model_joins_its_own_rows(two_models):
    stores = two_models
    traffic = make_rows(300, seed=21)
    with Server(stores, args=["--threads", "2", "--ship-interval-ms", "200"]) as srv:
        scored = send(srv, traffic.iloc[:200], NAMED, batch=20) + send(srv, traffic.iloc[200:], NAMED, batch=1)
        unnamed_scored = send(srv, make_rows(50, seed=22), None, batch=10)
        truth = traffic["churn"].astype(str).tolist()
        version = scored[0][3]  # the first test's watch may have promoted a version 2 of shop
        assert {s[3] for s in scored} == {version}
        labelled = list(range(0, 300, 3))
        records = [{"request_id": scored[i][0], "label": truth[i], "row": scored[i][1]} for i in labelled]
        for chunk in range(0, len(records), 40):
            r = srv.post(f"/feedback?model={NAMED}", json=records[chunk:chunk + 40])
            assert r.status_code == 200, r.text
        # The named model's request ids sent as the unnamed model's feedback:
        # they match none of its rows, so they are its unknown ids.
        stray = [{"request_id": scored[i][0], "label": truth[i], "row": scored[i][1]} for i in labelled[:4]]
        assert srv.post("/feedback", json=stray).status_code == 200
        assert srv.post("/feedback?model=nosuch", json=stray[0]).status_code == 404
        assert srv.post("/feedback?model=Bad!", json=stray[0]).status_code == 400

        doc = {}

        def labelled_all():
            nonlocal doc
            doc = srv.get(f"/models/{version}/feedback?model={NAMED}").json()
            return doc.get("labelled_rows") == len(labelled)
        wait_until(labelled_all, 60, f"{len(labelled)} labelled rows of {NAMED}", srv.proc, srv.log)
        y = [int(truth[i]) for i in labelled]
        p = np.array([scored[i][2][1] for i in labelled], dtype=float)
        assert doc["model"] == NAMED and doc["logged_rows"] == 300
        assert doc["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
        assert doc["feedback"]["unknown"] == 0
        assert doc["window"]["evicted_logged_rows"] == 0 and doc["window"]["evicted_labels"] == 0

        unnamed = {}

        def stray_counted():
            nonlocal unnamed
            unnamed = srv.get("/models/1/feedback").json()
            return unnamed.get("feedback", {}).get("unknown") == 4
        wait_until(stray_counted, 60, "the stray labels counted unknown", srv.proc, srv.log)
        assert unnamed["model"] == "default" and unnamed["labelled_rows"] == 0
        assert unnamed["logged_rows"] >= len(unnamed_scored)  # (the first test logs more)

        samples = srv.metrics()
        assert samples[f'modelbay_feedback_auc{{model="{NAMED}",version="{version}"}}'] == pytest.approx(doc["auc"], rel=1e-12)
        assert samples[f'modelbay_feedback_unknown_request_ids{{model="{NAMED}"}}'] == 0
        assert samples['modelbay_feedback_unknown_request_ids{model="default"}'] == 4
        check_promtool(srv.get("/metrics").text)

    offline = json.loads(stores.run("monitor", "--model", NAMED, "--version", version, "--feedback", "--json").stdout)
    assert offline == doc

    # `modelbay feedback FILE --model NAME`: labels for the rest, shipped to
    # the named model's feedback/ and joined offline.
    rest = [i for i in range(300) if i not in set(labelled)][:30]
    (stores.cwd / "labels.csv").write_text(
        "request_id,label,row\n" + "".join(f"{scored[i][0]},{truth[i]},{scored[i][1]}\n" for i in rest))
    out = stores.run("feedback", "labels.csv", "--model", NAMED, "--spool", stores.cwd / "spool")
    assert "recorded 30 labels" in out.stdout
    after = json.loads(stores.run("monitor", "--model", NAMED, "--version", version, "--feedback", "--json").stdout)
    assert after["labelled_rows"] == len(labelled) + 30
    assert any(k.startswith(f"models/{NAMED}/feedback/") for k in stores.list_keys("results"))
