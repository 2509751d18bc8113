#!/usr/bin/env bash
# benchmarks/serve: one run, one machine, the same model, wrk on loopback,
# concurrency 16, DURATION seconds each, single-row and 100-row requests:
#   ceiling   a bare Beast hello-world, same stack and thread count (hello.cpp);
#             ceiling_shared: the same on one shared io_context (the stack
#             modelbay used before 2026-12-02), for reference only
#   modelbay  `modelbay serve --threads 2`, defaults: prediction log on
#             (--fsync always), access log on; the machine's fdatasync rate
#             (fdatasync_probe.py, 3 s appending and 3 s in place, on the spool's file system) is taken
#             before the rounds, and 1 s of direct writes (rate, p50/p99/max)
#             just before each round's case: it bounds group commit, and this
#             VM's disk changes speed between rounds
#   modelbay_nofsync  the same with --fsync never
#   modelbay_memspool  --fsync always with the spool on tmpfs (/dev/shm):
#             the same group commit, committer thread and hand-offs, with a
#             "durable" write that costs no disk time; a reference that
#             separates what the commit path costs from what the disk costs
#             (skipped where /dev/shm is missing)
#   mlflow    `mlflow models serve --env-manager local --workers 2` on an
#             sklearn Pipeline of the same preprocessing and XGBoost parameters
#   mlserver  MLServer + mlserver-xgboost serving the version's model.json
#             (the same booster) over its v2 REST endpoint, rows pre-encoded
#             (v2_bodies.py), parallel_workers MLSERVER_WORKERS (default 2)
#   seed      the seed's predict.py design (Flask, model read per request,
#             read-append-rewrite results CSV): seed_predict.py
# and issue 10's comparison: modelbay's POST /v2/models/default/infer vs
# MLServer's v2 infer, single row, at concurrency 1, 4 and 16.
# The cases the goals compare (ceiling, modelbay, modelbay_nofsync) run
# ROUNDS times (default 3), interleaved, and each figure in the table is
# the median of its rounds; a goal's ratio between two of these cases is the
# median of the rounds' own ratios (round_ratio). Load that comes and goes
# on a shared machine then hits the ceiling and modelbay alike, where one
# sequential pass could catch it in one case only. Each round starts fresh modelbay servers on an empty
# results store (see stop_modelbay). Every round's req/s is listed under the
# table.
# Writes RESULTS.md beside this script (the part above its "## Notes").
# Needs: wrk, a built modelbay (MODELBAY_BIN, default build/src/modelbay), g++
# and Boost; the Python peers live in benchmarks/.venv-mlflow and
# benchmarks/.venv-mlserver (created here with pinned versions when missing;
# SKIP_PYTHON=1 skips them).
# ONLY_MODELBAY=1 runs just the two modelbay cases and prints them (no
# RESULTS.md): for before/after comparisons of two builds, interleaved.
#   DURATION=15 benchmarks/serve/run.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${MODELBAY_BIN:-$ROOT/build/src/modelbay}
DURATION=${DURATION:-15}
ROUNDS=${ROUNDS:-3}
CONNS=16
WRK_THREADS=2
WORK=$(mktemp -d /tmp/modelbay-bench-serve.XXXXXX)
SHM_WORK=""
[ -d /dev/shm ] && [ -w /dev/shm ] && SHM_WORK=$(mktemp -d /dev/shm/modelbay-bench-serve.XXXXXX)
PIDS=()
# The servers go, and the work dir with them (its logs and results can take
# gigabytes) unless KEEP_WORK=1.
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -z "$SHM_WORK" ] || rm -rf "$SHM_WORK"
  [ "${KEEP_WORK:-0}" = 1 ] || { cd /; rm -rf "$WORK"; }
}
trap cleanup EXIT
. "$HERE/lib.sh"  # free_port, wait_http, cpu_ticks, bench_model

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
cd "$WORK"
echo "==> model: sample data (seed columns), upload, train (in $WORK)"
"$BIN" sample-data --rows 20000 --seed 7 --out churn.csv >/dev/null
"$BIN" upload churn.csv >/dev/null
"$BIN" train --quiet >/dev/null
python3 "$HERE/v2_bodies.py" .modelbay/models/1/preprocessor.json "$WORK"

