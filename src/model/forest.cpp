#include "model/forest.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace modelbay {
namespace {

using nlohmann::json;

// XGBoost writes a root's parent as 2^31 - 1 (kInvalidNodeId without the
// is-left bit).
constexpr int64_t kRootParent = 2147483647;

// Where an error is: "version 3 model.json: tree 4, node 17".
class Context {
 public:
  explicit Context(std::string_view source) : source_(source) {}
  Status Error(std::string_view where, std::string_view what) const {
    return InvalidArgument(fmt::format("{}: {}: {}; not a valid XGBoost model (retrain it, or import a bundle "
                                       "made by modelbay)",
                                       source_, where, what));
  }
  Status Error(std::string_view what) const {
    return InvalidArgument(fmt::format("{}: {}; not a valid XGBoost model (retrain it, or import a bundle made by "
                                       "modelbay)",
                                       source_, what));
  }

 private:
  std::string_view source_;
};

Result<const json*> Member(const Context& ctx, const json& obj, std::string_view path, std::string_view key) {
  if (!obj.is_object()) return ctx.Error(fmt::format("'{}' must be an object", path));
  auto it = obj.find(key);
  if (it == obj.end()) return ctx.Error(fmt::format("'{}' has no \"{}\"", path, key));
  return &*it;
}

Result<std::string> StringMember(const Context& ctx, const json& obj, std::string_view path, std::string_view key) {
  MB_ASSIGN_OR_RETURN(const json* v, Member(ctx, obj, path, key));
  if (!v->is_string()) return ctx.Error(fmt::format("'{}.{}' must be a string", path, key));
  return v->get<std::string>();
}

// XGBoost stores parameters as decimal strings ("num_feature": "5").
Result<int64_t> IntParam(const Context& ctx, const json& obj, std::string_view path, std::string_view key,
                         int64_t lo, int64_t hi) {
  MB_ASSIGN_OR_RETURN(std::string text, StringMember(ctx, obj, path, key));
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi) {
    return ctx.Error(fmt::format("'{}.{}' is \"{}\", expected an integer from {} to {}", path, key, text, lo, hi));
  }
  return value;
}

// An optional integer parameter that must have one value when present.
Status ExpectParam(const Context& ctx, const json& obj, std::string_view path, std::string_view key,
                   int64_t expected) {
  if (!obj.contains(key)) return Status::Ok();
  MB_ASSIGN_OR_RETURN(int64_t v, IntParam(ctx, obj, path, key, expected, expected));
  (void)v;
  return Status::Ok();
}

// base_score as XGBoost 1.7 reads it: its own from_chars, which gives up on
// more than 9 significant digits (and then silently keeps a default), so
// such text is refused rather than read differently.
Result<float> BaseScore(const Context& ctx, const std::string& text) {
  int digits = 0;
  bool leading = true;
  for (char c : text) {
    if (c == 'e' || c == 'E') break;
    if (c < '0' || c > '9') continue;
    if (c != '0') leading = false;
    if (!leading) ++digits;
  }
  float value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || digits > 9 || !std::isfinite(value)) {
    return ctx.Error(fmt::format("learner_model_param.base_score is \"{}\", expected a finite number of at most 9 "
                                 "significant digits",
                                 text));
  }
  return value;
}

struct ObjectiveInfo {
  std::string_view name;
  OutputTransform transform;
  enum Link { kIdentityLink, kLogit, kLog } link;
};

constexpr ObjectiveInfo kObjectives[] = {
    {"reg:squarederror", OutputTransform::kIdentity, ObjectiveInfo::kIdentityLink},
    {"reg:squaredlogerror", OutputTransform::kIdentity, ObjectiveInfo::kIdentityLink},
    {"reg:pseudohubererror", OutputTransform::kIdentity, ObjectiveInfo::kIdentityLink},
    {"reg:absoluteerror", OutputTransform::kIdentity, ObjectiveInfo::kIdentityLink},
    {"binary:logitraw", OutputTransform::kIdentity, ObjectiveInfo::kIdentityLink},
    {"binary:logistic", OutputTransform::kSigmoid, ObjectiveInfo::kLogit},
    {"reg:logistic", OutputTransform::kSigmoid, ObjectiveInfo::kLogit},
    {"reg:gamma", OutputTransform::kExp, ObjectiveInfo::kLog},
    {"reg:tweedie", OutputTransform::kExp, ObjectiveInfo::kLog},
    {"count:poisson", OutputTransform::kExp, ObjectiveInfo::kLog},
    {"multi:softprob", OutputTransform::kSoftmax, ObjectiveInfo::kIdentityLink},
    {"multi:softmax", OutputTransform::kArgmax, ObjectiveInfo::kIdentityLink},
};

