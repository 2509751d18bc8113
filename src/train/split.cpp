#include "train/split.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

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
  // Consecutive ranges of `rows`, one per core; each side concatenates in order.
  const size_t parts = RowParts(rows.size());
  std::vector<Split> part(parts);
  ParallelFor(parts, [&](size_t k) {
    auto [begin, end] = PartRange(rows.size(), parts, k);
    Split& s = part[k];
    s.train.reserve((end - begin) - (end - begin) / 4);
    for (uint32_t r : rows.subspan(begin, end - begin)) {
      if (static_cast<long double>(RowHash(table, r, seed)) < bound) {
        s.holdout.push_back(r);
      } else {
        s.train.push_back(r);
      }
    }
  });
  if (parts == 1) return std::move(part[0]);
  Split split;
  size_t train = 0, holdout = 0;
  for (const Split& s : part) {
    train += s.train.size();
    holdout += s.holdout.size();
  }
  split.train.reserve(train);
  split.holdout.reserve(holdout);
  for (const Split& s : part) {
    split.train.insert(split.train.end(), s.train.begin(), s.train.end());
    split.holdout.insert(split.holdout.end(), s.holdout.begin(), s.holdout.end());
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
