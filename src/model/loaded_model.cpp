#include "model/loaded_model.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "model/artifacts.h"
#include "model/baseline.h"
#include "model/forest_scorer.h"
#include "model/preprocessor.h"
#include "model/schema_infer.h"
#include "model/values.h"
#include "model/xgboost_util.h"

namespace modelbay {

class LoadedModel::Impl {
 public:
  Preprocessor preprocessor;
  XgbModel model;  // validated; scored by PredictForest unless model.fallback_reason is set
  BoosterPtr booster;  // XGBoost's view of the same model.json, for the fallback
};

namespace {

// XGBoost builds a fresh proxy DMatrix when none is passed to
// XGBoosterPredictFromDense, and each one reads the cgroup CPU quota files:
// four syscalls per prediction. One proxy per thread, reused, avoids that.
DMatrixHandle ThreadProxy() {
  struct Proxy {
    DMatrixHandle handle = nullptr;
    Proxy() { XGProxyDMatrixCreate(&handle); }
    ~Proxy() {
      if (handle != nullptr) XGDMatrixFree(handle);
    }
  };
  thread_local Proxy proxy;
  return proxy.handle;
}

constexpr std::string_view kPredictConfig =
    R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"cache_id":0,"missing":NaN})";

// XGBoost's pred_contribs; strict_shape makes every task [rows, groups, features + 1].
constexpr std::string_view kContributionsConfig =
    R"({"type":2,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":true})";

std::string Quote(std::string_view text) {
  constexpr size_t kMax = 40;
  if (text.size() <= kMax) return fmt::format("\"{}\"", text);
  return fmt::format("\"{}...\"", text.substr(0, kMax));
}

// A baseline that cannot be used is reported, never fatal: the version serves.
std::shared_ptr<const BaselineState> ReadBaseline(int version, const BaselineArtifact& artifact,
                                                  const Preprocessor& pre) {
  auto state = std::make_shared<BaselineState>();
  if (!artifact.listed) return state;
  state->kind = BaselineState::Kind::kInvalid;
  if (!artifact.problem.empty()) {
    state->problem = artifact.problem;
  } else if (auto parsed = ParseBaseline(artifact.bytes, pre, fmt::format("version {} baseline.json", version));
             !parsed.ok()) {
    state->problem = parsed.status().message();
  } else {
    state->kind = BaselineState::Kind::kOk;
    state->baseline = std::make_shared<const Baseline>(std::move(*parsed));
  }
  if (state->kind == BaselineState::Kind::kInvalid) {
    spdlog::warn("version {}: its baseline cannot be used ({}); the version serves, drift is not computed", version,
                 state->problem);
  }
  return state;
}

}  // namespace

LoadedModel::~LoadedModel() = default;

const Schema& LoadedModel::schema() const { return impl_->preprocessor.schema(); }
const Preprocessor& LoadedModel::preprocessor() const { return impl_->preprocessor; }

