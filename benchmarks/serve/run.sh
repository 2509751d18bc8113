#!/usr/bin/env bash
# benchmarks/serve: one run, one machine, the same model, wrk on loopback,
# concurrency 16, DURATION seconds each, single-row and 100-row requests:
#   modelbay  `modelbay serve --threads 2`, prediction log on (fsync always)
#   ceiling   a bare Beast hello-world, same stack and thread count (hello.cpp)
#   mlflow    `mlflow models serve --env-manager local` on an sklearn Pipeline
#             of the same preprocessing and XGBoost parameters
#   seed      the seed's predict.py design (Flask, model read per request,
#             read-append-rewrite results CSV): seed_predict.py
# Writes RESULTS.md beside this script. Needs: wrk, a built modelbay
# (MODELBAY_BIN, default build/src/modelbay), g++ and Boost; the Python peers
# need benchmarks/.venv-mlflow (created here when missing; SKIP_PYTHON=1 skips).
# ONLY_MODELBAY=1 runs just the two modelbay cases and prints them (no
# RESULTS.md): for before/after comparisons of two builds, interleaved.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${MODELBAY_BIN:-$ROOT/build/src/modelbay}
DURATION=${DURATION:-15}
CONNS=16
WRK_THREADS=2
WORK=$(mktemp -d /tmp/modelbay-bench-serve.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 600); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "not up: $1" >&2; return 1; }

cd "$WORK"
echo "==> model: sample data (seed columns), upload, train (in $WORK)"
"$BIN" sample-data --rows 20000 --seed 7 --out churn.csv >/dev/null
"$BIN" upload churn.csv >/dev/null
"$BIN" train --quiet >/dev/null
python3 - <<'PY'
import json
one = {"data": [["aa", 2, 2]], "model_version": "1"}
hundred = {"data": [[["aa", "bb", "cc"][i % 3], i % 50, i] for i in range(100)], "model_version": "1"}
json.dump(one, open("one.json", "w")); json.dump(hundred, open("hundred.json", "w"))
# MLflow's scoring protocol wants the rows as a split-orient frame.
cols = ["Country", "Count", "id"]
json.dump({"dataframe_split": {"columns": cols, "data": one["data"]}}, open("mlflow_one.json", "w"))
json.dump({"dataframe_split": {"columns": cols, "data": hundred["data"]}}, open("mlflow_hundred.json", "w"))
PY

declare -A RPS P50 P99 ERR
bench() {  # name url body_file
  for size in one hundred; do
    local body=$3_$size.json; [ "$3" = plain ] && body=$size.json
    # A short warm-up, then the measured run.
    WRK_BODY_FILE=$body wrk -t$WRK_THREADS -c$CONNS -d2s -s "$HERE/post.lua" "$2" >/dev/null 2>&1 || true
    local line
    line=$(WRK_BODY_FILE=$body wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s --latency -s "$HERE/post.lua" "$2" | grep '^RESULT')
    read -r _ rps p50 p99 err <<<"$line"
    RPS[$1_$size]=$rps; P50[$1_$size]=$p50; P99[$1_$size]=$p99; ERR[$1_$size]=$err
    echo "    $1 $size-row: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $err"
  done
}

if [ "${ONLY_MODELBAY:-0}" != 1 ]; then
  echo "==> ceiling: Beast hello-world, 2 threads"
  g++ -std=c++20 -O2 -DNDEBUG -o hello "$HERE/hello.cpp" -lpthread
  PORT=$(free_port); ./hello "$PORT" 2 & PIDS+=($!)
  sleep 0.5; wait_http "http://127.0.0.1:$PORT/"
  bench ceiling "http://127.0.0.1:$PORT/inference" plain
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
fi

echo "==> modelbay serve --threads 2 (prediction log on, --fsync always)"
PORT=$(free_port)
"$BIN" serve --host 127.0.0.1 --port "$PORT" --threads 2 --spool "$WORK/spool" >serve.log 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/ready"
bench modelbay "http://127.0.0.1:$PORT/inference" plain
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" || { echo "serve did not exit cleanly" >&2; tail serve.log >&2; }

