"""`modelbay worker` against moto's standalone server: S3 bucket notifications
delivered to SQS over real HTTP, a redrive policy to a dead-letter queue."""
from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import base_env, modelbay_binary
from servers import wait_until
from test_watch import committed_versions, make_csv, metadata, trigger_of


class WorkerSetup:
    def __init__(self, moto, tmp: Path):
        self.moto = moto
        self.tmp = tmp
        self.s3 = moto.client("s3")
        self.sqs = moto.client("sqs")
        tag = uuid.uuid4().hex[:8]
        self.bucket = f"mb-events-{tag}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.dlq_url = self.sqs.create_queue(QueueName=f"mb-dlq-{tag}")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=self.dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.queue_url = self.sqs.create_queue(
            QueueName=f"mb-events-{tag}",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})},
        )["QueueUrl"]
        # A second subscriber lets the test read the exact bodies S3 sent.
        self.tap_url = self.sqs.create_queue(QueueName=f"mb-tap-{tag}")["QueueUrl"]
        arn = lambda url: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.s3.put_bucket_notification_configuration(
            Bucket=self.bucket,
            NotificationConfiguration={"QueueConfigurations": [
                {"Id": "modelbay", "QueueArn": arn(self.queue_url), "Events": ["s3:ObjectCreated:*"]},
                {"Id": "tap", "QueueArn": arn(self.tap_url), "Events": ["s3:ObjectCreated:*"]},
            ]},
        )
        self.env = base_env(tmp)
        self.env.update(moto.env())
        self.env["DATA_STORE"] = f"s3://{self.bucket}/incoming"
        self.log = tmp / "worker.log"
        self.proc = None

    def start(self, log: Path | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(
            [str(modelbay_binary()), "worker", "--queue-url", self.queue_url, "--wait", "1",
             "--visibility", "2"],
            cwd=self.tmp, env=self.env, stdout=open(log or self.log, "ab"), stderr=subprocess.STDOUT)
        if log is None:
            self.proc = proc
        return proc

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def versions(self) -> list[int]:
        root = self.tmp / ".modelbay" / "models"
        return sorted(int(p.parent.name) for p in root.glob("*/.committed") if p.parent.name.isdigit())

    def queue_depth(self, url) -> int:
        a = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

    def tap_bodies(self) -> list[str]:
        out = []
        for _ in range(5):
            r = self.sqs.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            out += [m["Body"] for m in r.get("Messages", [])]
            if out:
                return out
        return out


@pytest.fixture
def worker(moto, tmp_path):
    w = WorkerSetup(moto, tmp_path)
    yield w
    if w.proc and w.proc.poll() is None:
        w.proc.terminate()
        w.proc.wait(timeout=30)


def test_worker_trains_once_per_event_and_survives_poison(worker, tmp_path):
    w = worker
    # The notification configuration made S3 send its s3:TestEvent first.
    w.start()
    wait_until(lambda: "s3:TestEvent" in w.text(), 30, "test event handled", w.proc, w.log)
    assert w.versions() == []

    # A real ObjectCreated:Put -> exactly one new version.
    body = make_csv(tmp_path / "a.csv", 300, "x1", 0.05, seed=11).read_bytes()
    w.s3.put_object(Bucket=w.bucket, Key="incoming/first batch.csv", Body=body)
    wait_until(lambda: w.versions() == [1], 90, "version 1 from the worker", w.proc, w.log)
    trig, detail = trigger_of(json.loads((tmp_path / ".modelbay/models/1/metadata.json").read_text()))
    assert trig == "data-arrival" and detail["keys"] == ["first batch.csv"]
    wait_until(lambda: w.queue_depth(w.queue_url) == 0, 30, "event deleted", w.proc, w.log)

    # The same event delivered again -> still one version, message deleted.
    event = [b for b in w.tap_bodies() if "ObjectCreated" in b]
    assert event, "S3 sent an ObjectCreated event"
    w.sqs.send_message(QueueUrl=w.queue_url, MessageBody=event[0])
    wait_until(lambda: "duplicate" in w.text() and w.queue_depth(w.queue_url) == 0, 30,
               "duplicate handled", w.proc, w.log)
    assert w.versions() == [1]

    # Outside the prefix / not CSV: ignored and deleted, no training.
    w.s3.put_object(Bucket=w.bucket, Key="elsewhere/x.csv", Body=body)
    w.s3.put_object(Bucket=w.bucket, Key="incoming/readme.txt", Body=b"hello")
    wait_until(lambda: w.text().count("no event concerns the data store") >= 2
               and w.queue_depth(w.queue_url) == 0, 30, "ignored events deleted", w.proc, w.log)
    assert w.versions() == [1]

    # A poison message is not deleted: the redrive policy moves it to the DLQ.
    w.sqs.send_message(QueueUrl=w.queue_url, MessageBody="this is not an S3 event")
    wait_until(lambda: w.queue_depth(w.dlq_url) == 1, 60, "poison message in the DLQ", w.proc, w.log)
    assert w.proc.poll() is None, "the worker keeps running"
    assert "malformed message" in w.text()

    # Still working after the poison: an AWS-shaped event with a URL-encoded
    # key ('+' for a space) trains on the decoded key.
    w.s3.put_object(Bucket=w.bucket, Key="incoming/second batch.csv",
                    Body=make_csv(tmp_path / "b.csv", 300, "x2", 0.05, seed=12).read_bytes())
    wait_until(lambda: w.versions() == [1, 2], 90, "version 2", w.proc, w.log)
    trig, detail = trigger_of(json.loads((tmp_path / ".modelbay/models/2/metadata.json").read_text()))
    assert detail["keys"] == ["second batch.csv"]
    encoded = json.loads(event[0])
    encoded["Records"][0]["s3"]["object"]["key"] = "incoming/second+batch.csv"
    encoded["Records"][0]["s3"]["object"]["eTag"] = detail["etags"]["second batch.csv"]
    w.sqs.send_message(QueueUrl=w.queue_url, MessageBody=json.dumps(encoded))
    wait_until(lambda: w.text().count("duplicate") >= 2 and w.queue_depth(w.queue_url) == 0, 30,
               "encoded duplicate handled", w.proc, w.log)
    assert w.versions() == [1, 2]

    w.proc.terminate()
    assert w.proc.wait(timeout=30) == 0, w.text()[-3000:]


def test_two_workers_same_object_delivered_twice_one_version(worker, tmp_path):
    """The same event reaches two workers while the first one trains: the
    second waits for that version instead of training again or returning the
    message toward the dead-letter queue."""
    w = worker
    w.start()
    other_log = tmp_path / "worker2.log"
    other = w.start(other_log)
    try:
        wait_until(lambda: "s3:TestEvent" in w.text() + other_log.read_text(errors="replace"), 30,
                   "test event handled", w.proc, w.log)
        bodies = tmp_path / "c.csv"
        subprocess.run([str(modelbay_binary()), "sample-data", "--rows", "20000", "--out", str(bodies)],
               cwd=tmp_path, env=w.env, check=True, capture_output=True)
        w.s3.put_object(Bucket=w.bucket, Key="incoming/big.csv", Body=bodies.read_bytes())
        event = [b for b in w.tap_bodies() if "ObjectCreated" in b]
        assert event, "S3 sent an ObjectCreated event"
        w.sqs.send_message(QueueUrl=w.queue_url, MessageBody=event[0])
        wait_until(lambda: w.versions() == [1] and w.queue_depth(w.queue_url) == 0, 120,
                   "one version, both messages deleted", w.proc, w.log)
        time.sleep(3)  # both workers poll again
        assert w.versions() == [1]
        assert w.queue_depth(w.queue_url) == 0 and w.queue_depth(w.dlq_url) == 0
        logs = w.text() + other_log.read_text(errors="replace")
        assert logs.count("registered version") == 1, logs[-4000:]
        assert "duplicate" in logs, logs[-4000:]
        assert other.poll() is None and w.proc.poll() is None
    finally:
        other.terminate()
        assert other.wait(timeout=30) == 0, other_log.read_text(errors="replace")[-3000:]
