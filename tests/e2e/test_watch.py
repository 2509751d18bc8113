"""`modelbay watch`: retraining on data arrival on the local store, with the
server following `production` without a restart, the promotion gate keeping a
worse model out, and two watchers training one change once."""
from __future__ import annotations

import csv
import io
import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from serve_util import Server
from servers import wait_until

N_ROWS = 600


def make_csv(path: Path, rows: int, signal_col: str, noise: float, seed: int) -> Path:
    """A regression table: y = 10 * <signal_col> (+ Gaussian noise), with an
    unrelated categorical and numeric column."""
    rng = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["plan", "x1", "x2", "y"])
    for _ in range(rows):
        x1, x2 = rng.random(), rng.random()
        base = x1 if signal_col == "x1" else x2
        w.writerow([rng.choice(["aa", "bb", "cc"]), round(x1, 4), round(x2, 4),
                    round(10 * base + rng.gauss(0, noise), 4)])
    path.write_text(out.getvalue())
    return path


def committed_versions(stores) -> list[int]:
    return sorted(int(k.split("/")[0]) for k in stores.list_keys("models")
                  if k.endswith("/.committed") and k.split("/")[0].isdigit())


def metadata(stores, version: int) -> dict:
    return json.loads(stores.read("models", f"{version}/metadata.json"))


def production(stores) -> int | None:
    try:
        return int(json.loads(stores.read("models", "aliases/production.json"))["version"])
    except FileNotFoundError:
        return None


def trigger_of(md: dict) -> tuple[str, dict]:
    """(trigger, detail) as Train records them: a name and an object beside it."""
    t = md.get("trigger")
    assert isinstance(t, str), md
    return t, md.get("trigger_detail", {})


class Watch:
    def __init__(self, stores, *args, name="watch"):
        self.log = Path(stores.cwd) / f"{name}.log"
        self.proc = stores.popen("watch", *args, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout=30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"watch did not stop within {timeout}s of SIGTERM\n{self.text()[-3000:]}")


def served_version(srv: Server, row) -> str | None:
    r = srv.infer([row])
    return r.json().get("model_version") if r.status_code == 200 else None


def test_watch_retrains_serve_follows_and_gate_keeps_worse_model_out(local_stores, tmp_path):
    stores = local_stores
    stores.run("upload", make_csv(tmp_path / "a.csv", N_ROWS, "x1", 0.05, seed=1), "--name", "a.csv")
    watch = Watch(stores, "--interval", "0.5", "--debounce", "1")
    try:
        wait_until(lambda: 1 in committed_versions(stores), 90, "version 1 from watch", watch.proc, watch.log)
        # The alias is written just after the version's commit marker: wait for it.
        wait_until(lambda: production(stores) == 1, 30, "version 1 becomes production", watch.proc, watch.log)
        md1 = metadata(stores, 1)
        trig, detail = trigger_of(md1)
        assert trig == "data-arrival" and detail["keys"] == ["a.csv"], md1

        row = ["aa", 1.0, 0.0]  # old signal (x1) says ~10, new signal (x2) says ~0
        with Server(stores) as srv:
            srv.wait_ready()
            first = srv.infer([row]).json()
            assert first["model_version"] == "1"
            assert first["predictions"][0] > 7

            # New data with a different signal: the server follows within 30 s.
            stores.run("upload", make_csv(tmp_path / "b.csv", N_ROWS, "x2", 0.05, seed=2), "--name", "b.csv")
            uploaded = time.monotonic()
            wait_until(lambda: served_version(srv, row) == "2", 30, "serving version 2", watch.proc, watch.log)
            latency = time.monotonic() - uploaded
            r = srv.infer([row]).json()
            assert r["model_version"] == "2" and r["predictions"][0] < 3, r
            assert production(stores) == 2
            gate = metadata(stores, 2)["promotion"]
            assert gate["promoted"] is True and gate["production_version"] == 1, gate
            assert isinstance(gate["production_score"], (int, float)), gate
            trig, detail = trigger_of(metadata(stores, 2))
            assert trig == "data-arrival" and detail["keys"] == ["b.csv"]
            print(f"upload -> served by the new version: {latency:.1f} s")

            # Data that makes a worse model: same signal, heavy noise, few rows.
            # It is registered but not promoted; serving stays on version 2.
            stores.run("upload", make_csv(tmp_path / "c.csv", 300, "x2", 5.0, seed=3), "--name", "c.csv")
            wait_until(lambda: 3 in committed_versions(stores), 60, "version 3 from watch", watch.proc, watch.log)
            assert production(stores) == 2, "a worse model must not be promoted"
            gate = metadata(stores, 3)["promotion"]
            assert gate["promoted"] is False and gate["production_version"] == 2, gate
            assert isinstance(gate["new_score"], (int, float)), gate
            assert isinstance(gate["production_score"], (int, float)), gate
            assert trigger_of(metadata(stores, 3))[1]["keys"] == ["c.csv"]
            deadline = time.monotonic() + 4  # longer than the server's alias refresh
            while time.monotonic() < deadline:
                assert served_version(srv, row) == "2"
                time.sleep(0.2)
        log = watch.text()
        v3 = [line for line in log.splitlines() if "registered version 3" in line]
        # The log line carries the decision and both scores.
        assert v3 and "not promoted" in v3[0] and "vs production version 2" in v3[0], log[-3000:]
    finally:
        rc = watch.stop()
    assert rc == 0, watch.text()[-3000:]
    assert committed_versions(stores) == [1, 2, 3], "one version per change"

    out = tmp_path / "results_2.csv"
    stores.run("results", "export", "--version", "2", "--out", out)
    rows = list(csv.DictReader(out.open()))
    assert rows, "requests answered by version 2 are logged under it"