echo "==> modelbay serve --threads 2 --fsync never (logged, survives a crash, not power loss)"
PORT=$(free_port)
"$BIN" serve --host 127.0.0.1 --port "$PORT" --threads 2 --fsync never --spool "$WORK/spool2" >serve2.log 2>&1 & PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/ready"
bench modelbay_nofsync "http://127.0.0.1:$PORT/inference" plain
kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" || { echo "serve did not exit cleanly" >&2; tail serve2.log >&2; }

[ "${ONLY_MODELBAY:-0}" = 1 ] && exit 0

if [ "${SKIP_PYTHON:-0}" != 1 ]; then
  VENV=$ROOT/benchmarks/.venv-mlflow
  if [ ! -x "$VENV/bin/mlflow" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "mlflow==2.17.2" "xgboost==2.1.3" flask scikit-learn pandas
  fi
  echo "==> mlflow models serve --env-manager local"
  "$VENV/bin/python" "$HERE/mlflow_model.py" churn.csv .modelbay/models/1/preprocessor.json \
      .modelbay/models/1/metadata.json mlflow_model >/dev/null
  PORT=$(free_port)
  # mlflow starts gunicorn by name: the venv's bin must be on PATH.
  PATH="$VENV/bin:$PATH" "$VENV/bin/mlflow" models serve -m mlflow_model --env-manager local -h 127.0.0.1 -p "$PORT" >mlflow.log 2>&1 & PIDS+=($!)
  wait_http "http://127.0.0.1:$PORT/ping"
  bench mlflow "http://127.0.0.1:$PORT/invocations" mlflow
  kill "${PIDS[-1]}"; pkill -P "${PIDS[-1]}" 2>/dev/null || true

  echo "==> the seed's predict.py design (Flask)"
  PORT=$(free_port); mkdir -p seed_results
  "$VENV/bin/python" "$HERE/seed_predict.py" .modelbay/models seed_results "$PORT" >seed.log 2>&1 & PIDS+=($!)
  sleep 1; for _ in $(seq 1 100); do curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' -d @one.json "http://127.0.0.1:$PORT/inference" && break; sleep 0.2; done
  rm -f seed_results/*
  bench seed "http://127.0.0.1:$PORT/inference" plain
  kill "${PIDS[-1]}"
fi

ratio() { python3 -c "import sys; a,b=sys.argv[1:3]; print(f'{float(a)/float(b):.2f}' if a and b and float(b) else 'n/a')" "${1:-}" "${2:-}"; }
{
  echo "# benchmarks/serve results"
  echo
  echo "Command: \`benchmarks/serve/run.sh\` (DURATION=$DURATION s per run, wrk -t$WRK_THREADS -c$CONNS, loopback)."
  echo "Machine: $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Model: version 1 trained by \`modelbay train\` on \`sample-data --rows 20000 --seed 7\` (seed columns)."
  echo
  echo "| server | rows/request | req/s | p50 ms | p99 ms | errors | modelbay req/s ÷ this |"
  echo "|---|---|---|---|---|---|---|"
  for s in ceiling modelbay modelbay_nofsync mlflow seed; do
    for size in one hundred; do
      k=${s}_$size; [ -n "${RPS[$k]:-}" ] || continue
      n=$([ $size = one ] && echo 1 || echo 100)
      echo "| $s | $n | ${RPS[$k]} | ${P50[$k]} | ${P99[$k]} | ${ERR[$k]} | $(ratio "${RPS[modelbay_$size]:-}" "${RPS[$k]}") |"
    done
  done
  echo
  echo "Targets (single row): modelbay ≥ 30% of the ceiling → $(ratio "${RPS[modelbay_one]:-}" "${RPS[ceiling_one]:-}") of it;"
  echo "≥ 10× MLflow → $(ratio "${RPS[modelbay_one]:-}" "${RPS[mlflow_one]:-}")×; p99 ≤ 2 ms → ${P99[modelbay_one]:-n/a} ms."
} > "$HERE/RESULTS.md"
cat "$HERE/RESULTS.md"
