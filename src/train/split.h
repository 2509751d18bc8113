// The holdout split: each row is held out or not by a hash of its cells, so
// the same data always gives the same split, whatever order the rows come in
// and however many workers read them (a distributed training holds out
// exactly the rows one process would). Identical rows fall on the same side.
// Not stratified: a class of a few rows may miss the holdout.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/csv.h"

namespace modelbay {

inline constexpr double kHoldoutFraction = 0.2;
inline constexpr uint64_t kSplitSeed = 42;

struct Split {
  std::vector<uint32_t> train;    // ascending
  std::vector<uint32_t> holdout;  // ascending
};

// A stable 64-bit hash of the cells of `row` (FNV-1a over the cell bytes
// with a separator, seeded, then mixed).
uint64_t RowHash(const CsvTable& table, uint32_t row, uint64_t seed = kSplitSeed);

// Splits `rows` (ascending indices into `table`): a row is held out when its
// hash falls in the lowest `fraction` of the hash range.
Split SplitHoldout(const CsvTable& table, std::span<const uint32_t> rows, double fraction = kHoldoutFraction,
                   uint64_t seed = kSplitSeed);

// Single-process training of tiny data: when `rows` has two or more rows
// and one side is empty, moves one row across so both have at least one.
void EnsureBothSides(Split& split);

}  // namespace modelbay
