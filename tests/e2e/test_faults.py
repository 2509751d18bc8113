"""Injected network faults between modelbay and SeaweedFS (Toxiproxy on
loopback): latency, bandwidth limits, stalled connections (timeouts) and
connection resets, during upload, train, serve's log shipping and export.

Each run either succeeds with exact results, or fails with one clear error
naming the store call, and leaves nothing half-visible: no partial data key,
no version without its commit marker, no partial export file, no shipped log
row twice or missing. Retries are bounded: MODELBAY_S3_MAX_ATTEMPTS=3 and
MODELBAY_S3_STALL_TIMEOUT_S=3, so a failing command ends within a bound.
"""
from __future__ import annotations

import csv
import hashlib
import json
import re
import time

import pytest

from conftest import Stores, make_s3_stores
from serve_util import Server
from test_train import committed_versions
from toxiproxy import Toxiproxy, toxiproxy_binary

pytestmark = pytest.mark.skipif(toxiproxy_binary() is None,
                                reason="toxiproxy-server not installed: run scripts/install-deps.sh")

ATTEMPTS = 3
STALL_S = 3
# A failing call: ATTEMPTS x (connect or stall timeout) plus backoff (< 5 s
# each); a command makes a few calls before giving up. Generous for a loaded
# machine, still far below "hangs".
FAIL_BOUND_S = 120


@pytest.fixture(scope="module")
def toxiproxy(tmp_path_factory):
    with Toxiproxy(tmp_path_factory.mktemp("toxiproxy")).start() as tp:
        yield tp


@pytest.fixture
def faulty(seaweed, toxiproxy, tmp_path, request):
    """S3 stores on SeaweedFS reached through a fresh proxy; `faulty.proxy`
    injects faults, `faulty.direct` is the same stores without the proxy."""
    direct = make_s3_stores(seaweed, tmp_path)
    proxy = toxiproxy.proxy(f"s3-{re.sub(r'[^A-Za-z0-9]+', '-', request.node.name)[:40]}-{time.monotonic_ns()}",
                            seaweed.endpoint.removeprefix("http://"))
    stores = Stores(
        kind="s3", env={**direct.env, "AWS_ENDPOINT_URL": proxy.endpoint,
                        "MODELBAY_S3_MAX_ATTEMPTS": str(ATTEMPTS),
                        "MODELBAY_S3_STALL_TIMEOUT_S": str(STALL_S),
                        "MODELBAY_S3_CONNECT_TIMEOUT_MS": "2000"},
        cwd=tmp_path, s3=seaweed, buckets=direct.buckets)
    stores.proxy = proxy
    stores.direct = direct
    yield stores
    proxy.clear()


def timed(stores, *args, **kw):
    start = time.monotonic()
    proc = stores.run(*args, check=False, timeout=FAIL_BOUND_S * 2, **kw)
    return proc, time.monotonic() - start


def assert_clear_failure(proc, elapsed, *words):
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert elapsed < FAIL_BOUND_S, f"took {elapsed:.0f} s to give up\n{proc.stderr[-2000:]}"
    err = proc.stderr.strip()
    assert err.startswith("error:") or "error" in err.lower(), err
    assert "Traceback" not in err and "terminate called" not in err and "Segmentation" not in err
    for w in words:
        assert w in err, (w, err[-2000:])


def sample(stores, rows=3000, name="churn.csv", seed=7):
    stores.run("sample-data", "--rows", rows, "--seed", seed, "--out", name)
    return stores.cwd / name


# --- upload ------------------------------------------------------------------------------

def test_upload_through_latency_and_a_bandwidth_limit_is_exact(faulty):
    path = sample(faulty, rows=20000)
    faulty.proxy.add("latency", latency=200, jitter=50)
    faulty.proxy.add("latency", stream="upstream", latency=100)
    faulty.proxy.add("bandwidth", stream="upstream", rate=400)  # KB/s, ~1 MB file
    proc, _ = timed(faulty, "upload", path)
    assert proc.returncode == 0, proc.stderr
    assert faulty.direct.read("data", "churn.csv") == path.read_bytes()