declare -A RPS P50 P99 ERR ROUND_RPS ROUND_P50 ROUND_P99
ROUND_DISK=""  # each round's 1 s direct-write probe, before its --fsync always case
# run KEY URL BODY CONNS: a 2 s warm-up, then DURATION s measured. A key run
# again (rounds) keeps every run; medians() then sets its figures.
run() {
  local threads=$(( $4 < WRK_THREADS ? $4 : WRK_THREADS ))
  WRK_BODY_FILE=$3 wrk -t"$threads" -c"$4" -d2s -s "$HERE/post.lua" "$2" >/dev/null 2>&1 || true
  local line
  line=$(WRK_BODY_FILE=$3 wrk -t"$threads" -c"$4" -d"${DURATION}"s --latency -s "$HERE/post.lua" "$2" | grep '^RESULT')
  read -r _ rps p50 p99 err <<<"$line"
  RPS[$1]=$rps; P50[$1]=$p50; P99[$1]=$p99; ERR[$1]=$(( ${ERR[$1]:-0} + err ))
  ROUND_RPS[$1]+="$rps "; ROUND_P50[$1]+="$p50 "; ROUND_P99[$1]+="$p99 "
  echo "    $1: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $err"
}
# median DIGITS VALUES: the median of the space-separated VALUES.
median() { python3 -c "import statistics,sys; print(f'{statistics.median(float(x) for x in sys.argv[2:]):.{sys.argv[1]}f}')" "$1" $2; }
# medians KEY...: each figure of KEY is the median of its rounds.
medians() {
  for k in "$@"; do
    [ -n "${ROUND_RPS[$k]:-}" ] || continue
    RPS[$k]=$(median 1 "${ROUND_RPS[$k]}"); P50[$k]=$(median 3 "${ROUND_P50[$k]}"); P99[$k]=$(median 3 "${ROUND_P99[$k]}")
  done
}
# bench NAME URL KIND: single-row and 100-row requests at CONNS.
bench() {
  for size in one hundred; do run "$1_$size" "$2" "$3_$size.json" "$CONNS"; done
}
# v2_levels NAME URL KIND: single row at concurrency 1, 4, 16 (issue 10).
v2_levels() {
  for c in 1 4 16; do run "$1_c$c" "$2" "$3_one.json" "$c"; done
}

if [ "${ONLY_MODELBAY:-0}" != 1 ]; then
  g++ -std=c++20 -O2 -DNDEBUG -o hello "$HERE/hello.cpp" -lpthread
  echo "==> for reference: Beast hello-world on the stack modelbay used before (one io_context, 2 threads)"
  PORT=$(free_port); ./hello "$PORT" 2 shared & PIDS+=($!)
  sleep 0.5; wait_http "http://127.0.0.1:$PORT/"
  bench ceiling_shared "http://127.0.0.1:$PORT/inference" plain
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
  echo "==> ceiling: Beast hello-world, 2 threads (up for the rounds)"
  CEILING_PORT=$(free_port); ./hello "$CEILING_PORT" 2 & CEILING_PID=$!; PIDS+=($CEILING_PID)
  sleep 0.5; wait_http "http://127.0.0.1:$CEILING_PORT/"
fi

echo "==> fdatasync probe (3 s each way, on the spool's file system)"
FDATASYNC=$(python3 "$HERE/fdatasync_probe.py" "$WORK" 3)
echo "    $FDATASYNC"

# modelbay NAME [serve flags]: a fresh `modelbay serve --threads 2` on a free
# port (MB_PORT, MB_PID), spooling in ${SPOOL_IN:-$WORK}/spool-NAME, its log
# in NAME.log.
modelbay() {
  local name=$1; shift
  MB_PORT=$(free_port)
  "$BIN" serve --host 127.0.0.1 --port "$MB_PORT" --threads 2 --spool "${SPOOL_IN:-$WORK}/spool-$name" "$@" >"$name.log" 2>&1 &
  MB_PID=$!; PIDS+=($MB_PID)
  wait_http "http://127.0.0.1:$MB_PORT/ready"
}
# stop_modelbay NAME: SIGTERM, which ships the log and updates results_1.csv
# (not timed), then the results store's files go: each round's servers
# start from an empty results store, so that no results_1.csv update (a
# server's default is one a minute, and its cost grows with the file) falls
# into one case's measurement and not another's.
stop_modelbay() {
  kill -TERM "$MB_PID"; wait "$MB_PID" || { echo "serve did not exit cleanly" >&2; tail "$1.log" >&2; }
  rm -rf .modelbay/results
}

echo "==> issue 10's levels: modelbay serve --threads 2 (defaults: prediction log on, --fsync always, access log on)"
if [ "${ONLY_MODELBAY:-0}" != 1 ]; then
  modelbay v2
  v2_levels modelbay_v2 "http://127.0.0.1:$MB_PORT/v2/models/default/infer" v2
  stop_modelbay v2