Result<std::shared_ptr<const LoadedModel>> LoadedModel::FromArtifacts(int version, std::string_view model_bytes,
                                                                      std::string_view preprocessor_json,
                                                                      nlohmann::json metadata,
                                                                      const BaselineArtifact& baseline) {
  // Step 1: our checks, before XGBoost sees the bytes.
  auto checked = CheckArtifacts(model_bytes, preprocessor_json, fmt::format("version {}", version));
  if (!checked.ok()) return DataLoss(checked.status().message());
  // Step 2: XGBoost's booster, kept for the models our scorer does not handle.
  BoosterHandle handle = nullptr;
  MB_RETURN_IF_ERROR(XgbCheck(XGBoosterCreate(nullptr, 0, &handle), "creating an XGBoost booster"));
  BoosterPtr booster(handle);
  MB_RETURN_IF_ERROR(XgbCheck(XGBoosterLoadModelFromBuffer(handle, model_bytes.data(), model_bytes.size()),
                              fmt::format("version {} model.json is not a valid XGBoost model", version),
                              Code::kDataLoss));
  MB_RETURN_IF_ERROR(XgbCheck(XGBoosterSetParam(handle, "nthread", "1"), "configuring the booster"));
  bst_ulong num_features = 0;
  MB_RETURN_IF_ERROR(XgbCheck(XGBoosterGetNumFeature(handle, &num_features), "reading the model"));
  if (num_features != checked->preprocessor.num_features()) {
    return DataLoss(fmt::format("version {}: model.json expects {} features but preprocessor.json lists {}",
                                version, num_features, checked->preprocessor.num_features()));
  }
  if (!checked->model.fallback_reason.empty()) {
    spdlog::info("version {}: scored by XGBoost's predictor: modelbay's scorer does not handle {}", version,
                 checked->model.fallback_reason);
  }
  std::shared_ptr<LoadedModel> model(new LoadedModel());
  model->version_ = version;
  model->metadata_ = std::move(metadata);
  model->impl_ = std::make_unique<Impl>();
  model->impl_->preprocessor = std::move(checked->preprocessor);
  model->impl_->model = std::move(checked->model);
  model->impl_->booster = std::move(booster);
  model->baseline_ = ReadBaseline(version, baseline, model->impl_->preprocessor);
  // The first XGBoost prediction configures the learner, which is not
  // thread-safe: do it here, before the model is shared.
  std::vector<float> probe(num_features, std::nanf(""));
  MB_ASSIGN_OR_RETURN(Predictions unused, model->PredictEncodedWith(Scorer::kXgboost, probe.data(), 1));
  (void)unused;
  return std::shared_ptr<const LoadedModel>(std::move(model));
}

Result<size_t> LoadedModel::ColumnIndex(std::string_view name) const {
  const auto& features = schema().features;
  for (size_t i = 0; i < features.size(); ++i) {
    if (features[i].name == name) return i;
  }
  std::string names;
  for (const auto& f : features) names += (names.empty() ? "" : ", ") + f.name;
  return InvalidArgument(fmt::format("unknown column '{}'; model version {} expects: {}", name, version_, names));
}

Result<Predictions> LoadedModel::Predict(const CellMatrix& input, const PredictOptions& options) const {
  const Preprocessor& pre = impl_->preprocessor;
  const size_t width = pre.num_features();
  if (input.cols != width || input.cells.size() != input.rows * input.cols) {
    std::string names;
    for (const auto& f : pre.schema().features) names += (names.empty() ? "" : ", ") + f.name;
    return InvalidArgument(fmt::format("each row must have {} values (model version {} expects: {}); got {}",
                                       width, version_, names, input.cols));
  }
  thread_local std::vector<float> encoded;
  encoded.resize(input.rows * width);
  for (size_t r = 0; r < input.rows; ++r) {
    for (size_t c = 0; c < width; ++c) {
      const Cell& cell = input.at(r, c);
      if (!pre.Encode(c, cell, &encoded[r * width + c])) {
        return InvalidArgument(fmt::format("row {}, column '{}': expected a number, got {}", r,
                                           pre.schema().features[c].name,
                                           Quote(std::get<std::string_view>(cell))));
      }
    }
  }
  if (options.threshold && pre.schema().task != TaskType::kBinary) {
    return InvalidArgument(fmt::format("a decision threshold applies to binary classifiers only; model version {} "
                                       "is a {} model (leave \"threshold\" out)",
                                       version_, TaskName(pre.schema().task)));
  }
  if (options.threshold && !(*options.threshold >= 0.0 && *options.threshold <= 1.0)) {
    return InvalidArgument(fmt::format("threshold must be a number from 0 to 1 (got {})", *options.threshold));
  }
  MB_ASSIGN_OR_RETURN(Predictions out, PredictEncoded(encoded.data(), input.rows));
  if (options.threshold) {
    for (size_t r = 0; r < out.rows; ++r) out.values[r] = out.probabilities[2 * r + 1] > *options.threshold ? 1 : 0;
  }
  if (options.contributions) {
    MB_ASSIGN_OR_RETURN(out.contributions, ContributionsEncoded(encoded.data(), input.rows, &out.contribution_groups));
  }
  return out;
}

