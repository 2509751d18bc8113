#include "train/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace modelbay {
namespace {

// Fisher-Yates with mt19937_64 (fully specified by the standard, unlike
// std::shuffle's use of it), so the split is the same on every platform.
void Shuffle(std::vector<uint32_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

}  // namespace

Split SplitHoldout(std::span<const uint32_t> rows, std::span<const float> labels, bool stratify, double fraction,
                   uint64_t seed) {
  std::map<float, std::vector<uint32_t>> groups;
  for (uint32_t r : rows) groups[stratify ? labels[r] : 0.0f].push_back(r);
  std::mt19937_64 rng(seed);
  Split split;
  for (auto& [label, members] : groups) {
    Shuffle(members, rng);
    size_t take = static_cast<size_t>(std::llround(fraction * members.size()));
    split.holdout.insert(split.holdout.end(), members.begin(), members.begin() + take);
    split.train.insert(split.train.end(), members.begin() + take, members.end());
  }
  if (rows.size() >= 2 && split.holdout.empty()) {
    split.holdout.push_back(split.train.back());
    split.train.pop_back();
  } else if (rows.size() >= 2 && split.train.empty()) {
    split.train.push_back(split.holdout.back());
    split.holdout.pop_back();
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.holdout.begin(), split.holdout.end());
  return split;
}

}  // namespace modelbay
