// A model version loaded into memory, ready to score: schema, fitted
// preprocessor and XGBoost booster. Immutable after construction and safe to
// share between threads (held as shared_ptr<const LoadedModel>).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/schema.h"

namespace modelbay {

// One input value as it arrives (JSON or CSV): missing, a number, or text.
// Text in a numeric column is parsed as a number ("2.5" is fine, "abc" is an
// error naming row and column); a number in a categorical column is matched
// by its text form ("2" for 2.0).
using Cell = std::variant<std::monostate, double, std::string_view>;

// Row-major input: rows x schema.features.size() cells, in schema order.
struct CellMatrix {
  size_t rows = 0;
  size_t cols = 0;
  std::vector<Cell> cells;
  const Cell& at(size_t r, size_t c) const { return cells[r * cols + c]; }
};

class Preprocessor;
struct BaselineState;

// baseline.json of a version as the registry read it (model/baseline.h).
struct BaselineArtifact {
  bool listed = false;  // the version's metadata lists baseline.json
  std::string bytes;    // its checksum-verified bytes, when `problem` is empty
  std::string problem;  // why it could not be read or verified
};

struct Predictions {
  size_t rows = 0;
  size_t num_classes = 0;  // 0 for regression
  // Regression: the predicted value. Classifiers: the predicted class index
  // into Schema::class_labels.
  std::vector<double> values;
  // Classifiers: rows x num_classes, row-major. Empty for regression.
  std::vector<float> probabilities;
  // With PredictOptions::contributions: XGBoost's SHAP values (pred_contribs),
  // rows x contribution_groups x (features + 1), row-major; the last value of
  // each group is the bias. Groups: one per class for multi-class models,
  // else one (the margin of class 1 for binary models, the raw score for
  // regression). Each preprocessor feature is exactly one input column (a
  // categorical column is one ordinal code), so value f is column f's
  // contribution. A group's values sum to its margin (the score before the
  // objective's link: the logit for binary models).
  size_t contribution_groups = 0;
  std::vector<float> contributions;
};

// What the caller wants of a prediction beyond labels and probabilities.
struct PredictOptions {
  // Binary classifiers only: the label is class 1 when its probability
  // exceeds this (0 to 1); unset means 0.5. InvalidArgument on other tasks.
  std::optional<double> threshold;
  // Fill Predictions::contributions (XGBoost's predictor; costlier than
  // scoring).
  bool contributions = false;
};

class LoadedModel {
 public:
  // Builds from the artifacts of a version (already checksum-verified by the
  // registry). Never executes anything from them. CheckArtifacts
  // (model/artifacts.h) validates both files first (DataLoss naming the tree,
  // node and problem); only then does XGBoost's loader see model.json.
  static Result<std::shared_ptr<const LoadedModel>> FromArtifacts(
      int version, std::string_view model_bytes, std::string_view preprocessor_json,
      nlohmann::json metadata, const BaselineArtifact& baseline = {});
  ~LoadedModel();

  int version() const { return version_; }
  const Schema& schema() const;
  const nlohmann::json& metadata() const { return metadata_; }
  // The version's baseline: missing (older versions, imports), invalid (with
  // why; the version still serves) or parsed. Never null.
  const BaselineState& baseline() const { return *baseline_; }

  // Index of a feature column by name; InvalidArgument naming the column and
  // listing the expected ones when unknown.
  Result<size_t> ColumnIndex(std::string_view name) const;

  // Scores rows (see PredictEncoded; one thread per call: callers scale out
  // with their own threads). InvalidArgument for a wrong row width or a non-numeric value
  // in a numeric column, naming the row (0-based as "row N") and column.
  // Thread-safe. `options` may ask for a decision threshold (binary models)
  // and for contributions.
  Result<Predictions> Predict(const CellMatrix& input, const PredictOptions& options = {}) const;

  // Scores rows already encoded by this model's preprocessor (row-major,
  // rows x features, NaN for missing): training's holdout, batch scoring.
  // Uses modelbay's forest scorer (model/forest_scorer.h), or XGBoost's
  // predictor for the models it does not handle (dart, other
  // objectives; logged once at load).
  Result<Predictions> PredictEncoded(const float* data, size_t rows) const;
  // Forces one scorer (tests and benchmarks compare them). kForest on a
  // model that needs XGBoost is FailedPrecondition.
  enum class Scorer { kForest, kXgboost };
  Result<Predictions> PredictEncodedWith(Scorer scorer, const float* data, size_t rows) const;
  // XGBoost's SHAP values of encoded rows (the layout of
  // Predictions::contributions; `groups` receives their count). Thread-safe:
  // each call builds its own DMatrix.
  Result<std::vector<float>> ContributionsEncoded(const float* data, size_t rows, size_t* groups) const;
  // False when PredictEncoded falls back to XGBoost.
  bool uses_forest_scorer() const;
  const Preprocessor& preprocessor() const;

  // The predicted label of one row as text: the class label, or the
  // regression value formatted with enough digits to round-trip.
  std::string LabelText(const Predictions& p, size_t row) const;

  class Impl;

 private:
  LoadedModel() = default;
  int version_ = 0;
  nlohmann::json metadata_;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<const BaselineState> baseline_;
};

}  // namespace modelbay
