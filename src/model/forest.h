// XGBoost's JSON model (as written by XGBoost 1.7's XGBoosterSaveModelToBuffer
// with {"format":"json"}) parsed into a compact, validated in-memory forest.
//
// A model is untrusted input: it may come from an imported bundle or a store
// anyone can write to. ParseXgboostModel is the one parser of that format in
// modelbay; it runs before a version is registered and again before a model is
// loaded, and XGBoost never sees bytes that did not pass it. It checks what
// XGBoost's loader and predictor rely on without checking:
//   - the document is one JSON object starting with '{' (XGBoost picks its
//     parser by the first byte), within ForestLimits::max_model_bytes;
//   - learner_model_param: num_feature, num_class, num_target == 1 and a finite
//     base_score valid for the objective (in (0,1) for logistic, > 0 for the
//     log-link objectives);
//   - gbtree / dart: num_trees == trees == tree_info, tree "id" == position,
//     tree_info entries < the number of outputs; per tree, every node array
//     (left_children, right_children, parents, split_indices,
//     split_conditions, default_left, base_weights, loss_changes,
//     sum_hessian) has num_nodes entries; a node has two children or none;
//     children are in range and come strictly after their parent (so there is
//     no cycle) and name it in "parents"; internal nodes split on a feature
//     below num_feature; thresholds and leaf values are finite; counts of
//     trees, nodes and the depth are within ForestLimits;
//   - gblinear is refused (XGBoost 1.7 cannot predict it in place, so it
//     could not be served);
//   - categorical splits (split_type 1) are refused: modelbay encodes
//     categories itself and never trains them.
// Errors are InvalidArgument naming the tree, the node and what is wrong.
//
// The Forest is immutable once built and safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace modelbay {

struct ForestLimits {
  size_t max_model_bytes = size_t{512} << 20;
  size_t max_trees = 1'000'000;
  size_t max_nodes_per_tree = size_t{1} << 22;
  size_t max_total_nodes = size_t{1} << 28;
  int max_depth = 256;  // edges from the root to the deepest leaf
  uint32_t max_features = 1u << 24;
  uint32_t max_outputs = 100'000;  // num_class
  // Forests no deeper than this (and not much sparser than complete trees)
  // are also laid out as complete trees (CompleteForest) for the fast scorer;
  // 0 keeps only the node-by-node layout (tests use it to cover that path).
  int max_complete_depth = 10;
};

// One node, 12 bytes. Children of a node are stored next to each other: the
// right child is left + 1. Trees are laid out breadth-first, one after the
// other, so the top levels of a tree share cache lines.
struct ForestNode {
  static constexpr uint32_t kLeaf = 1u << 31;
  static constexpr uint32_t kDefaultLeft = 1u << 30;
  static constexpr uint32_t kFeatureMask = kDefaultLeft - 1;

  float value;    // split threshold (go left when x < value), or the leaf value
  uint32_t info;  // kLeaf | kDefaultLeft | feature index
  uint32_t left;  // index of the left child in Forest::nodes (internal nodes)

  bool is_leaf() const { return (info & kLeaf) != 0; }
};

// How the summed margin becomes XGBoost's prediction.
enum class OutputTransform {
  kIdentity,  // reg:squarederror and the other identity-link objectives
  kSigmoid,   // binary:logistic, reg:logistic (XGBoost's common::Sigmoid)
  kExp,       // reg:gamma, reg:tweedie, count:poisson
  kSoftmax,   // multi:softprob: probabilities per class
  kArgmax,    // multi:softmax: the index of the largest margin
};

// The trees padded to complete binary trees of one depth, in heap order
// (the children of split i are 2i+1 and 2i+2, no pointers), so every row
// takes exactly `depth` branch-free steps per tree and the steps of several
// rows (or trees) interleave. A leaf above the bottom level becomes a padding
// split (offset 0) whose two subtrees both end in copies of that leaf, so
// whichever way a row goes it reaches the leaf's value: scores are exactly
// those of the original tree.
//
// A split is 8 bytes, in two arrays (so SIMD lanes load either with one
// instruction): its threshold and its offset. The scorer reads rows widened
// to two slots per feature: slot 2f holds x with NaN (missing) as -infinity,
// slot 2f+1 x with NaN as +infinity. A split reads slot 2f when missing
// values go left and 2f+1 when they go right, and goes right when
// !(x < threshold): thresholds are finite, so a missing value follows the
// default direction and every other value (infinities included) compares as
// itself, with no test for NaN in the walk. Widened rows are stored
// kCompleteLanes at a time, slot by slot (lane j of slot s at
// s * kCompleteLanes + j), so a split's offset is its slot premultiplied.
inline constexpr uint32_t kCompleteLanes = 8;
struct CompleteForest {
  int depth = -1;  // -1: not built (too deep or too sparse); 0: every tree is one leaf
  // trees x (2^depth - 1), then kCompleteLanes entries of padding (vector
  // loads of a tree's top levels may read past its last tree).
  std::vector<float> thresholds;
  std::vector<uint32_t> offsets;  // kCompleteLanes * (2 * feature + (missing goes right ? 1 : 0))
  std::vector<float> leaves;      // trees x 2^depth

  bool built() const { return depth >= 0; }
  size_t splits_per_tree() const { return (size_t{1} << depth) - 1; }
  size_t leaves_per_tree() const { return size_t{1} << depth; }
};

struct Forest {
  std::vector<ForestNode> nodes;
  std::vector<uint32_t> roots;   // one per tree, in XGBoost's tree order
  std::vector<uint32_t> groups;  // output (class) each tree adds to: tree_info
  CompleteForest complete;       // the same trees, when shallow enough
};

struct XgbModel {
  std::string booster;    // "gbtree" or "dart"
  std::string objective;  // e.g. "binary:logistic"
  uint32_t num_feature = 0;
  uint32_t num_class = 0;  // as written: 0 for single-output objectives
  float base_score = 0;    // as written (in the objective's output space)
  float base_margin = 0;   // base_score through the objective's ProbToMargin
  OutputTransform transform = OutputTransform::kIdentity;
  Forest forest;  // the trees of gbtree, or of dart's inner gbtree
  // Empty when ForestScorer reproduces XGBoost's prediction; otherwise why
  // scoring must go through XGBoost (e.g. "the dart booster").
  std::string fallback_reason;

  uint32_t num_outputs() const { return num_class > 0 ? num_class : 1; }
  // Values per row of XGBoost's prediction: num_class for multi:softprob,
  // else 1.
  uint32_t outputs_per_row() const { return transform == OutputTransform::kSoftmax ? num_outputs() : 1; }
};

// Parses and validates; InvalidArgument prefixed with `source` (e.g.
// "version 3 model.json") on anything XGBoost could crash, hang or misread on.
Result<XgbModel> ParseXgboostModel(std::string_view json, std::string_view source = "model.json",
                                   const ForestLimits& limits = {});

}  // namespace modelbay
