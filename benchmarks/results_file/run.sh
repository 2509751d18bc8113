#!/usr/bin/env bash
# Cost of one update of results_<N>.csv as the file grows (issue 16): on a
# local SeaweedFS (from the e2e venv), log objects of 10k rows each are
# written with boto3 until the file holds SIZE rows, the file is built once
# (`modelbay results refresh`, a rebuild), then UPDATES times one 1k-row log
# object is added and `modelbay results refresh` is timed; the command's own
# report gives the bytes it read (GetObject bodies).
# Usage: benchmarks/results_file/run.sh [path/to/modelbay] [sizes, e.g. 10000,1000000] [updates]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BIN="$(realpath "${1:-$ROOT/build/src/modelbay}")"
SIZES="${2:-10000,1000000}"
UPDATES="${3:-5}"
exec "$ROOT/.venv/bin/python" - "$ROOT" "$BIN" "$SIZES" "$UPDATES" <<'PY'
import json, os, statistics, subprocess, sys, tempfile, time, uuid
from pathlib import Path

ROOT, BIN, SIZES, UPDATES = Path(sys.argv[1]), sys.argv[2], [int(s) for s in sys.argv[3].split(",")], int(sys.argv[4])
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from servers import SeaweedFS  # the e2e suite's SeaweedFS (auth on)

HEADER = "timestamp,request_id,model_version,Country,Count,id,prediction,prob_0,prob_1\n"
OBJ = 10_000

def rows(first, n, second):
    return "".join(f"2026-12-01T10:{second // 60 % 60:02}:{second % 60:02}.{i % 1000:03}Z,"
                   f"req-{first + i:012},1,aa,{i % 7},{i % 13},1,0.1234567,0.8765433\n" for i in range(n))

work = Path(tempfile.mkdtemp(prefix="mb-bench-rfile-"))
s3 = SeaweedFS(work / "weed"); s3.start()
try:
    client = s3.client()
    out = []
    for size in SIZES:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **s3.env(),
               "RESULTS_STORE": f"s3://{bucket}", "HOME": str(work), "AWS_EC2_METADATA_DISABLED": "true"}
        seq = 1
        while seq <= size:
            n = min(OBJ, size - seq + 1)
            client.put_object(Bucket=bucket, Key=f"logs/v1/bench/run-{seq:010}-{seq + n - 1:010}.csv",
                              Body=HEADER + rows(seq, n, seq // OBJ))
            seq += n
        def refresh():
            t = time.monotonic()
            p = subprocess.run([BIN, "results", "refresh", "--version", "1"], cwd=work, env=env,
                               capture_output=True, text=True, check=True)
            return time.monotonic() - t, json.loads(p.stdout.strip().splitlines()[-1])
        build_s, build = refresh()
        times, reads = [], []
        for u in range(UPDATES):
            client.put_object(Bucket=bucket, Key=f"logs/v1/bench/run-{seq:010}-{seq + 999:010}.csv",
                              Body=HEADER + rows(seq, 1000, 3000 + u))
            seq += 1000
            s, r = refresh()
            assert r["rows_added"] == 1000 and not r["rebuilt"], r
            times.append(s); reads.append(r["bytes_read"])
        head = client.head_object(Bucket=bucket, Key="results_1.csv")
        line = (f"{size:>10,} rows ({head['ContentLength'] / 2**20:8.1f} MiB): build {build_s:6.2f} s; "
                f"update +1k rows: median {statistics.median(times):.3f} s "
                f"(min {min(times):.3f}, max {max(times):.3f}), read {statistics.median(reads) / 1024:.0f} KiB "
                f"per update (file {head['ContentLength'] / 1024:.0f} KiB)")
        print(line, flush=True); out.append(line)
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
finally:
    s3.stop()
PY