// Reads the learner's parameters and objective into `out`.
Status ReadLearner(const Context& ctx, const json& learner, const ForestLimits& limits, XgbModel* out) {
  MB_ASSIGN_OR_RETURN(const json* param, Member(ctx, learner, "learner", "learner_model_param"));
  constexpr std::string_view kParam = "learner.learner_model_param";
  MB_ASSIGN_OR_RETURN(int64_t nf, IntParam(ctx, *param, kParam, "num_feature", 1, limits.max_features));
  MB_ASSIGN_OR_RETURN(int64_t nc, IntParam(ctx, *param, kParam, "num_class", 0, limits.max_outputs));
  MB_RETURN_IF_ERROR(ExpectParam(ctx, *param, kParam, "num_target", 1));
  MB_ASSIGN_OR_RETURN(std::string base_text, StringMember(ctx, *param, kParam, "base_score"));
  MB_ASSIGN_OR_RETURN(out->base_score, BaseScore(ctx, base_text));
  out->num_feature = static_cast<uint32_t>(nf);
  out->num_class = static_cast<uint32_t>(nc);

  MB_ASSIGN_OR_RETURN(const json* objective, Member(ctx, learner, "learner", "objective"));
  MB_ASSIGN_OR_RETURN(out->objective, StringMember(ctx, *objective, "learner.objective", "name"));
  const ObjectiveInfo* info = nullptr;
  for (const auto& o : kObjectives) {
    if (o.name == out->objective) info = &o;
  }
  bool multi = out->objective.starts_with("multi:");
  if (multi != (out->num_class > 0)) {
    return ctx.Error(fmt::format("objective {} with num_class {}: multi-class objectives need num_class >= 2, the "
                                 "others num_class 0",
                                 out->objective, out->num_class));
  }
  if (multi) {
    if (out->num_class < 2) return ctx.Error("num_class must be at least 2 for a multi-class objective");
    MB_ASSIGN_OR_RETURN(const json* smp, Member(ctx, *objective, "learner.objective", "softmax_multiclass_param"));
    MB_RETURN_IF_ERROR(ExpectParam(ctx, *smp, "learner.objective.softmax_multiclass_param", "num_class",
                                   out->num_class));
  }
  if (info == nullptr) {
    out->fallback_reason = fmt::format("the objective {}", out->objective);
    return Status::Ok();
  }
  out->transform = info->transform;
  const float b = out->base_score;
  switch (info->link) {
    case ObjectiveInfo::kIdentityLink: out->base_margin = b; break;
    case ObjectiveInfo::kLogit:
      if (!(b > 0.0f && b < 1.0f)) {
        return ctx.Error(fmt::format("base_score {} must be in (0, 1) for {}", b, out->objective));
      }
      out->base_margin = -logf(1.0f / b - 1.0f);  // XGBoost's LogisticRegression::ProbToMargin
      break;
    case ObjectiveInfo::kLog:
      if (!(b > 0.0f)) return ctx.Error(fmt::format("base_score {} must be above 0 for {}", b, out->objective));
      out->base_margin = std::log(b);
      break;
  }
  if (!std::isfinite(out->base_margin)) return ctx.Error(fmt::format("base_score {} has no finite margin", b));
  return Status::Ok();
}

// A JSON array of `n` entries named `key` in tree `t`.
Result<const json*> NodeArray(const Context& ctx, const json& tree, size_t t, std::string_view key, size_t n) {
  auto it = tree.find(key);
  if (it == tree.end() || !it->is_array()) {
    return ctx.Error(fmt::format("tree {}", t), fmt::format("\"{}\" is missing or not an array", key));
  }
  if (it->size() != n) {
    return ctx.Error(fmt::format("tree {}", t),
                     fmt::format("\"{}\" has {} entries but the tree has {} nodes (num_nodes)", key, it->size(), n));
  }
  return &*it;
}

