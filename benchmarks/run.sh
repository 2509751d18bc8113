#!/usr/bin/env bash
# `make bench`: every benchmark, one after the other, each reporting ratios
# against its ceiling / peer / baseline. Results land in benchmarks/*/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in scorer train serve retrain predict results_file train_dist; do
  if [ -x "benchmarks/$b/run.sh" ]; then
    echo "==> benchmarks/$b"
    "benchmarks/$b/run.sh"
  else
    echo "==> benchmarks/$b: not built yet (no run.sh)"
  fi
done
