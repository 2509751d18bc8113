// The preprocessor: fitted once at training, stored as preprocessor.json with
// the version, applied identically at inference. Per feature, in the
// schema's column order:
//   numeric      min-max scaling (x - min) / (max - min); 0 for a constant
//                column; missing -> NaN
//   categorical  the code of the value in the sorted vocabulary (0, 1, ...);
//                missing or unseen -> NaN (XGBoost's missing value). A value
//                not in the vocabulary as written but that is a number is
//                matched by numeric value: 5, "5.0" and "5e0" all find the
//                category "5". When several categories have the same value
//                ("5" and "05"), the one written as the shortest decimal
//                ("5") wins, else the first in sorted order. The index is
//                built when the preprocessor is fitted or read, so files
//                written before this rule need no change.
// Text is trimmed of surrounding spaces and read by model/values.h.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/loaded_model.h"
#include "model/schema.h"

namespace modelbay {

inline constexpr int kPreprocessorFormatVersion = 1;

// One text column per feature (schema order); each holds every table row.
using TextColumns = std::vector<const std::vector<std::string_view>*>;

class Preprocessor {
 public:
  Preprocessor() = default;

  // What a fit learns from some rows, per feature: the range of a numeric
  // one (min > max when it has no value), the sorted distinct values of a
  // categorical one. Stats of several shares merge into the stats of their
  // union, so a distributed training fits what one process would.
  struct FeatureStats {
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    std::vector<std::string> categories;
  };
  static std::vector<FeatureStats> CollectStats(const Schema& schema, const TextColumns& columns,
                                                std::span<const uint32_t> rows);
  static void MergeStats(std::vector<FeatureStats>& into, const std::vector<FeatureStats>& other);
  static Preprocessor FromStats(Schema schema, const std::vector<FeatureStats>& stats);
  static nlohmann::json StatsToJson(const std::vector<FeatureStats>& stats);
  static Result<std::vector<FeatureStats>> StatsFromJson(const nlohmann::json& j);

  // Fits on `rows` of `columns`: FromStats(CollectStats(...)). The schema's
  // feature types decide the transform; text in a numeric column that does
  // not parse is missing.
  static Preprocessor Fit(Schema schema, const TextColumns& columns, std::span<const uint32_t> rows);
  // Strict: DataLoss naming `source` and the field when the JSON is
  // malformed, has the wrong format version, or is inconsistent.
  static Result<Preprocessor> FromJson(std::string_view text, std::string_view source = "preprocessor.json");
  std::string ToJson() const;

  const Schema& schema() const { return schema_; }
  size_t num_features() const { return schema_.features.size(); }
  const std::vector<std::string>& categories(size_t feature) const { return columns_[feature].categories; }
  double min(size_t feature) const { return columns_[feature].min; }
  double max(size_t feature) const { return columns_[feature].max; }

  // Encodes `rows` of `columns` into `out`, row-major (rows.size() x
  // num_features()).
  void Transform(const TextColumns& columns, std::span<const uint32_t> rows, float* out) const;
  // Encodes one value. False when text in a numeric column is not a number.
  bool Encode(size_t feature, const Cell& cell, float* out) const;

 private:
  struct Column {
    double min = 0;
    double max = 0;
    double scale = 0;                     // 1 / (max - min), or 0 when constant
    std::vector<std::string> categories;  // sorted, distinct
    // (value, code) of the categories that are numbers, sorted by value,
    // one per value (see the rule above).
    std::vector<std::pair<double, uint32_t>> numeric_codes;
  };
  static void IndexNumericCategories(Column& c);
  float NumericCode(size_t feature, double value) const;
  float Scale(size_t feature, double x) const;
  float Code(size_t feature, std::string_view text) const;
  bool EncodeText(size_t feature, std::string_view text, float* out) const;
  void SetRange(Column& c, double min, double max);

  Schema schema_;
  std::vector<Column> columns_;
};

nlohmann::json SchemaToJson(const Schema& schema);

}  // namespace modelbay