fi

for round in $(seq 1 "$ROUNDS"); do
  echo "==> round $round of $ROUNDS: ceiling, modelbay serve --threads 2 (defaults: prediction log on, --fsync always, access log on), the same with --fsync never (logged, survives a crash, not power loss), --fsync always with the spool on tmpfs"
  if [ "${ONLY_MODELBAY:-0}" != 1 ]; then bench ceiling "http://127.0.0.1:$CEILING_PORT/inference" plain; fi
  DISK=$(WAYS=direct python3 "$HERE/fdatasync_probe.py" "$WORK" 1 | sed 's/.*direct //')
  ROUND_DISK+="  - round $round: $DISK"$'\n'
  echo "    disk just before: $DISK"
  modelbay always
  bench modelbay "http://127.0.0.1:$MB_PORT/inference" plain
  stop_modelbay always
  modelbay never --fsync never
  bench modelbay_nofsync "http://127.0.0.1:$MB_PORT/inference" plain
  stop_modelbay never
  if [ -n "$SHM_WORK" ]; then
    SPOOL_IN=$SHM_WORK modelbay memspool
    bench modelbay_memspool "http://127.0.0.1:$MB_PORT/inference" plain
    stop_modelbay memspool
  fi
done
medians ceiling_one ceiling_hundred modelbay_one modelbay_hundred modelbay_nofsync_one modelbay_nofsync_hundred
[ -z "$SHM_WORK" ] || medians modelbay_memspool_one modelbay_memspool_hundred
[ "${ONLY_MODELBAY:-0}" = 1 ] || { kill "$CEILING_PID"; wait "$CEILING_PID" 2>/dev/null || true; }
if [ "${ONLY_MODELBAY:-0}" = 1 ]; then
  for k in modelbay_one modelbay_hundred modelbay_nofsync_one modelbay_nofsync_hundred modelbay_memspool_one modelbay_memspool_hundred; do
    [ -n "${RPS[$k]:-}" ] || continue
    echo "$k (median of $ROUNDS): ${RPS[$k]} req/s, p50 ${P50[$k]} ms, p99 ${P99[$k]} ms"
  done
fi

[ "${ONLY_MODELBAY:-0}" = 1 ] && exit 0