Result<std::vector<float>> LoadedModel::ContributionsEncoded(const float* data, size_t rows, size_t* groups) const {
  const size_t width = schema().features.size();
  *groups = schema().task == TaskType::kMulticlass ? schema().class_labels.size() : 1;
  if (rows == 0) return std::vector<float>{};
  // Step 1: a DMatrix of the rows (contributions are not an in-place prediction type).
  const std::string array = DenseArrayInterface(data, rows, width);
  DMatrixHandle handle = nullptr;
  MB_RETURN_IF_ERROR(XgbCheck(XGDMatrixCreateFromDense(array.c_str(), R"({"missing":NaN,"nthread":1})", &handle),
                              "building the rows to explain"));
  DMatrixPtr matrix(handle);
  // Step 2: XGBoost's TreeSHAP, shaped [rows, groups, features + 1].
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  MB_RETURN_IF_ERROR(XgbCheck(XGBoosterPredictFromDMatrix(impl_->booster.get(), handle, kContributionsConfig.data(),
                                                          &shape, &dim, &result),
                              fmt::format("computing contributions with model version {}", version_)));
  const size_t expected = rows * *groups * (width + 1);
  size_t got = 1;
  for (bst_ulong d = 0; d < dim; ++d) got *= shape[d];
  if (dim != 3 || got != expected) {
    return DataLoss(fmt::format("model version {} returned {} contributions for {} rows of {} columns in {} "
                                "groups; model.json does not match its preprocessor.json",
                                version_, got, rows, width, *groups));
  }
  return std::vector<float>(result, result + expected);
}

Result<Predictions> LoadedModel::PredictEncoded(const float* data, size_t rows) const {
  return PredictEncodedWith(impl_->model.fallback_reason.empty() ? Scorer::kForest : Scorer::kXgboost, data, rows);
}

bool LoadedModel::uses_forest_scorer() const { return impl_->model.fallback_reason.empty(); }

Result<Predictions> LoadedModel::PredictEncodedWith(Scorer scorer, const float* data, size_t rows) const {
  const Schema& s = schema();
  Predictions out;
  out.rows = rows;
  out.num_classes = s.is_classifier() ? s.class_labels.size() : 0;
  if (rows == 0) return out;
  const size_t expected = rows * (s.task == TaskType::kMulticlass ? out.num_classes : 1);
  const float* result = nullptr;
  thread_local std::vector<float> scores;
  if (scorer == Scorer::kForest) {
    // CheckArtifacts made sure outputs_per_row() matches the task.
    scores.resize(rows * impl_->model.outputs_per_row());
    MB_RETURN_IF_ERROR(PredictForest(impl_->model, data, rows, s.features.size(), scores.data()));
    result = scores.data();
  } else {
    std::string array = DenseArrayInterface(data, rows, s.features.size());
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    MB_RETURN_IF_ERROR(XgbCheck(XGBoosterPredictFromDense(impl_->booster.get(), array.c_str(),
                                                          kPredictConfig.data(), ThreadProxy(), &shape, &dim,
                                                          &result),
                                fmt::format("scoring with model version {}", version_)));
    size_t got = 1;
    for (bst_ulong d = 0; d < dim; ++d) got *= shape[d];
    if (got != expected) {
      return DataLoss(fmt::format("model version {} returned {} scores for {} rows; model.json does not match its "
                                  "preprocessor.json (task or classes)",
                                  version_, got, rows));
    }
  }
  out.values.resize(rows);
  switch (s.task) {
    case TaskType::kRegression:
      for (size_t r = 0; r < rows; ++r) out.values[r] = result[r];
      break;
    case TaskType::kBinary:
      out.probabilities.resize(rows * 2);
      for (size_t r = 0; r < rows; ++r) {
        float p = result[r];
        out.probabilities[2 * r] = 1.0f - p;
        out.probabilities[2 * r + 1] = p;
        out.values[r] = p > 0.5f ? 1 : 0;
      }
      break;
    case TaskType::kMulticlass: {
      const size_t k = out.num_classes;
      out.probabilities.assign(result, result + rows * k);
      for (size_t r = 0; r < rows; ++r) {
        const float* row = result + r * k;
        out.values[r] = static_cast<double>(std::max_element(row, row + k) - row);
      }
      break;
    }
  }
  return out;
}

std::string LoadedModel::LabelText(const Predictions& p, size_t row) const {
  const Schema& s = schema();
  if (!s.is_classifier()) return FormatNumber(p.values[row]);
  return s.class_labels[static_cast<size_t>(p.values[row])];
}

}  // namespace modelbay
