#!/usr/bin/env bash
# Scorer micro-benchmark (issue 9): modelbay's forest scorer vs XGBoost's C
# API on the model `modelbay train` makes on `modelbay sample-data` (100
# rounds, depth 6, 20k training rows), 1 / 100 / 100,000 rows per call, one
# thread. Turns on -DMODELBAY_BUILD_BENCHMARKS in build/ (RelWithDebInfo, as
# `make build`; BUILD=dir for another) and writes benchmarks/scorer/RESULTS.md.
#   benchmarks/scorer/run.sh [REPETITIONS]   (default 5; the median is reported)
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-5}
build=${BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELBAY_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" --target scorer_bench -j "${JOBS:-2}"
out=$build/scorer.json
"$build"/benchmarks/scorer_bench --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json >/dev/null
python3 - "$out" "$reps" > benchmarks/scorer/RESULTS.md <<'PY'
import json, os, sys
doc = json.load(open(sys.argv[1]))
med = {b["run_name"]: b for b in doc["benchmarks"] if b.get("aggregate_name") == "median"}
def ns(name): return med[name]["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6}[med[name]["time_unit"]]
load = os.getloadavg()[0]
print("# Scorer micro-benchmark\n")
print(f"Reproduce: `benchmarks/scorer/run.sh {sys.argv[2]}` (median of {sys.argv[2]} repetitions; "
      f"machine: {doc['context']['num_cpus']} CPUs, load average {load:.1f} when it finished).\n")
print("Model: what `modelbay train` makes on `modelbay sample-data` (binary churn, 100 rounds, depth 6, "
      "trained on 20k rows); rows: 100k other sample rows, encoded by its preprocessor. One thread.\n")
print("| rows per call | modelbay forest | LoadedModel (forest) | XGBoost PredictFromDense | LoadedModel before (XGBoost in-place, reused proxy) | forest vs XGBoost dense | forest vs LoadedModel before |")
print("|---|---|---|---|---|---|---|")
for n in (1, 100, 100000):
    f, lf, x, lx = (ns(f"{k}/{n}") for k in ("forest", "loaded_forest", "xgb_dense", "loaded_xgb"))
    fmt = lambda t: f"{t/1e3:.2f} µs" if t < 1e6 else f"{t/1e6:.2f} ms"
    print(f"| {n:,} | {fmt(f)} ({n/f*1e3:.2f} M rows/s) | {fmt(lf)} | {fmt(x)} | {fmt(lx)} | {x/f:.1f}x | {lx/f:.1f}x |")
PY
cat benchmarks/scorer/RESULTS.md
