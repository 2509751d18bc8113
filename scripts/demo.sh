#!/usr/bin/env bash
# `make demo`: the main job on the embedded default stores (local folders
# under ./demo-out/.modelbay, no account, no server):
#   sample data -> upload -> train -> serve the seed's POST /inference ->
#   export the seed's results_<N>.csv -> stop the server cleanly.
set -euo pipefail
BIN=${1:-build/src/modelbay}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DEMO=${DEMO_DIR:-$PWD/demo-out}
rm -rf "$DEMO" && mkdir -p "$DEMO" && cd "$DEMO"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "working in $DEMO (stores: $DEMO/.modelbay/{data,models,results})"
step "modelbay sample-data --rows 100000 --seed 7 --out churn.csv"
"$BIN" sample-data --rows 100000 --seed 7 --out churn.csv
head -3 churn.csv
step "modelbay upload churn.csv"
"$BIN" upload churn.csv
step "modelbay train"
"$BIN" train
step "modelbay models list"
"$BIN" models list

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "modelbay serve --host 127.0.0.1 --port $PORT"
"$BIN" serve --host 127.0.0.1 --port "$PORT" --threads 2 > serve.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat serve.log; exit 1; }
  sleep 0.1
done

step "the seed's request: POST /inference {\"data\": [[\"aa\", 2, 2]], \"model_version\": \"1\"}"
curl -sS -X POST "http://127.0.0.1:$PORT/inference" -H 'Content-Type: application/json' \
     -d '{"data": [["aa", 2, 2]], "model_version": "1"}'
echo
step "rows keyed by column name, default model (production)"
curl -sS -X POST "http://127.0.0.1:$PORT/inference" -H 'Content-Type: application/json' \
     -d '{"data": [{"Country": "bb", "Count": 40, "id": 7}, {"Country": "ff", "Count": 1, "id": 8}]}'
echo

step "stopping the server (SIGTERM ships the prediction log)"
kill -TERM "$SERVER"
wait "$SERVER"
trap - EXIT
tail -3 serve.log

step "modelbay results export --version 1 --out results_1.csv"
"$BIN" results export --version 1 --out results_1.csv
cat results_1.csv
printf '\nresults CSV: %s\n' "$DEMO/results_1.csv"