Result<int64_t> NodeInt(const Context& ctx, const json& v, size_t t, size_t i, std::string_view key) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return ctx.Error(fmt::format("tree {}, node {}", t, i), fmt::format("{} {} is out of range", key, v.dump()));
    }
    return v.get<int64_t>();
  }
  return ctx.Error(fmt::format("tree {}, node {}", t, i), fmt::format("{} must be an integer, got {}", key,
                                                                      v.dump().substr(0, 40)));
}

Result<float> NodeFloat(const Context& ctx, const json& v, size_t t, size_t i, std::string_view key) {
  if (!v.is_number()) {
    return ctx.Error(fmt::format("tree {}, node {}", t, i), fmt::format("{} must be a number, got {}", key,
                                                                        v.dump().substr(0, 40)));
  }
  float f = static_cast<float>(v.get<double>());
  if (!std::isfinite(f)) {
    return ctx.Error(fmt::format("tree {}, node {}", t, i),
                     fmt::format("{} {} is not a finite 32-bit float", key, v.dump().substr(0, 40)));
  }
  return f;
}

// One tree: validates it and appends it to `forest` breadth-first, children
// side by side.
Status ReadTree(const Context& ctx, const json& tree, size_t t, uint32_t num_feature, const ForestLimits& limits,
                Forest* forest) {
  const std::string where = fmt::format("tree {}", t);
  if (!tree.is_object()) return ctx.Error(where, "must be an object");
  MB_ASSIGN_OR_RETURN(const json* id, Member(ctx, tree, where, "id"));
  if (!id->is_number_integer() || id->get<int64_t>() != static_cast<int64_t>(t)) {
    return ctx.Error(where, fmt::format("\"id\" is {}, expected {} (its position)", id->dump().substr(0, 40), t));
  }
  MB_ASSIGN_OR_RETURN(const json* tp, Member(ctx, tree, where, "tree_param"));
  const std::string tp_path = where + ".tree_param";
  MB_ASSIGN_OR_RETURN(int64_t nn, IntParam(ctx, *tp, tp_path, "num_nodes", 1,
                                           static_cast<int64_t>(limits.max_nodes_per_tree)));
  MB_RETURN_IF_ERROR(ExpectParam(ctx, *tp, tp_path, "size_leaf_vector", 0));
  const size_t n = static_cast<size_t>(nn);
  if (forest->nodes.size() + n > limits.max_total_nodes) {
    return ctx.Error(fmt::format("more than {} nodes in all trees", limits.max_total_nodes));
  }
  if (auto it = tree.find("split_type"); it != tree.end()) {
    MB_ASSIGN_OR_RETURN(const json* types, NodeArray(ctx, tree, t, "split_type", n));
    for (size_t i = 0; i < n; ++i) {
      const json& v = (*types)[i];
      if (!(v.is_number_integer() && v.get<int64_t>() == 0)) {
        return ctx.Error(fmt::format("{}, node {}", where, i),
                         "is a categorical split (split_type 1); modelbay encodes categories itself and does not "
                         "load models with categorical splits");
      }
    }
  }
  MB_ASSIGN_OR_RETURN(const json* lefts, NodeArray(ctx, tree, t, "left_children", n));
  MB_ASSIGN_OR_RETURN(const json* rights, NodeArray(ctx, tree, t, "right_children", n));
  MB_ASSIGN_OR_RETURN(const json* parents, NodeArray(ctx, tree, t, "parents", n));
  MB_ASSIGN_OR_RETURN(const json* indices, NodeArray(ctx, tree, t, "split_indices", n));
  MB_ASSIGN_OR_RETURN(const json* conds, NodeArray(ctx, tree, t, "split_conditions", n));
  MB_ASSIGN_OR_RETURN(const json* defaults, NodeArray(ctx, tree, t, "default_left", n));
  for (std::string_view stats : {"base_weights", "loss_changes", "sum_hessian"}) {
    MB_ASSIGN_OR_RETURN(const json* arr, NodeArray(ctx, tree, t, stats, n));
    for (size_t i = 0; i < n; ++i) {
      MB_ASSIGN_OR_RETURN(float unused, NodeFloat(ctx, (*arr)[i], t, i, stats));
      (void)unused;
    }
  }

  // Parse every node; check links before walking them.
  struct Raw {
    int64_t left, right, parent, feature;
    float value;
    bool default_left;
  };
  std::vector<Raw> raw(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string node = fmt::format("{}, node {}", where, i);
    Raw& r = raw[i];
    MB_ASSIGN_OR_RETURN(r.left, NodeInt(ctx, (*lefts)[i], t, i, "left child"));
    MB_ASSIGN_OR_RETURN(r.right, NodeInt(ctx, (*rights)[i], t, i, "right child"));
    MB_ASSIGN_OR_RETURN(r.parent, NodeInt(ctx, (*parents)[i], t, i, "parent"));
    MB_ASSIGN_OR_RETURN(r.feature, NodeInt(ctx, (*indices)[i], t, i, "split index"));
    MB_ASSIGN_OR_RETURN(r.value, NodeFloat(ctx, (*conds)[i], t, i, "split condition"));
    const json& d = (*defaults)[i];
    if (d.is_boolean()) {
      r.default_left = d.get<bool>();
    } else if (d.is_number_integer() && (d.get<int64_t>() == 0 || d.get<int64_t>() == 1)) {
      r.default_left = d.get<int64_t>() == 1;
    } else {
      return ctx.Error(node, fmt::format("default_left must be 0 or 1, got {}", d.dump().substr(0, 40)));
    }
    const bool leaf = r.left == -1 && r.right == -1;
    if (!leaf) {
      for (auto [child, side] : {std::pair{r.left, "left"}, std::pair{r.right, "right"}}) {
        if (child < 0 || child >= static_cast<int64_t>(n)) {
          return ctx.Error(node, fmt::format("{} child {} is out of range (the tree has {} nodes; -1 on both sides "
                                             "marks a leaf)",
                                             side, child, n));
        }
        if (child <= static_cast<int64_t>(i)) {
          return ctx.Error(node, fmt::format("{} child {} does not come after the node (children must follow "
                                             "their parent; this would be a cycle or a shared node)",
                                             side, child));
        }
      }
      if (r.left == r.right) return ctx.Error(node, fmt::format("both children are node {}", r.left));
      if (r.feature < 0 || r.feature >= static_cast<int64_t>(num_feature)) {
        return ctx.Error(node, fmt::format("split index {} is not a feature (the model has {} features)", r.feature,
                                           num_feature));
      }
    } else if (r.feature < 0 || r.feature > std::numeric_limits<int32_t>::max()) {
      return ctx.Error(node, fmt::format("split index {} is out of range", r.feature));
    }
    if (i == 0 ? r.parent != kRootParent : (r.parent < 0 || r.parent >= static_cast<int64_t>(n))) {
      return ctx.Error(node, i == 0 ? fmt::format("the root's parent is {}, expected {}", r.parent, kRootParent)
                                    : fmt::format("parent {} is out of range", r.parent));
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const Raw& r = raw[i];
    if (r.left == -1) continue;
    for (int64_t child : {r.left, r.right}) {
      if (raw[static_cast<size_t>(child)].parent != static_cast<int64_t>(i)) {
        return ctx.Error(fmt::format("{}, node {}", where, child),
                         fmt::format("is a child of node {} but names {} as its parent", i,
                                     raw[static_cast<size_t>(child)].parent));
      }
    }
  }

  // Breadth-first layout: order[k] is the original id of the node at
  // position base + k. Each node is reached once (every child names exactly
  // one parent), so this visits at most n nodes.
  const uint32_t base = static_cast<uint32_t>(forest->nodes.size());
  std::vector<uint32_t> order{0};
  std::vector<int> depth{0};
  order.reserve(n);
  depth.reserve(n);
  forest->roots.push_back(base);
  for (size_t k = 0; k < order.size(); ++k) {
    const Raw& r = raw[order[k]];
    ForestNode node{r.value, 0, 0};
    if (r.left == -1) {
      node.info = ForestNode::kLeaf;
    } else {
      if (depth[k] + 1 > limits.max_depth) {
        return ctx.Error(where, fmt::format("is deeper than {} levels", limits.max_depth));
      }
      node.info = static_cast<uint32_t>(r.feature) | (r.default_left ? ForestNode::kDefaultLeft : 0u);
      node.left = base + static_cast<uint32_t>(order.size());
      order.push_back(static_cast<uint32_t>(r.left));
      order.push_back(static_cast<uint32_t>(r.right));
      depth.push_back(depth[k] + 1);
      depth.push_back(depth[k] + 1);
    }
    forest->nodes.push_back(node);
  }
  return Status::Ok();
}

// gbtree's "model" object: trees and tree_info.
Status ReadTrees(const Context& ctx, const json& model, std::string_view path, const ForestLimits& limits,
                 XgbModel* out) {
  MB_ASSIGN_OR_RETURN(const json* mp, Member(ctx, model, path, "gbtree_model_param"));
  const std::string mp_path = fmt::format("{}.gbtree_model_param", path);
  MB_ASSIGN_OR_RETURN(int64_t num_trees, IntParam(ctx, *mp, mp_path, "num_trees", 0,
                                                  static_cast<int64_t>(limits.max_trees)));
  MB_RETURN_IF_ERROR(ExpectParam(ctx, *mp, mp_path, "size_leaf_vector", 0));
  MB_ASSIGN_OR_RETURN(const json* trees, Member(ctx, model, path, "trees"));
  MB_ASSIGN_OR_RETURN(const json* info, Member(ctx, model, path, "tree_info"));
  if (!trees->is_array() || !info->is_array() || trees->size() != static_cast<size_t>(num_trees) ||
      info->size() != static_cast<size_t>(num_trees)) {
    return ctx.Error(fmt::format("{}: num_trees is {} but there are {} trees and {} tree_info entries", path,
                                 num_trees, trees->is_array() ? trees->size() : 0,
                                 info->is_array() ? info->size() : 0));
  }
  Forest& forest = out->forest;
  forest.groups.reserve(trees->size());
  for (size_t t = 0; t < trees->size(); ++t) {
    const json& g = (*info)[t];
    if (!g.is_number_integer() || g.get<int64_t>() < 0 || g.get<int64_t>() >= out->num_outputs()) {
      return ctx.Error(fmt::format("tree {}", t), fmt::format("tree_info {} is not an output of this model (it has "
                                                              "{})",
                                                              g.dump().substr(0, 40), out->num_outputs()));
    }
    forest.groups.push_back(static_cast<uint32_t>(g.get<int64_t>()));
    MB_RETURN_IF_ERROR(ReadTree(ctx, (*trees)[t], t, out->num_feature, limits, &forest));
  }
  return Status::Ok();
}

// Edges from `node` to its deepest leaf (the forest was validated: children
// follow their parent, so this terminates).
int SubtreeDepth(const std::vector<ForestNode>& nodes, uint32_t node) {
  if (nodes[node].is_leaf()) return 0;
  return 1 + std::max(SubtreeDepth(nodes, nodes[node].left), SubtreeDepth(nodes, nodes[node].left + 1));
}

// Copies the subtree at `node` into heap position `heap` (at `level`) of one
// complete tree (its splits at thresholds/offsets, its leaves at leaves); a
// leaf above the bottom becomes a padding split over two copies of itself.
struct CompleteTree {
  float* thresholds;
  uint32_t* offsets;
  float* leaves;
};
void FillComplete(const std::vector<ForestNode>& nodes, uint32_t node, size_t heap, int level, int depth,
                  const CompleteTree& out) {
  if (level == depth) {
    out.leaves[heap - ((size_t{1} << depth) - 1)] = nodes[node].value;
    return;
  }
  const ForestNode& n = nodes[node];
  if (n.is_leaf()) {
    out.thresholds[heap] = 0.0f;
    out.offsets[heap] = 0;
    FillComplete(nodes, node, 2 * heap + 1, level + 1, depth, out);
    FillComplete(nodes, node, 2 * heap + 2, level + 1, depth, out);
    return;
  }
  const uint32_t feature = n.info & ForestNode::kFeatureMask;
  const uint32_t slot = 2 * feature + ((n.info & ForestNode::kDefaultLeft) != 0 ? 0u : 1u);
  out.thresholds[heap] = n.value;
  out.offsets[heap] = kCompleteLanes * slot;
  FillComplete(nodes, n.left, 2 * heap + 1, level + 1, depth, out);
  FillComplete(nodes, n.left + 1, 2 * heap + 2, level + 1, depth, out);
}

// Builds forest->complete when the deepest tree is within
// limits.max_complete_depth and padding at most multiplies the node count by
// 16 (sparse deep trees keep only the node-by-node layout).
void BuildComplete(const ForestLimits& limits, Forest* forest) {
  int depth = 0;
  for (uint32_t root : forest->roots) {
    depth = std::max(depth, SubtreeDepth(forest->nodes, root));
    if (depth > limits.max_complete_depth) return;
  }
  const size_t trees = forest->roots.size();
  const size_t padded = trees * ((size_t{2} << depth) - 1);
  if (padded > 16 * forest->nodes.size()) return;
  CompleteForest& c = forest->complete;
  c.depth = depth;
  const size_t sp = c.splits_per_tree(), lp = c.leaves_per_tree();
  c.thresholds.assign(trees * sp + kCompleteLanes, 0.0f);
  c.offsets.assign(trees * sp + kCompleteLanes, 0);
  c.leaves.assign(trees * lp, 0.0f);
  for (size_t t = 0; t < trees; ++t) {
    FillComplete(forest->nodes, forest->roots[t], 0, 0, depth,
                 CompleteTree{c.thresholds.data() + t * sp, c.offsets.data() + t * sp, c.leaves.data() + t * lp});
  }
}

Status ReadBooster(const Context& ctx, const json& booster, const ForestLimits& limits, XgbModel* out) {
  MB_ASSIGN_OR_RETURN(out->booster, StringMember(ctx, booster, "learner.gradient_booster", "name"));
  if (out->booster == "gbtree") {
    MB_ASSIGN_OR_RETURN(const json* model, Member(ctx, booster, "learner.gradient_booster", "model"));
    return ReadTrees(ctx, *model, "gbtree.model", limits, out);
  }
  if (out->booster == "dart") {
    MB_ASSIGN_OR_RETURN(const json* inner, Member(ctx, booster, "learner.gradient_booster", "gbtree"));
    MB_ASSIGN_OR_RETURN(const json* model, Member(ctx, *inner, "dart.gbtree", "model"));
    MB_RETURN_IF_ERROR(ReadTrees(ctx, *model, "dart.gbtree.model", limits, out));
    MB_ASSIGN_OR_RETURN(const json* drop, Member(ctx, booster, "learner.gradient_booster", "weight_drop"));
    if (!drop->is_array() || drop->size() != out->forest.roots.size()) {
      return ctx.Error(fmt::format("dart weight_drop must hold one number per tree ({})", out->forest.roots.size()));
    }
    for (const json& w : *drop) {
      if (!w.is_number() || !std::isfinite(static_cast<float>(w.get<double>()))) {
        return ctx.Error("dart weight_drop must hold finite numbers");
      }
    }
    out->fallback_reason = "the dart booster";
    return Status::Ok();
  }
  if (out->booster == "gblinear") {
    // XGBoost 1.7 has no in-place prediction for gblinear, which LoadedModel
    // uses, so such a version could never be served.
    return ctx.Error("the gblinear booster is not supported (modelbay serves tree models: use booster gbtree or "
                     "dart)");
  }
  return ctx.Error(fmt::format("unknown booster \"{}\" (expected gbtree or dart)", out->booster));
}

}  // namespace