@pytest.mark.parametrize("toxic,attrs,words", [
    ("reset_peer", {"timeout": 0}, ["cannot reach", f"after {ATTEMPTS} attempts"]),
    ("timeout", {"timeout": 0}, ["cannot reach", f"after {ATTEMPTS} attempts"]),
], ids=["connection-reset", "stalled-connection"])
def test_upload_that_cannot_get_through_fails_clearly_and_writes_nothing(faulty, toxic, attrs, words):
    path = sample(faulty)
    faulty.proxy.add(toxic, stream="upstream", **attrs)
    proc, elapsed = timed(faulty, "upload", path)
    assert_clear_failure(proc, elapsed, *words)
    faulty.proxy.clear()
    assert faulty.direct.list_keys("data") == []
    # ... and the same upload works once the network is back.
    assert timed(faulty, "upload", path)[0].returncode == 0
    assert faulty.direct.read("data", "churn.csv") == path.read_bytes()


def test_multipart_upload_reset_midway_leaves_no_object(faulty):
    """A 21 MB (two-part) upload whose connections close after 8 MB each: the
    object is exact or absent, and no multipart upload is left open."""
    path = sample(faulty, rows=1_400_000, name="big.csv", seed=3)
    assert path.stat().st_size > 16 << 20  # over one 16 MiB part
    faulty.proxy.add("limit_data", stream="upstream", bytes=8 << 20)
    proc, elapsed = timed(faulty, "upload", path)
    if proc.returncode == 0:  # retries got every part through on fresh connections
        assert faulty.direct.read("data", "big.csv") == path.read_bytes()
    else:
        assert_clear_failure(proc, elapsed)
        assert faulty.direct.list_keys("data") == []
    client = faulty.s3.client()
    assert client.list_multipart_uploads(Bucket=faulty.buckets["data"]).get("Uploads", []) == []


# --- train -------------------------------------------------------------------------------

