// Schema inference from a training table (DESIGN §4; rules in docs/training.md).
//
// Target: options.target, else "churn" when present, else the last column.
// Features: every other column in file order, minus options.drop. A feature
// is numeric when every non-missing cell is a finite number, or when it is a
// numeric column with a few stray tokens: at least kMinNumericShare (95%) of
// its non-missing cells are finite numbers and the rest hold at most
// kMaxStrayTokens (5) distinct texts ("?", "-", "inf", "1e400", "1,5",
// "0x10"). Those cells are then missing values, reported in
// InferredSchema::stray so that training warns about them. Any other column
// is categorical. options.column_types forces a feature's type (a forced
// numeric column's non-numbers are missing and reported too). Task: a target with 2 distinct values is binary; 3..20
// distinct integers, or 3..200 distinct values when some are not numbers, is
// multi-class; any other numeric target is a regression.
#pragma once

#include <cstdint>
#include <map>
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
inline constexpr double kMinNumericShare = 0.95;
inline constexpr size_t kMaxStrayTokens = 5;
// At most this many distinct stray tokens are listed (a forced numeric
// column may have more; `cells` counts them all).
inline constexpr size_t kMaxListedTokens = 10;

struct SchemaOptions {
  std::optional<std::string> target;
  std::vector<std::string> drop;
  std::map<std::string, FeatureType> column_types;  // forced feature types, by column name
};

// Non-numbers read as missing in a numeric feature column.
struct StrayTokens {
  std::string column;
  size_t cells = 0;                 // how many cells held one
  size_t first_line = 0;            // 1-based line of the first in its file
  std::string first_source;         // that file
  std::vector<std::string> tokens;  // distinct, trimmed, in order of appearance
  bool more_tokens = false;         // more distinct tokens than `tokens` lists
  bool forced = false;              // the column was forced numeric
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
  std::vector<StrayTokens> stray;        // per numeric feature with stray tokens
};

// InvalidArgument, naming the file and column, when the target is absent, a
// --drop column is absent, a --column-type column is absent or is the target,
// a column forced numeric holds no number, a feature column is empty in every row, no
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
  std::vector<size_t> values;        // per column: non-missing cells
  std::vector<size_t> text_cells;    // per column: non-missing cells that are not numbers
  std::vector<size_t> first_text_line;        // per column: 1-based line of the first such cell
  std::vector<std::string> first_text_source; // per column: its file
  // Per column: distinct non-numbers (trimmed), in order of appearance, at
  // most kMaxListedTokens + 1 (more: text_overflow).
  std::vector<std::vector<std::string>> text_tokens;
  std::vector<uint8_t> text_overflow;
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

// InvalidArgument when the target, a --drop or a --column-type column is not
// in the header.
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
