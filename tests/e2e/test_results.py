"""The prediction log end to end (DESIGN §6): `modelbay serve` under 32
concurrent keep-alive clients, SIGKILL mid-load, an S3 outage, and
`modelbay results export` read back as CSV. Every request that got a 200 must
be in its version's export exactly once, matched by request id."""
from __future__ import annotations

import csv
import http.client
import io
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import make_local_stores, make_s3_stores
from serve_util import Server, wait_for
from servers import SeaweedFS

PARAMS = '{"num_boost_round": 8}'
ROWS = [["aa", 2, 2], ["bb", 5, 7], ["cc", 1, 3]]


def train_versions(stores, tmp: Path, count: int):
    data = tmp / "churn.csv"
    stores.run("sample-data", "--rows", "400", "--out", data)
    stores.run("upload", data)
    params = tmp / "params.json"
    params.write_text(PARAMS)
    for _ in range(count):
        stores.run("train", "--params", params, "-q")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Local stores with versions 1 and 2 (shared by the tests of this module;
    each test uses its own spool and reads only its own request ids)."""
    tmp = tmp_path_factory.mktemp("results")
    stores = make_local_stores(tmp)
    train_versions(stores, tmp, 2)
    return stores


def export(stores, version: int, out: Path) -> list[dict]:
    stores.run("results", "export", "--version", version, "--out", out)
    with open(out, newline="") as f:
        return list(csv.DictReader(f))


def load(url: str, clients: int, total: int | None = None, stop: threading.Event | None = None,
         versions=("1", "2")) -> dict[str, list[str]]:
    """`clients` threads with keep-alive connections post the seed's request;
    returns version -> request ids answered 200 (until `total` or `stop`)."""
    host, port = url.removeprefix("http://").split(":")
    acked = {v: [] for v in versions}
    lock = threading.Lock()
    counter = iter(range(10**9))

    def client():
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = {v: [] for v in versions}
        try:
            while True:
                i = next(counter)
                if (total is not None and i >= total) or (stop is not None and stop.is_set()):
                    break
                version = versions[i % len(versions)]
                body = json.dumps({"data": [ROWS[i % len(ROWS)]], "model_version": version})
                try:
                    conn.request("POST", "/inference", body, {"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException):
                    if stop is not None and stop.is_set():
                        break
                    conn.close()
                    conn = http.client.HTTPConnection(host, int(port), timeout=30)
                    continue
                if resp.status == 200:
                    mine[version].append(json.loads(data)["request_id"])
        finally:
            conn.close()
            with lock:
                for v in versions:
                    acked[v] += mine[v]

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acked


def assert_exactly_once(rows: list[dict], acked: list[str], version: str, rows_per_request: int = 1):
    counts = Counter(r["request_id"] for r in rows)
    duplicated = [i for i, n in counts.items() if n > rows_per_request]
    assert not duplicated, f"duplicated rows in the export, e.g. {duplicated[:3]}"
    missing = [i for i in acked if counts.get(i, 0) != rows_per_request]
    assert not missing, f"{len(missing)} acknowledged requests missing, e.g. {missing[:3]}"
    assert all(r["model_version"] == version for r in rows)


def test_concurrent_clients_two_versions_every_row_once(trained, tmp_path):
    with Server(trained, args=["--threads", "2"], spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        start = time.monotonic()
        acked = load(srv.url, clients=32, total=50_000)
        elapsed = time.monotonic() - start
        m = srv.metrics()
    print(f"50000 requests from 32 clients in {elapsed:.1f} s")
    # --fsync always (the default): every answered request's rows were in a
    # group commit, and commits were shared (fewer flushes than requests).
    commits, covered = m["modelbay_log_commits_total"], m["modelbay_log_commit_appends_total"]
    print(f"{commits:.0f} commits, {covered / commits:.1f} requests each, "
          f"{1000 * m['modelbay_log_commit_seconds_total'] / commits:.3f} ms each")
    assert covered == 50_000
    assert 1 <= commits < covered
    assert m["modelbay_log_commit_seconds_total"] > 0
    assert sum(len(v) for v in acked.values()) == 50_000  # no errors under load
    for version in ("1", "2"):
        rows = export(trained, int(version), tmp_path / f"results_{version}.csv")
        acked_ids = set(acked[version])
        ours = [r for r in rows if r["request_id"] in acked_ids]
        assert len(ours) == len(acked[version])
        assert_exactly_once(ours, acked[version], version)
        # Every logged row holds the inputs a client sent, not another request's.
        sent = {(str(c), str(n), str(i)) for c, n, i in ROWS}
        wrong = [r for r in ours if (r["Country"], r["Count"], r["id"]) not in sent]
        assert not wrong, f"{len(wrong)} logged rows hold inputs nobody sent, e.g. {wrong[:2]}"
        # The header is the seed's row plus the contract's columns, once; time order.
        assert list(rows[0].keys())[:3] == ["timestamp", "request_id", "model_version"]
        assert {"Country", "Count", "id", "prediction", "prob_0", "prob_1"} <= set(rows[0].keys())
        stamps = [r["timestamp"] for r in rows]
        assert stamps == sorted(stamps)


def test_sigkill_during_load_loses_no_acknowledged_row(trained, tmp_path):
    spool = tmp_path / "spool"
    srv = Server(trained, args=["--threads", "2"], spool=spool).start()
    srv.wait_ready()
    stop = threading.Event()
    result = {}
    loader = threading.Thread(target=lambda: result.update(load(srv.url, clients=16, stop=stop)))
    loader.start()
    time.sleep(3)  # let the load run (no timing asserted)
    srv.kill()
    stop.set()
    loader.join()
    assert sum(len(v) for v in result.values()) > 0

    with Server(trained, args=["--threads", "2"], spool=spool):  # recovers and ships the spool
        pass
    assert not list(spool.rglob("*.seg")), "spool not emptied after a clean restart"
    assert not list(spool.rglob(".spare-*")), "a spare file of zeros outlived the killed server's dir"
    for version in ("1", "2"):
        rows = export(trained, int(version), tmp_path / f"r{version}.csv")
        mine = set(result[version])
        assert_exactly_once([r for r in rows if r["request_id"] in mine], result[version], version)


def test_fsync_never_answers_inline_and_a_sigkill_loses_no_acknowledged_row(trained, tmp_path):
    """--fsync never writes on the io thread and answers with no thread hop
    (issue 9): 10,000 requests from 16 clients all answered and logged once,
    then a SIGKILL mid-load loses none of the rows that got a 200 (they are in
    the page cache before the answer)."""
    args = ["--threads", "2", "--fsync", "never"]
    with Server(trained, args=args, spool=tmp_path / "spool-clean") as srv:
        srv.wait_ready()
        acked = load(srv.url, clients=16, total=10_000)
        assert srv.metrics()["modelbay_log_commits_total"] == 0, "--fsync never commits nothing"
    assert sum(len(v) for v in acked.values()) == 10_000
    for version in ("1", "2"):
        rows = export(trained, int(version), tmp_path / f"clean{version}.csv")
        assert_exactly_once([r for r in rows if r["request_id"] in set(acked[version])], acked[version], version)

    spool = tmp_path / "spool"
    srv = Server(trained, args=args, spool=spool).start()
    srv.wait_ready()
    stop = threading.Event()
    result = {}
    loader = threading.Thread(target=lambda: result.update(load(srv.url, clients=16, stop=stop)))
    loader.start()
    time.sleep(3)
    srv.kill()
    stop.set()
    loader.join()
    assert sum(len(v) for v in result.values()) > 0
    with Server(trained, args=args, spool=spool):  # recovers and ships the spool
        pass
    assert not list(spool.rglob("*.seg")), "spool not emptied after a clean restart"
    for version in ("1", "2"):
        rows = export(trained, int(version), tmp_path / f"r{version}.csv")
        mine = set(result[version])
        assert_exactly_once([r for r in rows if r["request_id"] in mine], result[version], version)


def test_store_outage_serves_from_cache_and_ships_later(tmp_path):
    s3 = SeaweedFS(tmp_path / "weed")
    s3.start()
    try:
        stores = make_s3_stores(s3, tmp_path)
        train_versions(stores, tmp_path, 1)
        with Server(stores, args=["--threads", "2", "--alias-refresh", "0.5"], spool=tmp_path / "spool") as srv:
            srv.wait_ready()
            first = srv.infer(ROWS, version="1")
            assert first.status_code == 200, first.text
            acked = [first.json()["request_id"]]

            s3.kill()
            for _ in range(20):
                r = srv.infer(ROWS, version="1")
                assert r.status_code == 200, r.text  # cached model, spooled log
                acked.append(r.json()["request_id"])
            ready = wait_for(lambda: (lambda j: j if j.get("status") == "degraded" else None)(
                srv.get("/ready").json()), timeout=30, what="/ready degraded")
            assert ready["model_version"] == "1"

            s3.restart()
            wait_for(lambda: any(k.startswith("logs/v1/") for k in stores.list_keys("results"))
                     and not list((tmp_path / "spool").rglob("*.seg")), timeout=90,
                     what="spooled rows shipped after the store returned")
            rows = export(stores, 1, tmp_path / "results_1.csv")
            assert_exactly_once(rows, acked, "1", rows_per_request=len(ROWS))
            assert len(rows) == len(acked) * len(ROWS)
    finally:
        s3.stop()


def test_export_without_out_writes_results_csv_at_store_root(trained, tmp_path):
    with Server(trained, args=["--threads", "1"], spool=tmp_path / "spool") as srv:
        srv.wait_ready()
        rid = srv.infer([["zz", 4, 4]], version="2").json()["request_id"]
    proc = trained.run("results", "export", "--version", "2")
    assert proc.stdout.strip().endswith("results_2.csv")
    text = trained.read("results", "results_2.csv").decode()
    assert text.count("timestamp,request_id,") == 1
    assert any(r["request_id"] == rid for r in csv.DictReader(io.StringIO(text)))


def test_export_of_a_version_without_rows_says_so(trained, tmp_path):
    proc = trained.run("results", "export", "--version", "99", "--out", tmp_path / "x.csv", check=False)
    assert proc.returncode != 0
    assert "no logged predictions for version 99" in proc.stderr
    assert not (tmp_path / "x.csv").exists()


def test_servers_sharing_a_spool_ship_a_killed_ones_rows(trained, tmp_path):
    """Issue 13 §1: several servers on one spool root (one EFS volume for all
    serve tasks). Each writes its own writer dir; when one is SIGKILLed under
    load, a survivor adopts its dir at its next ship interval and ships its
    rows: every acknowledged row of both is exported exactly once."""
    spool = tmp_path / "spool"
    survivor = Server(trained, args=["--threads", "1", "--ship-interval-ms", "200"], spool=spool).start()
    # The victim never ships on its own: whatever it acknowledged stays in its dir.
    victim = Server(trained, args=["--threads", "1", "--ship-interval-ms", "3600000"], spool=spool).start()
    try:
        survivor.wait_ready()
        victim.wait_ready()
        assert len(list((spool / "writers").iterdir())) == 2
        stop = threading.Event()
        results = {}
        loaders = [threading.Thread(target=lambda n=name, s=srv: results.update({n: load(s.url, clients=8, stop=stop)}))
                   for name, srv in (("survivor", survivor), ("victim", victim))]
        for t in loaders:
            t.start()
        wait_for(lambda: victim.metrics().get("modelbay_spool_backlog_rows", 0) >= 2000, timeout=120,
                 what="the victim acknowledging rows")
        victim.kill()
        wait_for(lambda: len(list((spool / "writers").iterdir())) == 1, timeout=120,
                 what="the survivor adopting the killed server's writer dir")
        stop.set()
        for t in loaders:
            t.join()
        victim_acked = results["victim"]
        assert sum(len(v) for v in victim_acked.values()) >= 2000
        # Shipped while the survivor runs, not only at its shutdown.
        for version in ("1", "2"):
            rows = export(trained, int(version), tmp_path / f"v{version}.csv")
            mine = set(victim_acked[version])
            assert_exactly_once([r for r in rows if r["request_id"] in mine], victim_acked[version], version)
    finally:
        survivor.stop()
    assert not list(spool.rglob("*.seg")), "rows left in the spool after a clean stop"
    assert not (spool / "quarantine").exists(), "a segment was quarantined"
    for version in ("1", "2"):
        rows = export(trained, int(version), tmp_path / f"all{version}.csv")
        acked = results["victim"][version] + results["survivor"][version]
        assert_exactly_once([r for r in rows if r["request_id"] in set(acked)], acked, version)