def test_train_through_latency_registers_a_complete_version(faulty):
    faulty.direct.run("upload", sample(faulty))
    faulty.proxy.add("latency", latency=150, jitter=50)
    faulty.proxy.add("bandwidth", rate=500)
    proc, _ = timed(faulty, "train", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert committed_versions(faulty.direct) == ["1"]


@pytest.mark.parametrize("toxicity", [1.0, 0.3])
def test_train_with_connection_resets_commits_all_or_nothing(faulty, toxicity):
    """Resets on every (1.0) or some (0.3) connections: either version 1 is
    committed complete, or the command fails clearly and no version is visible."""
    faulty.direct.run("upload", sample(faulty))
    faulty.proxy.add("reset_peer", stream="upstream", toxicity=toxicity, timeout=0)
    proc, elapsed = timed(faulty, "train", "--quiet")
    faulty.proxy.clear()
    if proc.returncode == 0:
        assert committed_versions(faulty.direct) == ["1"]
        keys = faulty.direct.list_keys("models")
        assert "1/metadata.json" in keys and any(k.startswith("1/model_") for k in keys)
    else:
        assert_clear_failure(proc, elapsed)
        assert committed_versions(faulty.direct) == []
        assert json.loads(faulty.direct.run("models", "list", "--json").stdout)["versions"] == []
    # Once the network is back, training works and numbers the next version after what is committed.
    assert faulty.run("train", "--quiet", check=False).returncode == 0
    assert committed_versions(faulty.direct)[-1] in ("1", "2")


# --- serve's log shipping ----------------------------------------------------------------

def test_serve_ships_exactly_once_through_resets_and_latency(faulty, tmp_path):
    """Requests answered while shipments fail (resets) or crawl (latency) are
    shipped exactly once when the network heals; serve never stops answering."""
    faulty.direct.run("upload", sample(faulty))
    faulty.direct.run("train", "--quiet")
    ids = []
    with Server(faulty, args=["--threads", "1", "--ship-interval-ms", "300", "--alias-refresh", "5"]) as srv:
        srv.wait_ready(60)
        for toxic, attrs in (("reset_peer", {"timeout": 0}), ("latency", {"latency": 800}),
                             ("limit_data", {"bytes": 300})):
            name = faulty.proxy.add(toxic, stream="downstream", **attrs)
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                r = srv.infer([["aa", 2, 2]], version="1", timeout=30)
                assert r.status_code == 200, r.text
                ids.append(r.json()["request_id"])
                time.sleep(0.05)
            faulty.proxy.remove(name)
    out = tmp_path / "r.csv"
    faulty.direct.run("results", "export", "--version", "1", "--out", out)
    with open(out, newline="") as f:
        exported = [r["request_id"] for r in csv.DictReader(f)]
    assert sorted(exported) == sorted(ids), (len(exported), len(ids))


# --- export ------------------------------------------------------------------------------

@pytest.fixture
def with_results(faulty, tmp_path):
    faulty.direct.run("upload", sample(faulty))
    faulty.direct.run("train", "--quiet")
    with Server(faulty.direct, args=["--threads", "1"]) as srv:
        srv.wait_ready(60)
        ids = [srv.infer([["aa", i % 5, 2]], version="1").json()["request_id"] for i in range(200)]
    good = tmp_path / "good.csv"
    faulty.direct.run("results", "export", "--version", "1", "--out", good)
    return good, ids


def test_export_through_latency_and_bandwidth_is_exact(faulty, with_results, tmp_path):
    good, _ = with_results
    faulty.proxy.add("latency", latency=200)
    faulty.proxy.add("bandwidth", rate=50)
    out = tmp_path / "slow.csv"
    proc, _ = timed(faulty, "results", "export", "--version", "1", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(good.read_bytes()).digest()


@pytest.mark.parametrize("toxic,attrs", [("reset_peer", {"timeout": 0}), ("timeout", {"timeout": 0}),
                                         ("limit_data", {"bytes": 2000})],
                         ids=["reset", "stall", "cut-answer"])
def test_export_that_fails_leaves_no_partial_file(faulty, with_results, tmp_path, toxic, attrs):
    out = tmp_path / "out.csv"
    out.write_text("previous export\n")
    faulty.proxy.add(toxic, stream="downstream", **attrs)
    proc, elapsed = timed(faulty, "results", "export", "--version", "1", "--out", out)
    if proc.returncode == 0:  # a cut answer retried on a new connection can succeed
        assert out.read_bytes() == with_results[0].read_bytes()
    else:
        assert_clear_failure(proc, elapsed)
        assert out.read_text() == "previous export\n", "a failed export replaced the file"
        assert not [p for p in tmp_path.iterdir() if p.name.startswith("out.csv") and p.name != "out.csv"], \
            "temporary file left behind"


# --- the worker (SQS and S3 on moto, through the proxy) ------------------------------------

def test_worker_through_latency_and_resets_trains_each_object_at_most_once(moto, toxiproxy, tmp_path):
    """The worker's SQS polls and S3 reads cross a proxy that delays every
    answer and resets some connections. The object is trained exactly once
    (one complete version), or — when its deliveries run out — its message
    is in the dead-letter queue and no version exists; never two, never half."""
    from servers import wait_until
    from test_watch import make_csv
    from test_worker import WorkerSetup
    w = WorkerSetup(moto, tmp_path)
    proxy = toxiproxy.proxy(f"moto-{time.monotonic_ns()}", moto.endpoint.removeprefix("http://"))
    w.env.update({"AWS_ENDPOINT_URL": proxy.endpoint, "MODELBAY_S3_MAX_ATTEMPTS": str(ATTEMPTS),
                  "MODELBAY_S3_STALL_TIMEOUT_S": str(STALL_S), "MODELBAY_S3_CONNECT_TIMEOUT_MS": "2000"})
    proxy.add("latency", latency=100, jitter=50)
    proxy.add("reset_peer", stream="upstream", toxicity=0.2, timeout=0)
    try:
        w.start()
        wait_until(lambda: "s3:TestEvent" in w.text(), 120, "test event handled", w.proc, w.log)
        body = make_csv(tmp_path / "a.csv", 300, "x1", 0.05, seed=11).read_bytes()
        w.s3.put_object(Bucket=w.bucket, Key="incoming/batch.csv", Body=body)
        wait_until(lambda: w.versions() == [1] or w.queue_depth(w.dlq_url) > 0, 240,
                   "a version or a dead letter", w.proc, w.log)
        proxy.clear()
        wait_until(lambda: w.queue_depth(w.queue_url) == 0, 60, "queue drained", w.proc, w.log)
        time.sleep(3)  # a second training would have to start within the visibility timeout
        if w.versions() == [1]:
            assert w.queue_depth(w.dlq_url) == 0
        else:
            assert w.versions() == [] and w.queue_depth(w.dlq_url) == 1, w.text()[-3000:]
        models = tmp_path / ".modelbay" / "models"
        uncommitted = [p.name for p in models.iterdir() if p.name.isdigit() and not (p / ".committed").exists()] \
            if models.exists() else []
        assert uncommitted == [], f"half-written versions: {uncommitted}"
    finally:
        proxy.clear()
        if w.proc and w.proc.poll() is None:
            w.proc.terminate()
            w.proc.wait(timeout=60)
    assert w.proc.returncode == 0, w.text()[-3000:]
