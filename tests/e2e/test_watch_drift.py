"""Issue 11 §4: `modelbay watch --on-drift PSI` retrains (trigger drift) when
the served version's drift stays above the threshold for the debounce period
and new data exists: a brief spike does not train, sustained drift trains
exactly once. The drift is the running server's (GET /models/{v}/drift)."""
from __future__ import annotations

import time

import numpy as np

from conftest import make_local_stores
from serve_util import Server
from servers import wait_until
from test_drift import FEATURES, make_rows
from test_watch import Watch, committed_versions, metadata, trigger_of

DEBOUNCE = 8.0


def send(srv: Server, df, batch: int = 100):
    rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
            for rec in df[FEATURES].to_dict("records")]
    for start in range(0, len(rows), batch):
        r = srv.infer(rows[start:start + batch])
        assert r.status_code == 200, r.text


def test_sustained_drift_trains_once_and_a_spike_does_not(tmp_path):
    stores = make_local_stores(tmp_path)
    make_rows(1500, seed=1).to_csv(tmp_path / "train.csv", index=False)
    stores.run("upload", "train.csv")
    stores.run("train", "--quiet", "--target", "churn")
    # Auth on: the watcher reads the drift with the API's bearer token.
    stores.env["MODELBAY_API_TOKEN"] = "drift-watch-token"
    with Server(stores, args=["--threads", "2", "--drift-window", "400", "--alias-refresh", "1"],
                extra_env={"MODELBAY_API_TOKEN": "drift-watch-token"}) as srv:
        # New data exists from the start: without --on-drift this alone would train.
        make_rows(1500, seed=31).to_csv(tmp_path / "newer.csv", index=False)
        stores.run("upload", "newer.csv")
        watch = Watch(stores, "--on-drift", "0.25", "--drift-url", srv.url, "--interval", "0.3",
                      "--debounce", str(DEBOUNCE), "--target", "churn")
        try:
            wait_until(lambda: "waits for sustained drift" in watch.text(), 120, "the watch to wait for drift",
                       watch.proc, watch.log)
            # A brief spike: shifted traffic fills the window, the watcher sees
            # it, then calm traffic replaces it well within the debounce period.
            send(srv, make_rows(400, seed=32, shift_tenure=12.0, unseen_share=0.2))
            wait_until(lambda: "drift above 0.25: version 1" in watch.text(), 60, "the watch to see the spike",
                       watch.proc, watch.log)
            send(srv, make_rows(450, seed=33))
            wait_until(lambda: "drift back at or below 0.25" in watch.text(), 60, "the spike to end",
                       watch.proc, watch.log)
            time.sleep(DEBOUNCE + 4)  # longer than the debounce: a spike never trains
            assert committed_versions(stores) == [1], watch.text()[-3000:]

            # Sustained drift: trains once, with trigger drift.
            send(srv, make_rows(400, seed=34, shift_tenure=12.0, unseen_share=0.2))
            wait_until(lambda: committed_versions(stores) == [1, 2], 300, "a drift-triggered version 2",
                       watch.proc, watch.log)
            trigger, detail = trigger_of(metadata(stores, 2))
            assert trigger == "drift"
            assert detail["drift"]["version"] == 1 and detail["drift"]["psi"] > 0.25
            assert detail["keys"] and detail["keys"][0].endswith("newer.csv")
            wait_until(lambda: "registered version 2" in watch.text(), 60, "the watch's log", watch.proc, watch.log)
            # The drift may well stay high; no newer data: no second training.
            send(srv, make_rows(400, seed=35, shift_tenure=12.0, unseen_share=0.2))
            time.sleep(DEBOUNCE + 4)
            assert committed_versions(stores) == [1, 2], watch.text()[-3000:]
        finally:
            rc = watch.stop()
        assert rc == 0, watch.text()[-3000:]
