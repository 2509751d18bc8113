#!/usr/bin/env bash
# `modelbay train` on 1M sample rows vs (a) the seed's Python approach and
# (b) the floor: XGBoost fit alone on pre-encoded arrays, same library, same
# parameters and threads. Wall time and peak RSS from /usr/bin/time -v.
# Writes the table to stdout and benchmarks/train/RESULTS.md.
#   ROWS=1000000 MODELBAY_BIN=build/src/modelbay benchmarks/train/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROWS=${ROWS:-1000000}
THREADS=${THREADS:-$(nproc)}
REPEAT=${REPEAT:-3}  # runs interleaved; the fastest of each is reported (the machine is shared)
BIN=${MODELBAY_BIN:-$ROOT/build/src/modelbay}
OUT=$ROOT/benchmarks/out/train
VENV=$ROOT/benchmarks/.venv-train

if [ ! -x "$BIN" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target modelbay
  BIN=$ROOT/build/src/modelbay
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pandas scikit-learn "xgboost==1.7.*" joblib
fi

rm -rf "$OUT" && mkdir -p "$OUT"
g++ -O2 -std=c++17 -o "$OUT/floor" benchmarks/train/floor.cpp -lxgboost
CSV=$OUT/churn.csv
"$BIN" sample-data --rows "$ROWS" --out "$CSV" >/dev/null
"$VENV/bin/python" benchmarks/train/prepare_floor.py "$CSV" "$OUT/floor-data"
export MODELBAY_HOME=$OUT/home
unset DATA_STORE MODEL_ARTIFACTS_STORE RESULTS_STORE
"$BIN" upload "$CSV" >/dev/null

# measure NAME CMD...: runs once, appends "NAME seconds peak_kib" to $OUT/runs.
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$OUT/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/$name.time")
  echo "$name $wall $rss" >>"$OUT/runs"
}
for _ in $(seq "$REPEAT"); do
  measure modelbay "$BIN" train --promote always --json -q
  # --promote auto with a production version (the first run made one): the
  # gate keeps the holdout's text to score production on it.
  measure modelbay-gate "$BIN" train --promote auto --json -q
  measure seed "$VENV/bin/python" benchmarks/train/seed_train.py "$CSV" "$OUT/seed-model" "$THREADS"
  measure floor "$OUT/floor" "$OUT/floor-data" "$THREADS"
done
# Fastest wall time and the peak RSS of that run, per name.
sort -k1,1 -k2,2g "$OUT/runs" | awk '!seen[$1]++' >"$OUT/times"

AUC_MB=$(python3 -c "import json,sys; print(round(json.load(open('$OUT/modelbay.out'))['metrics']['roc_auc'],4))")
AUC_SEED=$(python3 -c "import json; print(round(json.load(open('$OUT/seed-model/metadata.json'))['metrics']['roc_auc'],4))")
read -r _ MB_S MB_K < <(grep '^modelbay ' "$OUT/times")
read -r _ GATE_S GATE_K < <(grep '^modelbay-gate ' "$OUT/times")
read -r _ SEED_S SEED_K < <(grep '^seed ' "$OUT/times")
read -r _ FLOOR_S FLOOR_K < <(grep '^floor ' "$OUT/times")
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
mib() { python3 -c "print(f'{$1/1024:.0f}')"; }

{
  echo "# Training benchmark"
  echo
  echo "\`ROWS=$ROWS THREADS=$THREADS REPEAT=$REPEAT benchmarks/train/run.sh\` on $(nproc) cores, $(date -u +%Y-%m-%d);"
  echo "fastest of $REPEAT interleaved runs each (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); the machine is shared)."
  echo "Data: \`modelbay sample-data --rows $ROWS\` (Country, Count, id, churn)."
  echo "All three: XGBoost max_depth 6, eta 0.3, 100 rounds, hist, $THREADS threads, 20% holdout."
  echo
  echo "| run | what it does | wall s | peak RSS MiB | holdout AUC |"
  echo "|---|---|---|---|---|"
  echo "| modelbay | \`modelbay train\`: read CSV from the data store, infer schema, preprocess, train, 4 metrics, publish version + bundle | $MB_S | $(mib "$MB_K") | $AUC_MB |"
  echo "| modelbay, gate | the same with \`--promote auto\` and a production version to compare against (the gate keeps the holdout's text) | $GATE_S | $(mib "$GATE_K") | - |"
  echo "| seed (a) | pandas read_csv, LabelEncoder, MinMaxScaler, train_test_split, XGBClassifier (pip xgboost 1.7), joblib dump | $SEED_S | $(mib "$SEED_K") | $AUC_SEED |"
  echo "| floor (b) | XGBoost fit alone (Debian libxgboost C API) on pre-encoded float32 arrays | $FLOOR_S | $(mib "$FLOOR_K") | - |"
  echo
  echo "Ratios: modelbay / seed: time $(ratio "$MB_S" "$SEED_S"), memory $(ratio "$MB_K" "$SEED_K");" \
       "modelbay / floor: time $(ratio "$MB_S" "$FLOOR_S"), memory $(ratio "$MB_K" "$FLOOR_K")" \
       "(with the gate: time $(ratio "$GATE_S" "$FLOOR_S"), memory $(ratio "$GATE_K" "$FLOOR_K"))."
  echo "Targets: faster than the seed with less memory; issue 9: within 1.1x of the floor's time and 1.5x of its peak RSS."
} | tee benchmarks/train/RESULTS.md.new
if [ -f benchmarks/train/NOTES.md ]; then
  { echo; cat benchmarks/train/NOTES.md; } >>benchmarks/train/RESULTS.md.new
fi
mv benchmarks/train/RESULTS.md.new benchmarks/train/RESULTS.md
