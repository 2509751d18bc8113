#include "model/forest_scorer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace modelbay {
namespace {

constexpr size_t kBlockRows = 64;

inline float LeafValue(const ForestNode* nodes, uint32_t root, const float* row) {
  const ForestNode* n = nodes + root;
  while (!n->is_leaf()) {
    const float x = row[n->info & ForestNode::kFeatureMask];
    const bool left = std::isnan(x) ? (n->info & ForestNode::kDefaultLeft) != 0 : x < n->value;
    n = nodes + n->left + (left ? 0 : 1);
  }
  return n->value;
}

// XGBoost 1.7's common::Sigmoid, operation for operation.
inline float Sigmoid(float x) {
  constexpr float kEps = 1e-16;
  x = std::min(-x, 88.7f);
  float denom = expf(x) + 1.0f + kEps;
  return 1.0f / denom;
}

// XGBoost 1.7's common::Softmax over one row's margins.
void Softmax(float* p, size_t k) {
  float wmax = p[0];
  for (size_t i = 1; i < k; ++i) wmax = fmaxf(p[i], wmax);
  double wsum = 0.0f;
  for (size_t i = 0; i < k; ++i) {
    p[i] = expf(p[i] - wmax);
    wsum += p[i];
  }
  for (size_t i = 0; i < k; ++i) p[i] /= static_cast<float>(wsum);
}

// Margins of rows [0, n) of the block into m (n x groups).
void BlockMargins(const XgbModel& model, const float* rows, size_t n, size_t cols, float* m) {
  const Forest& f = model.forest;
  const size_t groups = model.num_outputs();
  std::fill(m, m + n * groups, model.base_margin);
  const ForestNode* nodes = f.nodes.data();
  const size_t trees = f.roots.size();
  for (size_t t = 0; t < trees; ++t) {
    const uint32_t root = f.roots[t];
    const uint32_t g = f.groups[t];
    for (size_t r = 0; r < n; ++r) m[r * groups + g] += LeafValue(nodes, root, rows + r * cols);
  }
}

}  // namespace

Status PredictForest(const XgbModel& model, const float* rows, size_t num_rows, size_t cols, float* out) {
  if (!model.fallback_reason.empty()) {
    return FailedPrecondition(fmt::format("our scorer does not handle {}; score it with XGBoost",
                                          model.fallback_reason));
  }
  if (cols != model.num_feature) {
    return InvalidArgument(fmt::format("the model takes {} features, got rows of {}", model.num_feature, cols));
  }
  const size_t groups = model.num_outputs();
  thread_local std::vector<float> margins;
  margins.resize(kBlockRows * groups);
  for (size_t start = 0; start < num_rows; start += kBlockRows) {
    const size_t n = std::min(kBlockRows, num_rows - start);
    float* m = margins.data();
    BlockMargins(model, rows + start * cols, n, cols, m);
    switch (model.transform) {
      case OutputTransform::kIdentity: std::copy(m, m + n, out + start); break;
      case OutputTransform::kSigmoid:
        for (size_t r = 0; r < n; ++r) out[start + r] = Sigmoid(m[r]);
        break;
      case OutputTransform::kExp:
        for (size_t r = 0; r < n; ++r) out[start + r] = expf(m[r]);
        break;
      case OutputTransform::kSoftmax:
        for (size_t r = 0; r < n; ++r) Softmax(m + r * groups, groups);
        std::copy(m, m + n * groups, out + start * groups);
        break;
      case OutputTransform::kArgmax:
        for (size_t r = 0; r < n; ++r) {
          const float* row = m + r * groups;
          size_t best = 0;
          for (size_t k = 1; k < groups; ++k) {
            if (row[k] > row[best]) best = k;
          }
          out[start + r] = static_cast<float>(best);
        }
        break;
    }
  }
  return Status::Ok();
}

}  // namespace modelbay
