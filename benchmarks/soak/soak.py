#!/usr/bin/env python3
"""Soak: `modelbay serve` under steady load for a long time (default 10 min),
with the production alias flipped every 30 s and a model imported every
minute. Samples the server's RSS (/proc/PID/status VmRSS) and open files
(/proc/PID/fd) every 5 s, counts every non-200 answer and client error, and at
the end (SIGTERM, the log shipped) exports each version's results and checks
they hold every answered request exactly once.

    make soak                                    # 10 minutes, local stores
    .venv/bin/python benchmarks/soak/soak.py --minutes 2 --out /tmp/soak.json

Exits non-zero when a check fails: an error, an export that differs, open
files that grow, or RSS that keeps growing after warm-up (last quarter's
median more than 10% over the second quarter's)."""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from servers import free_port, wait_until  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.environ.get("MODELBAY_BIN", str(ROOT / "build" / "src" / "modelbay")))
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--flip-every", type=float, default=30.0)
    ap.add_argument("--import-every", type=float, default=60.0)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modelbay-soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MODELBAY_"))}
    env.update({"HOME": str(work), "AWS_EC2_METADATA_DISABLED": "true", "MODELBAY_HOME": str(work / "home")})

    def mb(*a, check=True):
        p = subprocess.run([args.binary, *map(str, a)], cwd=work, env=env, capture_output=True, text=True,
                           timeout=600)
        if check and p.returncode != 0:
            raise SystemExit(f"modelbay {' '.join(map(str, a))} failed:\n{p.stderr}")
        return p

    # --- setup: two versions and a bundle to import -------------------------------------
    mb("sample-data", "--rows", "5000", "--seed", "7", "--out", "churn.csv")
    mb("upload", "churn.csv")
    mb("train", "--quiet")
    mb("models", "export", "1", "--out", "bundle.zip")
    mb("models", "import", "bundle.zip")
    mb("models", "promote", "1")

    port = free_port()
    log = work / "serve.log"
    serve = subprocess.Popen([args.binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", "2",
                              "--alias-refresh", "1"], cwd=work, env=env, stdout=open(log, "wb"),
                             stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: requests.get(url + "/ready", timeout=2).status_code == 200, 120, "serve", serve, log)

    stop = threading.Event()
    lock = threading.Lock()
    answered: dict[str, list[str]] = {}
    errors: list[str] = []

    def client(i: int):
        s = requests.Session()
        n = 0
        while not stop.is_set():
            n += 1
            try:
                r = s.post(url + "/inference", json={"data": [["aa", n % 7, i % 3]]}, timeout=30)
                if r.status_code != 200:
                    with lock:
                        errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                    continue
                body = r.json()
                with lock:
                    answered.setdefault(body["model_version"], []).append(body["request_id"])
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                with lock:
                    errors.append(repr(exc)[:200])

    samples = []

    def sample(t0: float):
        status = Path(f"/proc/{serve.pid}/status").read_text()
        rss_kb = int(next(l.split()[1] for l in status.splitlines() if l.startswith("VmRSS:")))
        fds = len(os.listdir(f"/proc/{serve.pid}/fd"))
        with lock:
            total = sum(len(v) for v in answered.values())
        samples.append({"t": round(time.monotonic() - t0, 1), "rss_kb": rss_kb, "fds": fds, "answered": total})

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    end = t0 + args.minutes * 60
    next_flip, next_import, next_sample = t0 + args.flip_every, t0 + args.import_every, t0
    flips = imports = 0
    target = 2
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_sample:
            sample(t0)
            next_sample += 5
        if now >= next_flip:
            mb("models", "promote", str(target))
            flips += 1
            target = 1 if target == 2 else 2
            next_flip += args.flip_every
        if now >= next_import:
            mb("models", "import", "bundle.zip", "--duplicate")  # a new version each time (re-imports are no-ops)
            imports += 1
            next_import += args.import_every
        if serve.poll() is not None:
            raise SystemExit(f"serve exited {serve.returncode}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    sample(t0)
    serve.send_signal(signal.SIGTERM)
    rc = serve.wait(timeout=120)

    # --- export exact ---------------------------------------------------------------------
    mismatches = {}
    for version, ids in answered.items():
        out = work / f"results_{version}.csv"
        mb("results", "export", "--version", version, "--out", out)
        with open(out, newline="") as f:
            exported = [r["request_id"] for r in csv.DictReader(f)]
        if sorted(exported) != sorted(ids):
            mismatches[version] = {"answered": len(ids), "exported": len(exported),
                                   "distinct_exported": len(set(exported))}

    quarter = max(1, len(samples) // 4)
    rss_q2 = statistics.median(s["rss_kb"] for s in samples[quarter:2 * quarter])
    rss_q4 = statistics.median(s["rss_kb"] for s in samples[-quarter:])
    fds_after_warmup = [s["fds"] for s in samples[quarter:]]
    total = sum(len(v) for v in answered.values())
    figures = {
        "minutes": args.minutes, "clients": args.clients, "requests": total,
        "requests_per_s": round(total / (args.minutes * 60), 1), "errors": len(errors),
        "error_examples": errors[:5], "alias_flips": flips, "imports": imports,
        "versions_answered": sorted(answered, key=int), "serve_exit": rc,
        "rss_kb_first": samples[0]["rss_kb"], "rss_kb_q2_median": rss_q2, "rss_kb_q4_median": rss_q4,
        "rss_kb_max": max(s["rss_kb"] for s in samples),
        "fds_min_after_warmup": min(fds_after_warmup), "fds_max_after_warmup": max(fds_after_warmup),
        "export_mismatches": mismatches, "samples": samples,
    }
    text = json.dumps(figures, indent=1)
    if args.out:
        args.out.write_text(text)
    print(json.dumps({k: v for k, v in figures.items() if k != "samples"}, indent=1))
    problems = []
    if errors:
        problems.append(f"{len(errors)} errors")
    if rc != 0:
        problems.append(f"serve exited {rc}")
    if mismatches:
        problems.append(f"export differs: {mismatches}")
    if rss_q4 > rss_q2 * 1.10:
        problems.append(f"RSS grew: {rss_q2} kB -> {rss_q4} kB")
    if max(fds_after_warmup) - min(fds_after_warmup) > 8:
        problems.append(f"open files vary {min(fds_after_warmup)}..{max(fds_after_warmup)}")
    if problems:
        print("SOAK FAILED: " + "; ".join(problems), file=sys.stderr)
        print(f"(work dir kept: {work})", file=sys.stderr)
        return 1
    print(f"soak passed (work dir: {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
