#!/usr/bin/env bash
# Data-arrival-to-serving latency: upload a 100k-row CSV with a new signal
# while `modelbay serve` and `modelbay watch` run on local stores, and time
# until a request without model_version is first answered by the new version.
# Usage: benchmarks/retrain/run.sh [path/to/modelbay] [runs]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="${1:-$ROOT/build/src/modelbay}"
RUNS="${2:-3}"
exec "$ROOT/.venv/bin/python" - "$BIN" "$RUNS" <<'PY'
import csv, datetime, random, re, signal, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import requests

BIN, RUNS, ROWS = sys.argv[1], int(sys.argv[2]), 100_000

def make(path, col, seed):
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f); w.writerow(["plan", "x1", "x2", "churn"])
        for _ in range(ROWS):
            x1, x2 = rng.random(), rng.random()
            w.writerow([rng.choice(["aa", "bb", "cc"]), round(x1, 4), round(x2, 4), int((x1 if col == "x1" else x2) > 0.5)])

def port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def served(url):
    try:
        r = requests.post(url + "/inference", json={"data": [["aa", 0.9, 0.1]]}, timeout=5)
        return r.json().get("model_version") if r.status_code == 200 else None
    except requests.RequestException:
        return None

def logged_at(log_path, pattern):
    """Wall-clock time (s since the epoch) of the first log line matching pattern."""
    for line in Path(log_path).read_text(errors="replace").splitlines():
        if re.search(pattern, line):
            stamp = line.split(" ", 1)[0]
            return datetime.datetime.fromisoformat(stamp).timestamp()
    return float("nan")

def wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred(): return
        time.sleep(0.05)
    raise TimeoutError

results, phases = [], []
for run in range(RUNS):
    d = Path(tempfile.mkdtemp(prefix="mb-retrain-"))
    make(d / "a.csv", "x1", run); make(d / "b.csv", "x2", 100 + run)
    subprocess.run([BIN, "upload", d / "a.csv", "--name", "a.csv"], cwd=d, check=True, capture_output=True)
    subprocess.run([BIN, "train"], cwd=d, check=True, capture_output=True)
    p = port(); url = f"http://127.0.0.1:{p}"
    log = open(d / "bench.log", "wb")
    serve = subprocess.Popen([BIN, "serve", "--host", "127.0.0.1", "--port", str(p)], cwd=d, stdout=log, stderr=log)
    watch = subprocess.Popen([BIN, "watch", "--interval", "0.5", "--debounce", "0"], cwd=d, stdout=log, stderr=log)
    try:
        wait(lambda: served(url) == "1", 60)
        # The watcher has seen version 1 covering a.csv: it is watching.
        wait(lambda: "up to date" in (d / "bench.log").read_text(errors="replace"), 60)
        t0, wall0 = time.monotonic(), time.time()
        subprocess.run([BIN, "upload", d / "b.csv", "--name", "b.csv"], cwd=d, check=True, capture_output=True)
        wall_uploaded = time.time()
        wait(lambda: served(url) == "2", 300)
        results.append(time.monotonic() - t0)
        wall_served = time.time()
        detected = logged_at(d / "bench.log", r"data changed")
        registered = logged_at(d / "bench.log", r"registered version 2")
        phase = (wall_uploaded - wall0, detected - wall_uploaded, registered - detected, wall_served - registered)
        phases.append(phase)
        print(f"run {run + 1}: upload -> first response from version 2: {results[-1]:.2f} s "
              f"(upload {phase[0]:.2f}, until detected {phase[1]:.2f}, training+gate {phase[2]:.2f}, "
              f"until served {phase[3]:.2f})", flush=True)
    finally:
        for proc in (watch, serve):
            proc.send_signal(signal.SIGTERM); proc.wait(timeout=60)
print(f"median of {len(results)} runs ({ROWS} rows): {statistics.median(results):.2f} s "
      f"(min {min(results):.2f}, max {max(results):.2f}); median phases: "
      + ", ".join(f"{name} {statistics.median(p[i] for p in phases):.2f} s" for i, name in
                  enumerate(["upload", "until detected", "training+gate", "until served"])))
PY
