#!/usr/bin/env bash
# benchmarks/serve/drift_cost.sh: what live drift tracking costs on the
# request path (issue 11: "the serve benchmark must not drop by more than
# 5%"). One build, one model (with a baseline), `modelbay serve --threads 2`
# with drift tracking on (the default) and off (`--no-drift`), interleaved
# ROUNDS times (on, off, on, off, ...) so that load changes on a shared
# machine hit both alike; wrk -c16 on loopback, single-row and 100-row
# POST /inference, DURATION seconds each after a 2 s warm-up. FSYNC=never by
# default (the prediction log's fsync would otherwise hide the cost).
# Prints every round, the medians, on/off ratios and the load average, and
# the server's CPU time per request (utime+stime from /proc over the measured
# run, divided by the requests served): on a shared machine throughput swings
# with the other load, CPU per request much less.
#   ROUNDS=3 DURATION=8 benchmarks/serve/drift_cost.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${MODELBAY_BIN:-$ROOT/build/src/modelbay}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
FSYNC=${FSYNC:-never}
WORK=$(mktemp -d /tmp/modelbay-bench-drift.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
. "$HERE/lib.sh"  # free_port, wait_http, cpu_ticks, bench_model

cd "$WORK"
bench_model "$BIN" "$WORK"
[ -f .modelbay/models/1/baseline.json ] || { echo "version 1 has no baseline: nothing to measure" >&2; exit 1; }

# measure CASE EXTRA_ARGS...: one server, single-row then 100-row requests.
declare -A SAMPLES CPU
measure() {
  local case=$1; shift
  local port; port=$(free_port)
  "$BIN" serve --host 127.0.0.1 --port "$port" --threads 2 --fsync "$FSYNC" --spool "$WORK/spool-$case" \
      --no-access-log "$@" >"serve-$case.log" 2>&1 & PID=$!
  wait_http "http://127.0.0.1:$port/ready"
  for size in one hundred; do
    WRK_BODY_FILE=plain_$size.json wrk -t2 -c16 -d2s -s "$HERE/post.lua" "http://127.0.0.1:$port/inference" >/dev/null 2>&1 || true
    local line rps t0 t1 us
    t0=$(cpu_ticks "$PID")
    line=$(WRK_BODY_FILE=plain_$size.json wrk -t2 -c16 -d"${DURATION}"s -s "$HERE/post.lua" \
        "http://127.0.0.1:$port/inference" | grep '^RESULT')
    t1=$(cpu_ticks "$PID")
    read -r _ rps _ _ _ <<<"$line"
    us=$(python3 -c "import sys; t0,t1,tick,rps,d=map(float,sys.argv[1:]); print(f'{(t1-t0)/tick*1e6/(rps*d):.1f}')" \
        "$t0" "$t1" "$TICK" "$rps" "$DURATION")
    SAMPLES[${case}_$size]="${SAMPLES[${case}_$size]:-} $rps"
    CPU[${case}_$size]="${CPU[${case}_$size]:-} $us"
    echo "    $case $size: $rps req/s, server CPU $us µs/request (load $(cut -d' ' -f1-3 /proc/loadavg))"
  done
  # The drift-on server must really have counted: its window is not empty.
  if [ "$case" = on ]; then
    curl -sf "http://127.0.0.1:$port/models/1/drift" | python3 -c \
      'import json,sys; d=json.load(sys.stdin); assert d["window"]["rows"] > 0, d; print("    drift window rows:", d["window"]["rows"])'
  fi
  kill -TERM "$PID"; wait "$PID" || true; PID=""
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
  echo "==> round $r"
  measure on
  measure off --no-drift
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "drift on vs off, $("$BIN" --version | head -1), serve --threads 2 --fsync $FSYNC --no-access-log, wrk -t2 -c16, ${DURATION} s x $ROUNDS rounds interleaved"
echo "$(nproc) cores; load average at start: $LOAD_START; at the end: $LOAD_END"
echo "| rows/request | drift on req/s (median) | drift off req/s (median) | on / off | server CPU µs/request on / off (median) | CPU on / off | every round req/s (on; off) |"
echo "|---|---|---|---|---|---|---|"
for size in one hundred; do
  python3 - "$size" "${SAMPLES[on_$size]}" "${SAMPLES[off_$size]}" "${CPU[on_$size]}" "${CPU[off_$size]}" <<'PY'
import statistics, sys
size = sys.argv[1]
on, off, con, coff = ([float(x) for x in a.split()] for a in sys.argv[2:6])
mon, moff, mcon, mcoff = (statistics.median(v) for v in (on, off, con, coff))
print(f"| {1 if size == 'one' else 100} | {mon:,.0f} | {moff:,.0f} | {mon / moff:.3f} | {mcon:.1f} / {mcoff:.1f} | "
      f"{mcon / mcoff:.3f} | {', '.join(f'{x:,.0f}' for x in on)}; {', '.join(f'{x:,.0f}' for x in off)} |")
PY
done
