// A synthetic, learnable version of the seed's churn data, for demos,
// tests and benchmarks. Deterministic for a seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "core/status.h"

namespace modelbay {

struct SampleDataOptions {
  size_t rows = 1000;
  uint64_t seed = 42;
  // 2: the seed's columns Country,Count,id,churn (churn is 0/1).
  // 3..10: the last column is a string class `tier` (bronze, silver, gold, ...).
  int classes = 2;
  // The last column is a numeric `spend` instead (overrides `classes`).
  bool regression = false;
};

// Writes the CSV to `out` through OutputFile: "-" is stdout, a FIFO or device
// is written through, a regular file is replaced atomically when complete.
Status WriteSampleData(const std::filesystem::path& out, const SampleDataOptions& options);

}  // namespace modelbay
