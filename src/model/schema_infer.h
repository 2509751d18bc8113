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

#include <nlohmann/json.hpp>

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
// Equivalent to DecideSchema(CollectSchemaFacts(table)) + LabelRows.
Result<InferredSchema> InferSchema(const CsvTable& table, const SchemaOptions& options);

// What schema inference needs to know about a table, in a form that merges:
// the facts of several tables (the shares of a distributed training) merge
// into the facts of their concatenation, so every worker decides the same
// schema as one process reading all the data would.
struct SchemaFacts {
  std::string source;                // the first table's source (for messages)
  std::vector<std::string> header;
  size_t rows = 0;
  std::vector<uint8_t> has_value;    // per column: some cell is not missing
  std::vector<uint8_t> numeric;      // per column: every non-missing cell is a number
  size_t target_column = 0;
  size_t rows_with_target = 0;
  size_t rows_without_target = 0;
  std::string first_without_target;  // "FILE line N" of the first such row, or empty
  bool target_numeric = true;
  // Distinct target values, at most kMaxIntegerClasses + 1 (more: overflow),
  // each with the text of its first row.
  std::vector<std::pair<double, std::string>> target_numbers;  // sorted by value
  bool numbers_overflow = false;
  std::vector<std::string> target_texts;  // distinct raw texts, sorted, at most kMaxTextClasses + 1
  bool texts_overflow = false;
};

// InvalidArgument when the target or a --drop column is not in the header.
Result<SchemaFacts> CollectSchemaFacts(const CsvTable& table, const SchemaOptions& options);
// Merges `other` (a later share) into `into`. InvalidArgument when the headers differ.
Status MergeSchemaFacts(SchemaFacts& into, const SchemaFacts& other);
// The schema, feature_columns and target_column of the facts (labels and
// rows are filled by LabelRows).
Result<InferredSchema> DecideSchema(const SchemaFacts& facts, const SchemaOptions& options);
// Fills labels, rows and the without-target counts of `table` for a decided schema.
void LabelRows(const CsvTable& table, InferredSchema& out);

nlohmann::json SchemaFactsToJson(const SchemaFacts& facts);
Result<SchemaFacts> SchemaFactsFromJson(const nlohmann::json& j);

std::string_view TaskName(TaskType task);
std::string_view FeatureTypeName(FeatureType type);

}  // namespace modelbay