# kill_tree PID: the process and its children (gunicorn/uvicorn workers).
# MLServer 1.7 can ignore SIGTERM while its workers drain: after 10 s, SIGKILL.
kill_tree() {
  pkill -TERM -P "$1" 2>/dev/null || true; kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  pkill -KILL -P "$1" 2>/dev/null || true; kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

if [ "${SKIP_PYTHON:-0}" != 1 ]; then
  VENV=$ROOT/benchmarks/.venv-mlflow
  if [ ! -x "$VENV/bin/mlflow" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "mlflow==2.17.2" "xgboost==2.1.3" flask scikit-learn pandas
  fi
  echo "==> mlflow models serve --env-manager local --workers 2"
  "$VENV/bin/python" "$HERE/mlflow_model.py" churn.csv .modelbay/models/1/preprocessor.json \
      .modelbay/models/1/metadata.json mlflow_model >/dev/null
  PORT=$(free_port)
  # mlflow starts gunicorn by name: the venv's bin must be on PATH.
  PATH="$VENV/bin:$PATH" "$VENV/bin/mlflow" models serve -m mlflow_model --env-manager local --workers 2 \
      -h 127.0.0.1 -p "$PORT" >mlflow.log 2>&1 & PIDS+=($!)
  wait_http "http://127.0.0.1:$PORT/ping"
  bench mlflow "http://127.0.0.1:$PORT/invocations" mlflow
  kill_tree "${PIDS[-1]}"

  MS_VENV=$ROOT/benchmarks/.venv-mlserver
  if [ ! -x "$MS_VENV/bin/mlserver" ]; then
    python3 -m venv "$MS_VENV"
    # uvloop 0.22+ breaks MLServer 1.7's parallel workers (no event loop in
    # the worker's main thread); pandas 3 is newer than MLServer 1.7.
    "$MS_VENV/bin/pip" install -q "mlserver==1.7.1" "mlserver-xgboost==1.7.1" "xgboost==2.1.3" \
        "uvloop==0.21.0" "pandas==2.2.3" "numpy==2.1.3"
  fi
  echo "==> MLServer $("$MS_VENV/bin/pip" show mlserver 2>/dev/null | awk '/^Version/ {print $2}') + mlserver-xgboost, the same model.json, parallel_workers ${MLSERVER_WORKERS:-2}"
  mkdir -p mlserver/churn
  cp .modelbay/models/1/model.json mlserver/churn/model.json
  PORT=$(free_port); GRPC=$(free_port); METRICS=$(free_port)
  cat >mlserver/settings.json <<JSON
{"host": "127.0.0.1", "http_port": $PORT, "grpc_port": $GRPC, "metrics_port": $METRICS,
 "parallel_workers": ${MLSERVER_WORKERS:-2}, "debug": false}
JSON
  cat >mlserver/churn/model-settings.json <<JSON
{"name": "churn", "implementation": "mlserver_xgboost.XGBoostModel",
 "parameters": {"uri": "./model.json", "version": "1"}}
JSON
  PATH="$MS_VENV/bin:$PATH" "$MS_VENV/bin/mlserver" start mlserver >mlserver.log 2>&1 & PIDS+=($!)
  wait_http "http://127.0.0.1:$PORT/v2/models/churn/ready"
  # The same booster: its probability for the one row must be modelbay's.
  MS_OUT=$(curl -sf -X POST -H 'Content-Type: application/json' -d @mlserver_one.json \
      "http://127.0.0.1:$PORT/v2/models/churn/infer" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outputs"][0]["data"])')
  echo "    MLServer's output for the one row: $MS_OUT"
  bench mlserver "http://127.0.0.1:$PORT/v2/models/churn/infer" mlserver
  v2_levels mlserver_v2 "http://127.0.0.1:$PORT/v2/models/churn/infer" mlserver
  kill_tree "${PIDS[-1]}"

  echo "==> the seed's predict.py design (Flask)"
  PORT=$(free_port); mkdir -p seed_results
  "$VENV/bin/python" "$HERE/seed_predict.py" .modelbay/models seed_results "$PORT" >seed.log 2>&1 & PIDS+=($!)
  sleep 1; for _ in $(seq 1 100); do curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d @plain_one.json "http://127.0.0.1:$PORT/inference" && break; sleep 0.2; done
  rm -f seed_results/*
  bench seed "http://127.0.0.1:$PORT/inference" plain
  kill "${PIDS[-1]}"
fi

ratio() { python3 -c "import sys; a,b=sys.argv[1:3]; print(f'{float(a)/float(b):.2f}' if a and b and float(b) else 'n/a')" "${1:-}" "${2:-}"; }
# rows/s of 100-row requests over rows/s of single-row ones
# round_ratio SCALE DIGITS KEY_A KEY_B: the median over the rounds of
# SCALE x A's req/s / B's req/s, each round's A against the same round's B
# (measured minutes apart at most); prints "MEDIANx (rounds: R1x, R2x, ...)".
round_ratio() {
  python3 - "$1" "$2" "${ROUND_RPS[$3]:-}" "${ROUND_RPS[$4]:-}" <<'PY'
import statistics, sys
scale, digits = float(sys.argv[1]), int(sys.argv[2])
a, b = sys.argv[3].split(), sys.argv[4].split()
r = [scale * float(x) / float(y) for x, y in zip(a, b) if float(y)]
print(f"{statistics.median(r):.{digits}f}x (rounds: {', '.join(f'{v:.{digits}f}x' for v in r)})" if r else "n/a")
PY
}
verdict() { python3 -c "import sys; v,op,g=sys.argv[1:4]; print('n/a' if v in ('','n/a') else ('met' if (float(v)>=float(g) if op=='>=' else float(v)<=float(g)) else 'missed'))" "$1" "$2" "$3"; }
HEAD_NOTES=""
[ -f "$HERE/RESULTS.md" ] && HEAD_NOTES=$(sed -n '/^## Notes/,$p' "$HERE/RESULTS.md")
{
  echo "# benchmarks/serve results"
  echo
  echo "Command: \`DURATION=$DURATION ROUNDS=$ROUNDS benchmarks/serve/run.sh\` (wrk -t$WRK_THREADS -c$CONNS unless a row says otherwise, ${DURATION} s after a 2 s warm-up, loopback)."
  echo "ceiling, modelbay and modelbay_nofsync: the median of $ROUNDS interleaved rounds (each figure on its own; every round's req/s below the table)."
  echo "Machine: $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ); load average at start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Model: version 1 trained by \`modelbay train\` on \`sample-data --rows 20000 --seed 7\` (seed columns)."
  echo "modelbay: $("$BIN" --version 2>/dev/null | head -1), \`serve --threads 2\` with its defaults (access log on)."
  echo "fdatasync probe before the rounds: $FDATASYNC"
  echo
  echo "| server | rows/request | req/s | p50 ms | p99 ms | errors | modelbay req/s ÷ this |"
  echo "|---|---|---|---|---|---|---|"
  for s in ceiling ceiling_shared modelbay modelbay_nofsync modelbay_memspool mlflow mlserver seed; do
    for size in one hundred; do
      k=${s}_$size; [ -n "${RPS[$k]:-}" ] || continue
      n=$([ $size = one ] && echo 1 || echo 100)
      echo "| $s | $n | ${RPS[$k]} | ${P50[$k]} | ${P99[$k]} | ${ERR[$k]} | $(ratio "${RPS[modelbay_$size]:-}" "${RPS[$k]}") |"
    done
  done
  echo
  echo "Every round's req/s (in round order):"
  echo
  for k in ceiling_one ceiling_hundred modelbay_one modelbay_hundred modelbay_nofsync_one modelbay_nofsync_hundred modelbay_memspool_one modelbay_memspool_hundred; do
    [ -n "${ROUND_RPS[$k]:-}" ] && echo "- $k: ${ROUND_RPS[$k]% }"
  done
  echo
  echo "Issue 10: Open Inference Protocol (v2) infer, single row, modelbay's \`POST /v2/models/default/infer\` (log on, --fsync always) vs MLServer's (rows pre-encoded):"
  echo
  echo "| concurrency | modelbay req/s | modelbay p99 ms | MLServer req/s | MLServer p99 ms | modelbay ÷ MLServer |"
  echo "|---|---|---|---|---|---|"
  for c in 1 4 16; do
    echo "| $c | ${RPS[modelbay_v2_c$c]:-n/a} | ${P99[modelbay_v2_c$c]:-n/a} | ${RPS[mlserver_v2_c$c]:-n/a} | ${P99[mlserver_v2_c$c]:-n/a} | $(ratio "${RPS[modelbay_v2_c$c]:-}" "${RPS[mlserver_v2_c$c]:-}") |"
  done
  echo
  NEVER_R=$(round_ratio 1 2 modelbay_nofsync_one ceiling_one); NEVER=${NEVER_R%%x*}
  ALWAYS_R=$(round_ratio 1 2 modelbay_one ceiling_one); ALWAYS=${ALWAYS_R%%x*}
  MLF=$(ratio "${RPS[modelbay_one]:-}" "${RPS[mlflow_one]:-}")
  MLS=$(ratio "${RPS[modelbay_one]:-}" "${RPS[mlserver_one]:-}")
  ROWS_R=$(round_ratio 100 1 modelbay_hundred modelbay_one); ROWS=${ROWS_R%%x*}
  echo "Issue 9's goals (single row, wrk -c16, 2 threads; modelbay with its defaults unless said). A ratio between two cases of the rounds is the median of the rounds' ratios (each round's listed after it), not the ratio of the medians above:"
  echo
  echo "- \`--fsync never\` >= 0.6x the ceiling: $NEVER_R, $(verdict "$NEVER" '>=' 0.6); p99 <= 1 ms: ${P99[modelbay_nofsync_one]:-n/a} ms, $(verdict "${P99[modelbay_nofsync_one]:-}" '<=' 1) (the ceiling's own p99: ${P99[ceiling_one]:-n/a} ms)"
  echo "- \`--fsync always\` >= 0.4x the ceiling: $ALWAYS_R, $(verdict "$ALWAYS" '>=' 0.4); the disk just before each round's case (1 s of direct durable writes):"
  printf '%s' "$ROUND_DISK"
  if [ -n "$SHM_WORK" ]; then
    echo "- for reference, \`--fsync always\` with the spool on tmpfs (the same commit path; the write costs no disk time): $(round_ratio 1 2 modelbay_memspool_one ceiling_one) the ceiling; p99 ${P99[modelbay_memspool_one]:-n/a} ms"
  fi
  echo "- >= 100x MLflow with 2 workers: $MLF x ($(verdict "$MLF" '>=' 100))"
  echo "- ahead of MLServer: $MLS x ($(verdict "$MLS" '>=' 1))"
  echo "- 100-row requests >= 30x the rows/s of single-row requests: $ROWS_R, $(verdict "$ROWS" '>=' 30)"
  if [ -n "$HEAD_NOTES" ]; then echo; echo "$HEAD_NOTES"; fi
} > "$HERE/RESULTS.md.new"
mv "$HERE/RESULTS.md.new" "$HERE/RESULTS.md"
sed -n '1,/^## Notes/p' "$HERE/RESULTS.md"
