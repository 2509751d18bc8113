#!/usr/bin/env bash
# benchmarks/serve/logpath_ab.sh: A/B of two modelbay binaries on the
# prediction-log path (issue 9). `serve --threads 2 --no-access-log` with
# --fsync never and --fsync always, single-row POST /inference, wrk -t2 -c16,
# A and B interleaved ROUNDS times (A, B, A, B, ...) so that load changes on a
# shared machine hit both alike. Prints, per run, req/s, p99 and the server's
# CPU time per request (utime+stime from /proc over the measured run divided
# by the requests served: robust to other load), then the medians, with the
# load average.
#   A=/work/main/build/src/modelbay B=build/src/modelbay ROUNDS=3 DURATION=8 benchmarks/serve/logpath_ab.sh
# ACCESS_LOG=on keeps serve's default access log (to a file, as in run.sh);
# BODY=plain_hundred.json sends 100-row requests. A_ARGS / B_ARGS add serve
# flags to one side, so A=B compares flags on one binary, e.g. the p99 with
# shipping off: A=$BIN B=$BIN B_ARGS="--ship-interval-ms 3600000" POLICIES=never
# CONNS (default 16) and ROUTE (default /inference) change the load, e.g. one
# client on the v2 route: CONNS=1 ROUTE=/v2/models/default/infer BODY=v2_one.json
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
A=${A:?old binary}
B=${B:?new binary}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
POLICIES=${POLICIES:-never always}
ACCESS_LOG=${ACCESS_LOG:-off}
BODY=${BODY:-plain_one.json}
CONNS=${CONNS:-16}
ROUTE=${ROUTE:-/inference}
WRK_THREADS=$(( CONNS < 2 ? CONNS : 2 ))
SERVE_FLAGS=(--threads 2)
[ "$ACCESS_LOG" = on ] || SERVE_FLAGS+=(--no-access-log)
WORK=$(mktemp -d /tmp/modelbay-bench-logpath.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
. "$HERE/lib.sh"  # free_port, wait_http, cpu_ticks, bench_model

cd "$WORK"
bench_model "$A" "$WORK"

RESULTS=$WORK/results.txt
measure() {  # measure LABEL BIN POLICY EXTRA_ARGS
  local label=$1 bin=$2 policy=$3 extra=$4 port
  port=$(free_port)
  # shellcheck disable=SC2086  # extra: flags split on spaces on purpose
  "$bin" serve --host 127.0.0.1 --port "$port" "${SERVE_FLAGS[@]}" $extra --fsync "$policy" \
      --spool "$WORK/spool-$label-$policy" >"serve-$label.log" 2>&1 & PID=$!
  wait_http "http://127.0.0.1:$port/ready"
  WRK_BODY_FILE="$BODY" wrk -t"$WRK_THREADS" -c"$CONNS" -d2s -s "$HERE/post.lua" "http://127.0.0.1:$port$ROUTE" >/dev/null 2>&1 || true
  local line rps p50 p99 errs t0 t1 us
  t0=$(cpu_ticks "$PID")
  line=$(WRK_BODY_FILE="$BODY" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}"s -s "$HERE/post.lua" \
      "http://127.0.0.1:$port$ROUTE" | grep '^RESULT')
  t1=$(cpu_ticks "$PID")
  read -r _ rps p50 p99 errs <<<"$line"
  us=$(python3 -c "import sys; t0,t1,tick,rps,d=map(float,sys.argv[1:]); print(f'{(t1-t0)/tick*1e6/(rps*d):.1f}')" \
      "$t0" "$t1" "$TICK" "$rps" "$DURATION")
  echo "$label $policy $rps $p99 $us" >>"$RESULTS"
  echo "    $label fsync=$policy: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $errs, server CPU $us µs/request (load $(cut -d' ' -f1-3 /proc/loadavg))"
  kill -TERM "$PID"; wait "$PID" || true; PID=""
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
  echo "==> round $r"
  for policy in $POLICIES; do
    measure A "$A" "$policy" "${A_ARGS:-}"
    measure B "$B" "$policy" "${B_ARGS:-}"
  done
done
echo
echo "A=$A ${A_ARGS:-}"
echo "B=$B ${B_ARGS:-}"
echo "serve ${SERVE_FLAGS[*]}, POST $ROUTE with $BODY, wrk -t$WRK_THREADS -c$CONNS, ${DURATION} s x $ROUNDS rounds interleaved"
echo "$(nproc) cores; load average at start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, policy, rps, p99, us = line.split()
    rows[(label, policy)].append((float(rps), float(p99), float(us)))
print("| fsync | binary | req/s (median) | p99 ms (median) | server CPU µs/request (median) | every round req/s |")
print("|---|---|---|---|---|---|")
for (label, policy), v in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    med = [statistics.median(x[i] for x in v) for i in range(3)]
    print(f"| {policy} | {label} | {med[0]:,.0f} | {med[1]:.2f} | {med[2]:.1f} | {', '.join(f'{x[0]:,.0f}' for x in v)} |")
PY
