#!/usr/bin/env bash
# Distributed training on loopback: `modelbay train --workers N` for N = 1, 2, 4
# on the same 2M sample rows (split over 8 objects), against single-process
# `modelbay train`. Wall time from /usr/bin/time; the peak RSS of each worker
# from the launcher's wait4 (it logs "worker i finished (peak RSS X MiB)").
# This machine has 2 cores: N workers share them, so the time cannot fall
# below the single process's; what falls is each worker's memory.
# Writes the table to stdout and benchmarks/train_dist/RESULTS.md.
#   ROWS=2000000 ROUNDS=50 MODELBAY_BIN=build/src/modelbay benchmarks/train_dist/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROWS=${ROWS:-2000000}
ROUNDS=${ROUNDS:-50}
PARTS=${PARTS:-8}
BIN=${MODELBAY_BIN:-$ROOT/build/src/modelbay}
OUT=$ROOT/benchmarks/out/train_dist

if [ ! -x "$BIN" ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" --target modelbay
  BIN=$ROOT/build/src/modelbay
fi
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }

rm -rf "$OUT" && mkdir -p "$OUT/parts"
export MODELBAY_HOME=$OUT/home
unset DATA_STORE MODEL_ARTIFACTS_STORE RESULTS_STORE
"$BIN" sample-data --rows "$ROWS" --out "$OUT/all.csv" >/dev/null
# PARTS objects of equal rows, each with the header.
tail -n +2 "$OUT/all.csv" >"$OUT/body.csv"
split -n "l/$PARTS" -d "$OUT/body.csv" "$OUT/parts/body-" && rm "$OUT/body.csv"
for f in "$OUT"/parts/body-*; do
  { head -1 "$OUT/all.csv"; cat "$f"; } >"$OUT/parts/churn-${f##*-}.csv" && rm "$f"
  "$BIN" upload "$OUT/parts/churn-${f##*-}.csv" >/dev/null
done
rm "$OUT/all.csv"
echo "{\"num_boost_round\": $ROUNDS}" >"$OUT/params.json"

# run NAME ARGS...: one training; prints "NAME seconds peak_rss_per_worker_mib..."
run() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" \
    "$BIN" train --data all --params "$OUT/params.json" --promote never --json "$@" \
    >"$OUT/$name.out" 2>"$OUT/$name.err"
  local secs rss
  secs=$(cut -d' ' -f1 "$OUT/$name.time")
  if grep -q "peak RSS" "$OUT/$name.err"; then
    rss=$(grep -o "peak RSS [0-9]* MiB" "$OUT/$name.err" | awk '{print $3}' | paste -sd/)
  else
    rss=$(( $(cut -d' ' -f2 "$OUT/$name.time") / 1024 ))
  fi
  local auc
  auc=$(python3 -c "import json,sys; print(round(json.load(open(sys.argv[1]))['metrics']['roc_auc'], 4))" "$OUT/$name.out")
  echo "$name $secs $rss $auc"
}

{
  run single
  run workers-1 --workers 1
  run workers-2 --workers 2
  run workers-4 --workers 4
} | tee "$OUT/runs"

single_secs=$(awk '$1=="single"{print $2}' "$OUT/runs")
single_rss=$(awk '$1=="single"{print $3}' "$OUT/runs")
{
  echo "# Distributed training on loopback ($ROWS rows in $PARTS objects, $ROUNDS rounds, $(nproc) cores)"
  echo
  echo "Command: \`ROWS=$ROWS ROUNDS=$ROUNDS PARTS=$PARTS benchmarks/train_dist/run.sh\` ($(date -u +%Y-%m-%d))"
  echo
  echo "| run | wall s | vs single | peak RSS per worker (MiB) | max worker RSS vs single | holdout AUC |"
  echo "|---|---|---|---|---|---|"
  while read -r name secs rss auc; do
    max=$(echo "$rss" | tr / '\n' | sort -n | tail -1)
    echo "| $name | $secs | $(awk -v a="$secs" -v b="$single_secs" 'BEGIN{printf "%.2fx", a/b}') | $rss |" \
         "$(awk -v a="$max" -v b="$single_rss" 'BEGIN{printf "%.2fx", a/b}') | $auc |"
  done <"$OUT/runs"
  echo
  echo "The machine has $(nproc) cores shared by every worker (and, on a shared machine, by other"
  echo "jobs), so N workers cannot train faster than one process here; the speed-up needs N machines."
  echo "What the table shows is the memory: each worker holds only its share of the rows."
} >benchmarks/train_dist/RESULTS.md
cat benchmarks/train_dist/RESULTS.md
