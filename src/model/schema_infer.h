// Schema inference from a training table (DESIGN §4; rules in docs/training.md).
//
// Target: options.target, else "churn" when present, else the last column.
// Features: every other column in file order, minus options.drop. A feature
// is numeric when every non-missing cell is a finite number, else
// categorical. Task: a target with 2 distinct values is binary; 3..20
// distinct integers, or 3..200 distinct values when some are not numbers, is
// multi-class; any other numeric target is a regression.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/csv.h"
#include "core/status.h"
#include "model/schema.h"

namespace modelbay {

inline constexpr size_t kMaxIntegerClasses = 20;
inline constexpr size_t kMaxTextClasses = 200;

struct SchemaOptions {
  std::optional<std::string> target;
  std::vector<std::string> drop;
};

struct InferredSchema {
  Schema schema;
  size_t target_column = 0;
  std::vector<size_t> feature_columns;  // table column of each schema feature
  // Per table row: the class index (classifiers) or value (regression).
  // Rows whose target is missing are not in `rows`; their label is NaN.
  std::vector<float> labels;
  std::vector<uint32_t> rows;  // rows with a target, ascending
  size_t rows_without_target = 0;
  size_t first_line_without_target = 0;  // 1-based line in the file, 0 if none
};

// InvalidArgument, naming the file and column, when the target is absent, a
// --drop column is absent, a feature column is empty in every row, no
// feature is left, or the target has no values or a single class.
Result<InferredSchema> InferSchema(const CsvTable& table, const SchemaOptions& options);

std::string_view TaskName(TaskType task);
std::string_view FeatureTypeName(FeatureType type);

}  // namespace modelbay
