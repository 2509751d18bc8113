// Our scorer over a validated XgbModel (model/forest.h): reproduces XGBoost
// 1.7's CPU prediction for gbtree models with the objectives of
// OutputTransform, bit for bit in the usual case:
//   margin(row, class) = base_margin, then += each tree's leaf value in tree
//   order, in float (as XGBoost's predictor accumulates);
//   a split sends a row left when x < threshold, and a missing value (NaN)
//   along the node's default direction;
//   the transform is XGBoost's (common::Sigmoid, expf, common::Softmax, the
//   index of the largest margin).
// Rows are scored in blocks of 64 across all trees, so a block's values stay
// in cache while the trees stream past. Forests with a complete layout
// (CompleteForest) are walked branch-free, 8 rows (or, for a lone row, 8
// trees) at a time, with AVX2 when the CPU has it, or 16 rows with AVX-512.
//
// Stateless and thread-safe; the model must outlive the call.
#pragma once

#include <cstddef>

#include "core/status.h"
#include "model/forest.h"

namespace modelbay {

// `rows` is row-major, rows x cols float32 with NaN for missing; `out`
// receives rows x model.outputs_per_row() values. InvalidArgument when cols
// differs from model.num_feature; FailedPrecondition when the model needs
// XGBoost (model.fallback_reason is set).
Status PredictForest(const XgbModel& model, const float* rows, size_t num_rows, size_t cols, float* out);

// The instructions blocks of rows are walked with.
enum class ForestSimd {
  kPortable,  // plain C++
  kAvx2,      // 8 rows to a vector
  kAvx512,    // 16 rows to a vector (AVX-512F)
};
// The widest walk blocks of rows may use when the CPU has it (default
// kAvx512, or what the environment variable MODELBAY_FOREST_SIMD says:
// avx512, avx2 or portable; a CPU without it uses the widest it has). All give the same
// scores; tests and the scorer benchmark switch it to cover and compare
// them. Process-wide; not to be switched while other threads score.
void SetForestSimd(ForestSimd most);
// The walk in use: what SetForestSimd allows, within what the CPU has.
ForestSimd ForestSimdInUse();

}  // namespace modelbay
