#include "train/split.h"

#include <algorithm>
#include <cmath>

namespace modelbay {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

// splitmix64's finalizer: spreads FNV's weak low-entropy bits over the range.
uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t RowHash(const CsvTable& table, uint32_t row, uint64_t seed) {
  uint64_t h = kFnvOffset ^ Mix(seed);
  for (size_t c = 0; c < table.cols(); ++c) {
    for (unsigned char b : table.cell(row, c)) h = (h ^ b) * kFnvPrime;
    h = (h ^ 0x1f) * kFnvPrime;  // cell separator: ("ab","c") differs from ("a","bc")
  }
  return Mix(h);
}

Split SplitHoldout(const CsvTable& table, std::span<const uint32_t> rows, double fraction, uint64_t seed) {
  // fraction of 2^64, computed in long double so 0.2 maps to the same bound everywhere.
  const long double bound = std::ldexp(static_cast<long double>(fraction), 64);
  Split split;
  for (uint32_t r : rows) {
    if (static_cast<long double>(RowHash(table, r, seed)) < bound) {
      split.holdout.push_back(r);
    } else {
      split.train.push_back(r);
    }
  }
  return split;
}

void EnsureBothSides(Split& split) {
  if (split.train.size() + split.holdout.size() < 2) return;
  if (split.holdout.empty()) {
    split.holdout.push_back(split.train.back());
    split.train.pop_back();
  } else if (split.train.empty()) {
    split.train.push_back(split.holdout.back());
    split.holdout.pop_back();
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.holdout.begin(), split.holdout.end());
}

}  // namespace modelbay
