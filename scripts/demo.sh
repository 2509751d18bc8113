#!/usr/bin/env bash
# The main job on the embedded default stores (local folders, no account):
# sample data -> upload -> train -> show the new version.
set -euo pipefail
BIN=${1:-build/src/modelbay}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DEMO=${DEMO_DIR:-$PWD/demo-out}
rm -rf "$DEMO" && mkdir -p "$DEMO" && cd "$DEMO"
echo "==> working in $DEMO (stores under $DEMO/.modelbay)"
echo "==> modelbay sample-data --rows 100000 --seed 7 --out churn.csv"
"$BIN" sample-data --rows 100000 --seed 7 --out churn.csv
echo "==> modelbay upload churn.csv"
"$BIN" upload churn.csv
echo "==> modelbay train"
"$BIN" train
echo "==> modelbay models list"
"$BIN" models list
