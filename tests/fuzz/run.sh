#!/usr/bin/env bash
# Builds the model-loader fuzzer with clang in build-fuzz/ and runs it.
#   tests/fuzz/run.sh SECONDS   (default 60)
# Seeds: tests/fuzz/corpus (real model.json files written by XGBoost 1.7).
# New inputs go to build-fuzz/corpus (not committed); a crash leaves
# build-fuzz/crash-* and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing: run scripts/install-deps.sh" >&2; exit 1; }
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DMODELBAY_BUILD_TESTS=OFF -DMODELBAY_BUILD_FUZZERS=ON >/dev/null
cmake --build build-fuzz --target model_fuzz -j "${JOBS:-2}"
mkdir -p build-fuzz/corpus
cd build-fuzz
./tests/fuzz/model_fuzz -max_total_time="$seconds" -dict=../tests/fuzz/model.dict -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
  -print_final_stats=1 corpus ../tests/fuzz/corpus 2>&1 | tail -25
