#include "train/booster.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "core/suggest.h"

namespace modelbay {
namespace {

std::string DefaultObjective(TaskType task) {
  switch (task) {
    case TaskType::kBinary: return "binary:logistic";
    case TaskType::kMulticlass: return "multi:softprob";
    case TaskType::kRegression: return "reg:squarederror";
  }
  return "";
}

bool ObjectiveFits(TaskType task, std::string_view objective) {
  switch (task) {
    case TaskType::kBinary: return objective == "binary:logistic";
    case TaskType::kMulticlass: return objective == "multi:softprob";
    case TaskType::kRegression: return objective.starts_with("reg:") && objective != "reg:logistic";
  }
  return false;
}

Result<std::string> ParamText(const std::string& key, const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return std::string(v.get<bool>() ? "1" : "0");
  if (v.is_number()) return v.dump();
  return InvalidArgument(fmt::format("--params: '{}' must be a string, a number or a boolean, got {}", key, v.dump()));
}

// Every parameter name XGBoost 1.7 documents (doc/parameter.rst of 1.7:
// general, tree booster, dart, linear booster, learning task, objective
// specific), its aliases, and modelbay's names for the number of rounds.
const std::vector<std::string>& KnownParamNames() {
  static const std::vector<std::string> names = {
      // general
      "booster", "verbosity", "validate_parameters", "nthread", "disable_default_eval_metric", "num_feature",
      "gpu_id", "use_rmm",
      // tree booster
      "eta", "learning_rate", "gamma", "min_split_loss", "max_depth", "min_child_weight", "max_delta_step",
      "subsample", "sampling_method", "colsample_bytree", "colsample_bylevel", "colsample_bynode", "lambda",
      "reg_lambda", "alpha", "reg_alpha", "tree_method", "sketch_eps", "scale_pos_weight", "updater",
      "refresh_leaf", "process_type", "grow_policy", "max_leaves", "max_bin", "predictor", "num_parallel_tree",
      "monotone_constraints", "interaction_constraints", "single_precision_histogram",
      // categorical features
      "max_cat_to_onehot", "max_cat_threshold",
      // dart booster
      "sample_type", "normalize_type", "rate_drop", "one_drop", "skip_drop",
      // linear booster
      "feature_selector", "top_k",
      // learning task
      "objective", "base_score", "eval_metric", "seed", "random_state", "seed_per_iteration",
      "tweedie_variance_power", "huber_slope", "aft_loss_distribution", "aft_loss_distribution_scale",
      "num_class",
      // modelbay: the number of boosting rounds
      "num_boost_round", "n_estimators", "num_rounds"};
  return names;
}

}  // namespace

nlohmann::json BoostParams::ToJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : params) out[k] = v;
  out["num_boost_round"] = rounds;
  return out;
}

Status CheckParamNames(const nlohmann::json& overrides) {
  if (!overrides.is_object()) return Status::Ok();  // ResolveParams says what is wrong
  const auto& known = KnownParamNames();
  for (const auto& [key, value] : overrides.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    auto near = NearestName(key, known);
    return InvalidArgument(fmt::format(
        "'{}' is not an XGBoost 1.7 parameter{}; fix the name, or pass --allow-unknown-params to "
        "hand it to XGBoost as it is",
        key, near ? fmt::format(" (did you mean {}?)", *near) : ""));
  }
  return Status::Ok();
}

Result<BoostParams> ResolveParams(const Schema& schema, const nlohmann::json& overrides) {
  if (!overrides.is_object()) return InvalidArgument("--params: the file must hold a JSON object of XGBoost parameters");
  BoostParams out;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  out.params = {{"objective", DefaultObjective(schema.task)},
                {"max_depth", "6"},
                {"eta", "0.3"},
                {"tree_method", "hist"},
                {"nthread", std::to_string(cores)},
                {"seed", "0"},
                {"verbosity", "1"}};
  if (schema.task == TaskType::kMulticlass) out.params.emplace_back("num_class", std::to_string(schema.class_labels.size()));
  for (const auto& [key, value] : overrides.items()) {
    if (key == "num_boost_round" || key == "n_estimators" || key == "num_rounds") {
      if (!value.is_number_integer() || value.get<long>() < 1 || value.get<long>() > 100000) {
        return InvalidArgument(fmt::format("--params: '{}' must be an integer from 1 to 100000, got {}", key, value.dump()));
      }
      out.rounds = value.get<int>();
      continue;
    }
    if (key == "num_class") {
      return InvalidArgument("--params: 'num_class' is set from the target's classes; remove it");
    }
    MB_ASSIGN_OR_RETURN(std::string text, ParamText(key, value));
    if (key == "objective" && !ObjectiveFits(schema.task, text)) {
      return InvalidArgument(fmt::format("--params: objective '{}' does not fit the {} target '{}'; use {}", text,
                                         schema.task == TaskType::kBinary       ? "binary"
                                         : schema.task == TaskType::kMulticlass ? "multi-class"
                                                                                : "regression",
                                         schema.target, DefaultObjective(schema.task)));
    }
    auto it = std::find_if(out.params.begin(), out.params.end(), [&](const auto& p) { return p.first == key; });
    if (it != out.params.end()) {
      it->second = text;
    } else {
      out.params.emplace_back(key, text);
    }
  }
  return out;
}

Result<BoosterPtr> FitBooster(std::vector<float> features, std::span<const float> labels, size_t cols,
                              const BoostParams& params, const RoundCallback& on_round) {
  int nthread = 0;
  for (const auto& [k, v] : params.params) {
    if (k == "nthread") nthread = std::atoi(v.c_str());
  }
  const size_t rows = labels.size();
  if (features.size() != rows * cols) {
    return Internal(fmt::format("training matrix of {} values for {} rows x {} columns", features.size(), rows, cols));
  }
  DMatrixHandle dm = nullptr;
  MB_RETURN_IF_ERROR(XgbCheck(XGDMatrixCreateFromMat_omp(features.data(), rows, cols, std::nanf(""), &dm, nthread),
                              "building the training matrix"));
  DMatrixPtr dtrain(dm);
  std::vector<float>().swap(features);  // XGBoost holds its own copy now
  MB_RETURN_IF_ERROR(XgbCheck(XGDMatrixSetFloatInfo(dm, "label", labels.data(), rows), "setting the labels"));
  BoosterHandle bh = nullptr;
  MB_RETURN_IF_ERROR(XgbCheck(XGBoosterCreate(&dm, 1, &bh), "creating the booster"));
  BoosterPtr booster(bh);
  for (const auto& [k, v] : params.params) {
    MB_RETURN_IF_ERROR(XgbCheck(XGBoosterSetParam(bh, k.c_str(), v.c_str()),
                                fmt::format("--params: XGBoost rejected '{}' = '{}'", k, v), Code::kInvalidArgument));
  }
  for (int i = 0; i < params.rounds; ++i) {
    MB_RETURN_IF_ERROR(XgbCheck(XGBoosterUpdateOneIter(bh, i, dm), fmt::format("boosting round {}", i + 1),
                                Code::kInvalidArgument));
    if (on_round) on_round(i + 1, params.rounds);
  }
  return booster;
}

Result<std::string> SaveModelJson(BoosterHandle booster) {
  bst_ulong len = 0;
  const char* data = nullptr;
  MB_RETURN_IF_ERROR(XgbCheck(XGBoosterSaveModelToBuffer(booster, R"({"format":"json"})", &len, &data),
                              "saving the model"));
  return std::string(data, len);
}

}  // namespace modelbay
