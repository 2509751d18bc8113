// The holdout split: a fixed-seed shuffle, stratified by class for
// classifiers, so the same data always gives the same split.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace modelbay {

inline constexpr double kHoldoutFraction = 0.2;
inline constexpr uint64_t kSplitSeed = 42;

struct Split {
  std::vector<uint32_t> train;    // ascending
  std::vector<uint32_t> holdout;  // ascending
};

// Splits `rows` (indices into `labels`). Classifiers (`stratify`): each class
// gives round(fraction * its rows) to the holdout. Both sides get at least one
// row when `rows` has two or more.
Split SplitHoldout(std::span<const uint32_t> rows, std::span<const float> labels, bool stratify,
                   double fraction = kHoldoutFraction, uint64_t seed = kSplitSeed);

}  // namespace modelbay
