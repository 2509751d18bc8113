"""Issue 11 §4 for the SQS worker: `modelbay worker --on-drift PSI` holds a
new-data message (in flight, not deleted, not trained) until the served
version's drift has stayed above the threshold for --debounce seconds, then
trains once (trigger drift); a brief spike does not train. S3 events and SQS
from moto's server, the drift from a running `modelbay serve`."""
from __future__ import annotations

import subprocess
import time

from conftest import Stores, modelbay_binary
from serve_util import Server
from servers import wait_until
from test_drift import make_rows
from test_watch import committed_versions, metadata, trigger_of
from test_watch_drift import send
from test_worker import WorkerSetup

DEBOUNCE = 8.0


def test_worker_on_drift_holds_new_data_and_trains_once_on_sustained_drift(moto, tmp_path):
    w = WorkerSetup(moto, tmp_path)
    stores = Stores("local", w.env, tmp_path)
    make_rows(1500, seed=1).to_csv(tmp_path / "train.csv", index=False)
    stores.run("upload", "train.csv")  # its event reaches the queue too: covered by version 1 below
    stores.run("train", "--quiet", "--target", "churn")
    assert committed_versions(stores) == [1]
    with Server(stores, args=["--threads", "2", "--drift-window", "400", "--alias-refresh", "1"]) as srv:
        proc = subprocess.Popen(
            [str(modelbay_binary()), "worker", "--queue-url", w.queue_url, "--wait", "1", "--visibility", "10",
             "--on-drift", "0.25", "--drift-url", srv.url, "--debounce", str(DEBOUNCE), "--target", "churn"],
            cwd=tmp_path, env=w.env, stdout=open(w.log, "ab"), stderr=subprocess.STDOUT)
        w.proc = proc
        try:
            wait_until(lambda: "duplicate" in w.text() or "already covered" in w.text(), 60,
                       "train.csv's event found covered", proc, w.log)
            # New data: held, not trained, not deleted.
            w.s3.put_object(Bucket=w.bucket, Key="incoming/newer.csv",
                            Body=make_rows(1500, seed=31).to_csv(index=False).encode())
            wait_until(lambda: "new data newer.csv held" in w.text(), 60, "the message held", proc, w.log)
            assert w.queue_depth(w.queue_url) == 1  # in flight

            # A brief spike: seen, then gone well within the debounce period.
            send(srv, make_rows(400, seed=32, shift_tenure=12.0, unseen_share=0.2))
            wait_until(lambda: "drift above 0.25: version 1" in w.text(), 60, "the worker to see the spike",
                       proc, w.log)
            send(srv, make_rows(450, seed=33))
            wait_until(lambda: "drift back at or below 0.25" in w.text(), 60, "the spike to end", proc, w.log)
            time.sleep(DEBOUNCE + 4)  # longer than the debounce: a spike never trains
            assert committed_versions(stores) == [1], w.text()[-3000:]
            assert w.queue_depth(w.queue_url) == 1, "the held message stays in flight (visibility extended)"
            assert w.queue_depth(w.dlq_url) == 0

            # Sustained drift: one training, trigger drift, on the held file.
            send(srv, make_rows(400, seed=34, shift_tenure=12.0, unseen_share=0.2))
            wait_until(lambda: committed_versions(stores) == [1, 2], 300, "a drift-triggered version 2",
                       proc, w.log)
            trigger, detail = trigger_of(metadata(stores, 2))
            assert trigger == "drift"
            assert detail["drift"]["version"] == 1 and detail["drift"]["psi"] > 0.25
            assert detail["keys"] == ["newer.csv"] and detail["source"] == "sqs"
            wait_until(lambda: w.queue_depth(w.queue_url) == 0, 60, "the held message deleted", proc, w.log)
            # The drift stays high, but no new data: no second training.
            send(srv, make_rows(400, seed=35, shift_tenure=12.0, unseen_share=0.2))
            time.sleep(DEBOUNCE + 4)
            assert committed_versions(stores) == [1, 2], w.text()[-3000:]
        finally:
            proc.terminate()
            rc = proc.wait(timeout=60)
        assert rc == 0, w.text()[-3000:]
        assert w.queue_depth(w.dlq_url) == 0
