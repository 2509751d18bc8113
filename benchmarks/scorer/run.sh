#!/usr/bin/env bash
# Scorer micro-benchmark (issue 9): modelbay's forest scorer vs XGBoost's C
# API vs tl2cgen's compiled C on the model `modelbay train` makes on
# `modelbay sample-data` (100 rounds, depth 6, 20k training rows), 1 / 100 /
# 100,000 rows per call, one thread, all in one Google Benchmark run. Turns
# on -DMODELBAY_BUILD_BENCHMARKS in build/ (RelWithDebInfo, as `make build`;
# BUILD=dir for another); trains the model once (scorer_bench writes it),
# compiles it with tl2cgen (benchmarks/.venv-tl2cgen, created with pinned
# versions when missing; SKIP_TL2CGEN=1 leaves tl2cgen out) and writes
# benchmarks/scorer/RESULTS.md.
#   benchmarks/scorer/run.sh [REPETITIONS]   (default 5; the median is reported)
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=${1:-5}
build=${BUILD:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELBAY_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" --target scorer_bench -j "${JOBS:-2}"
out=$build/scorer.json
work=$build/scorer-bench
rm -rf "$work" && mkdir -p "$work"
export SCORER_BENCH_MODEL=$work/model.json
unset SCORER_BENCH_TL2CGEN
if [ "${SKIP_TL2CGEN:-0}" != 1 ]; then
  venv=benchmarks/.venv-tl2cgen
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "tl2cgen==1.0.0" "treelite==4.1.2"
  fi
  # Train and save the model (one short benchmark runs the setup), then compile it.
  "$build"/benchmarks/scorer_bench --benchmark_filter='^forest/1$' >/dev/null
  "$venv/bin/python" benchmarks/scorer/compile_tl2cgen.py "$SCORER_BENCH_MODEL" "$work/model_tl2cgen.so"
  export SCORER_BENCH_TL2CGEN=$work/model_tl2cgen.so
fi
export LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
"$build"/benchmarks/scorer_bench --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json >/dev/null
python3 - "$out" "$reps" > benchmarks/scorer/RESULTS.md <<'PY'
import json, os, sys
doc = json.load(open(sys.argv[1]))
med = {b["run_name"]: b for b in doc["benchmarks"] if b.get("aggregate_name") == "median"}
# CPU time, not wall time: on a shared machine wall time includes the time
# spent waiting for a core; every scorer here runs on one thread.
def ns(name): return med[name]["cpu_time"] * {"ns": 1, "us": 1e3, "ms": 1e6}[med[name]["time_unit"]]
load = os.getloadavg()[0]
print("# Scorer micro-benchmark\n")
print(f"Reproduce: `benchmarks/scorer/run.sh {sys.argv[2]}` (median of {sys.argv[2]} repetitions; "
      f"machine: {doc['context']['num_cpus']} CPUs, load average {os.environ['LOAD_BEFORE']} when it started, "
      f"{load:.1f} when it finished).\n")
print("Model: what `modelbay train` makes on `modelbay sample-data` (binary churn, 100 rounds, depth 6, "
      "trained on 20k rows); rows: 100k other sample rows, encoded by its preprocessor. One thread; "
      "times are CPU time per call (the machine is shared, so wall time would count waiting for a core).\n")
has_tl = any(k.startswith("tl2cgen/") and not med[k].get("error_occurred") for k in med)
print(f"The forest's walk on this CPU: {doc['context'].get('forest_simd', 'not reported')} (`forest, at most AVX2` caps it).\n")
print("| rows per call | modelbay forest | forest, at most AVX2 | forest, portable (no AVX2) | forest, node by node (no complete layout) | LoadedModel (forest) | XGBoost PredictFromDense | LoadedModel (XGBoost in-place, reused proxy) | tl2cgen compiled C | forest vs XGBoost dense | forest vs node by node | forest vs tl2cgen |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
fmt = lambda t: f"{t/1e3:.2f} µs" if t < 1e6 else f"{t/1e6:.2f} ms"
for n in (1, 100, 100000):
    f, fa, fp, fn, lf, x, lx = (ns(f"{k}/{n}") for k in ("forest", "forest_avx2", "forest_portable", "forest_nodes",
                                                          "loaded_forest", "xgb_dense", "loaded_xgb"))
    tl = ns(f"tl2cgen/{n}") if has_tl else None
    tl_text = fmt(tl) if tl else "not run"
    vs_tl = f"{tl/f:.2f}x" if tl else "n/a"
    print(f"| {n:,} | {fmt(f)} ({n/f*1e3:.2f} M rows/s) | {fmt(fa)} | {fmt(fp)} | {fmt(fn)} | {fmt(lf)} | {fmt(x)} | {fmt(lx)} | {tl_text} | {x/f:.1f}x | {fn/f:.1f}x | {vs_tl} |")
print()
print("Ratios are the other scorer's time over the forest's (above 1: the forest is faster).")
f1, x1 = ns("forest/1"), ns("xgb_dense/1")
print(f"Goals (issue 9): >= 10x XGBoost's single-row call: {x1/f1:.1f}x ({'met' if x1/f1 >= 10 else 'missed'}); "
      "not slower than tl2cgen's compiled code on batches: " +
      (", ".join(f"{n:,} rows {ns(f'tl2cgen/{n}')/ns(f'forest/{n}'):.2f}x "
                 f"({'met' if ns(f'tl2cgen/{n}') >= ns(f'forest/{n}') else 'missed'})" for n in (100, 100000))
       if has_tl else "not measured (tl2cgen skipped)") + ".")
PY
cat benchmarks/scorer/RESULTS.md