def test_two_watchers_one_change_one_version(local_stores, tmp_path):
    stores = local_stores
    stores.run("upload", make_csv(tmp_path / "a.csv", 300, "x1", 0.05, seed=4), "--name", "a.csv")
    w1 = Watch(stores, "--interval", "0.2", "--debounce", "0", name="w1")
    w2 = Watch(stores, "--interval", "0.2", "--debounce", "0", name="w2")
    try:
        wait_until(lambda: committed_versions(stores) == [1], 90, "version 1", w1.proc, w1.log)
        time.sleep(3)  # many more polls of both watchers
        assert committed_versions(stores) == [1]
        stores.run("upload", make_csv(tmp_path / "b.csv", 300, "x2", 0.05, seed=5), "--name", "b.csv")
        wait_until(lambda: 2 in committed_versions(stores), 90, "version 2", w1.proc, w1.log)
        time.sleep(3)
        assert committed_versions(stores) == [1, 2]
        assert w1.proc.poll() is None and w2.proc.poll() is None
    finally:
        rc1, rc2 = w1.stop(), w2.stop()
    assert (rc1, rc2) == (0, 0)
    trained = [w.text().count("registered version") for w in (w1, w2)]
    assert sum(trained) == 2, (trained, w1.text()[-2000:], w2.text()[-2000:])
    assert not [k for k in stores.list_keys("models") if k.startswith("leases/")], "leases are released"


def test_watch_once_and_up_to_date(local_stores, tmp_path):
    stores = local_stores
    r = stores.run("watch", "--once", "--debounce", "0", check=False)
    assert r.returncode == 0, r.stderr
    assert "no data" in r.stderr
    stores.run("upload", make_csv(tmp_path / "a.csv", 200, "x1", 0.05, seed=6), "--name", "a.csv")
    stores.run("watch", "--once", "--debounce", "0")
    assert committed_versions(stores) == [1]
    r = stores.run("watch", "--once", "--debounce", "0")
    assert "up to date" in r.stderr and committed_versions(stores) == [1]


def test_sigterm_during_training_leaves_no_half_registered_version(local_stores, tmp_path):
    """One SIGTERM lets the running training finish (its version is committed,
    exit 0); a second one abandons it at once: no version becomes visible, the
    process exits promptly, and the next watcher trains the change normally."""
    stores = local_stores
    stores.run("sample-data", "--rows", "20000", "--out", tmp_path / "big.csv")
    stores.run("upload", tmp_path / "big.csv", "--name", "big.csv")

    # Abandon: two signals while the training runs.
    w = Watch(stores, "--interval", "0.2", "--debounce", "0", name="abandon")
    wait_until(lambda: "training on big.csv" in w.text(), 60, "training started", w.proc, w.log)
    w.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    w.proc.send_signal(signal.SIGTERM)
    rc = w.proc.wait(timeout=15)
    if "registered version 1" not in w.text():  # the training may have won the race
        assert rc == 130, (rc, w.text()[-3000:])
        assert "abandoning the current training" in w.text()
        assert committed_versions(stores) == []
        listed = stores.run("models", "list", check=False)
        assert "1" not in [line.split()[0] for line in listed.stdout.splitlines()[1:] if line.split()], \
            listed.stdout

        # Finish: one signal while the training runs -> it completes, exit 0.
        w = Watch(stores, "--interval", "0.2", "--debounce", "0", name="finish")
        wait_until(lambda: "training on big.csv" in w.text(), 60, "training restarted", w.proc, w.log)
        w.proc.send_signal(signal.SIGTERM)
        rc = w.proc.wait(timeout=120)
        assert rc == 0, w.text()[-3000:]
    versions = committed_versions(stores)
    assert len(versions) == 1 and production(stores) == versions[0], versions
    assert trigger_of(metadata(stores, versions[0]))[1]["keys"] == ["big.csv"]
    assert not [k for k in stores.list_keys("models") if k.startswith("leases/")], "leases are released"
    r = stores.run("watch", "--once", "--debounce", "0")
    assert "up to date" in r.stderr and committed_versions(stores) == versions
