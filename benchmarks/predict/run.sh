#!/usr/bin/env bash
# benchmarks/predict: `modelbay predict` on ROWS rows (default 1,000,000)
# with 1 and 2 scoring threads, against
#   floor   XGBoost's own in-place prediction (C API, same library) on the same
#           rows already encoded, with the same threads, in one call (floor.cpp)
#   mlflow  `mlflow models predict` on the same CSV (sklearn Pipeline of the same
#           preprocessing and XGBoost parameters, benchmarks/serve/mlflow_model.py),
#           when benchmarks/.venv-mlflow exists (benchmarks/serve creates it)
# modelbay's time includes reading and writing CSV and logging every row to
# the prediction log (--fsync never; its spool is shipped before exit).
# Writes RESULTS.md beside this script.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${MODELBAY_BIN:-$ROOT/build/src/modelbay}
ROWS=${ROWS:-1000000}
WORK=$(mktemp -d /tmp/modelbay-bench-predict.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
now() { date +%s.%N; }
rate() { python3 -c "import sys; print(f'{int(sys.argv[1])/float(sys.argv[2]):.0f}')" "$1" "$2"; }
ratio() { python3 -c "import sys; a,b=sys.argv[1:3]; print(f'{float(a)/float(b):.2f}' if a and b and float(b) else 'n/a')" "${1:-}" "${2:-}"; }

echo "==> model and input ($ROWS rows) in $WORK"
"$BIN" sample-data --rows 20000 --seed 7 --out churn.csv >/dev/null
"$BIN" upload churn.csv >/dev/null
"$BIN" train --quiet >/dev/null
"$BIN" sample-data --rows "$ROWS" --seed 11 --out input.csv >/dev/null

declare -A RATE
for t in 1 2; do
  echo "==> modelbay predict --threads $t"
  start=$(now)
  "$BIN" predict input.csv --version 1 --threads "$t" --fsync never --out "out$t.csv" --spool "spool$t" 2>/dev/null >/dev/null
  RATE[modelbay_$t]=$(rate "$ROWS" "$(python3 -c "print($(now) - $start)")")
  echo "    ${RATE[modelbay_$t]} rows/s"
done
cmp out1.csv out2.csv && echo "    1 and 2 threads: identical output"

echo "==> floor: XGBoost in-place prediction on the encoded rows"
g++ -std=c++20 -O2 -DNDEBUG -o floor "$HERE/floor.cpp" -lxgboost
python3 "$HERE/encode.py" input.csv .modelbay/models/1/preprocessor.json encoded
for t in 1 2; do
  read -r n secs < <(./floor .modelbay/models/1/model.json encoded "$t")
  RATE[floor_$t]=$(rate "$n" "$secs")
  echo "    floor $t thread(s): ${RATE[floor_$t]} rows/s"
done

VENV=$ROOT/benchmarks/.venv-mlflow
if [ "${SKIP_PYTHON:-0}" != 1 ] && [ -x "$VENV/bin/mlflow" ]; then
  echo "==> mlflow models predict"
  "$VENV/bin/python" "$ROOT/benchmarks/serve/mlflow_model.py" churn.csv .modelbay/models/1/preprocessor.json \
      .modelbay/models/1/metadata.json mlflow_model >/dev/null
  python3 -c "import csv,sys; r=csv.reader(open('input.csv')); w=csv.writer(open('features.csv','w',newline=''))
h=next(r); k=[h.index(c) for c in ('Country','Count','id')]; w.writerow([h[i] for i in k])
for x in r: w.writerow([x[i] for i in k])"
  start=$(now)
  if PATH="$VENV/bin:$PATH" "$VENV/bin/mlflow" models predict -m mlflow_model -i features.csv -t csv \
      -o mlflow_out.json --env-manager local >mlflow.log 2>&1; then
    RATE[mlflow]=$(rate "$ROWS" "$(python3 -c "print($(now) - $start)")")
    echo "    mlflow: ${RATE[mlflow]} rows/s"
  else
    echo "    mlflow models predict failed:"; tail -5 mlflow.log
  fi
fi

{
  echo "# benchmarks/predict results"
  echo
  echo "Command: \`benchmarks/predict/run.sh\` (ROWS=$ROWS)."
  echo "Machine: $(nproc) cores, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Model: version 1 trained by \`modelbay train\` on \`sample-data --rows 20000 --seed 7\`; input \`sample-data --rows $ROWS --seed 11\`."
  echo
  echo "| run | threads | rows/s | modelbay ÷ this |"
  echo "|---|---|---|---|"
  for t in 1 2; do
    echo "| modelbay predict (CSV in/out, every row logged) | $t | ${RATE[modelbay_$t]} | 1.00 |"
    echo "| floor: XGBoost inplace predict on encoded rows | $t | ${RATE[floor_$t]} | $(ratio "${RATE[modelbay_$t]}" "${RATE[floor_$t]}") |"
  done
  [ -n "${RATE[mlflow]:-}" ] && echo "| mlflow models predict | ? | ${RATE[mlflow]} | $(ratio "${RATE[modelbay_1]}" "${RATE[mlflow]}") (1 thread) |"
  echo
  echo "Goals: ≥ 0.8× the floor → $(ratio "${RATE[modelbay_1]}" "${RATE[floor_1]}") (1 thread), $(ratio "${RATE[modelbay_2]}" "${RATE[floor_2]}") (2 threads);"
  echo "2 threads ≥ 1.7× 1 thread → $(ratio "${RATE[modelbay_2]}" "${RATE[modelbay_1]}")×."
} > "$HERE/RESULTS.md"
cat "$HERE/RESULTS.md"