Result<XgbModel> ParseXgboostModel(std::string_view text, std::string_view source, const ForestLimits& limits) {
  Context ctx(source);
  if (text.size() > limits.max_model_bytes) {
    return ctx.Error(fmt::format("{} bytes, over the limit of {} bytes", text.size(), limits.max_model_bytes));
  }
  // XGBoost reads a buffer as JSON only when its first byte is '{'.
  if (text.empty() || text.front() != '{') return ctx.Error("not a JSON model (the first byte must be '{')");
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return ctx.Error("not valid JSON");
  MB_ASSIGN_OR_RETURN(const json* learner, Member(ctx, doc, "the model", "learner"));
  XgbModel out;
  MB_RETURN_IF_ERROR(ReadLearner(ctx, *learner, limits, &out));
  if (auto it = learner->find("feature_names"); it != learner->end()) {
    if (!it->is_array() || (!it->empty() && it->size() != out.num_feature)) {
      return ctx.Error("learner.feature_names must be empty or name every feature");
    }
  }
  MB_ASSIGN_OR_RETURN(const json* booster, Member(ctx, *learner, "learner", "gradient_booster"));
  MB_RETURN_IF_ERROR(ReadBooster(ctx, *booster, limits, &out));
  if (out.fallback_reason.empty()) BuildComplete(limits, &out.forest);
  return out;
}

}  // namespace modelbay
