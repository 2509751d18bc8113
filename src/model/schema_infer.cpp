#include "model/schema_infer.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "model/values.h"

namespace modelbay {
namespace {

std::string ColumnList(const std::vector<std::string>& header) {
  std::string out;
  for (const auto& h : header) {
    if (!out.empty()) out += ", ";
    out += h;
  }
  return out;
}

Result<size_t> FindColumn(const CsvTable& table, std::string_view name, std::string_view what) {
  const auto& header = table.header();
  auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) {
    return InvalidArgument(fmt::format("{} column '{}' not in {}; columns are: {}", what, name,
                                       table.source(), ColumnList(header)));
  }
  return static_cast<size_t>(it - header.begin());
}

// The distinct non-numbers of a column, as read by InferFeatureType.
struct NonNumbers {
  size_t cells = 0;
  size_t first_row = 0;
  std::vector<std::string_view> distinct;  // trimmed, in order of appearance
  bool too_many = false;                   // more than `limit` distinct
};

// Reads a feature column once: its type (forced or inferred) and, for a
// numeric one, the stray tokens that become missing values.
Result<FeatureType> InferFeatureType(const CsvTable& table, size_t col, std::optional<FeatureType> forced,
                                     InferredSchema& out) {
  const auto& name = table.header()[col];
  const size_t limit = forced == FeatureType::kNumeric ? kMaxListedTokens : kMaxStrayTokens;
  size_t values = 0;
  NonNumbers text;
  const auto& cells = table.column(col);
  for (size_t r = 0; r < cells.size(); ++r) {
    if (IsMissingText(cells[r])) continue;
    ++values;
    if (forced == FeatureType::kCategorical || ParseNumber(cells[r])) continue;
    if (text.cells++ == 0) text.first_row = r;
    const std::string_view token = TrimSpaces(cells[r]);
    if (text.too_many || std::find(text.distinct.begin(), text.distinct.end(), token) != text.distinct.end()) {
      continue;
    }
    if (text.distinct.size() < limit) {
      text.distinct.push_back(token);
    } else {
      text.too_many = true;
      if (!forced) return FeatureType::kCategorical;  // too many kinds of text for stray tokens
    }
  }
  if (values == 0) {
    return InvalidArgument(fmt::format(
        "column '{}' in {} is empty in every row ({} rows); drop it with --drop {} or fill it in", name,
        table.source(), table.rows(), name));
  }
  if (forced == FeatureType::kCategorical) return FeatureType::kCategorical;
  if (text.cells == 0) return FeatureType::kNumeric;
  if (forced == FeatureType::kNumeric && text.cells == values) {
    return InvalidArgument(fmt::format(
        "--column-type {}=numeric: column '{}' in {} holds no number (e.g. \"{}\" on line {}); "
        "make it categorical or fix the data",
        name, name, table.source(), text.distinct[0], table.line_of(text.first_row)));
  }
  const bool few = static_cast<double>(values - text.cells) >= kMinNumericShare * static_cast<double>(values);
  if (!forced && !few) return FeatureType::kCategorical;
  StrayTokens stray;
  stray.column = name;
  stray.cells = text.cells;
  stray.first_line = table.line_of(text.first_row);
  stray.first_source = table.source_of(text.first_row);
  stray.forced = forced.has_value();
  stray.tokens.assign(text.distinct.begin(), text.distinct.end());
  stray.more_tokens = text.too_many;
  out.stray.push_back(std::move(stray));
  return FeatureType::kNumeric;
}

// Checks that every forced type names a feature column.
Status CheckColumnTypes(const CsvTable& table, const SchemaOptions& options, size_t target,
                        const std::vector<bool>& dropped) {
  for (const auto& [name, type] : options.column_types) {
    MB_ASSIGN_OR_RETURN(size_t col, FindColumn(table, name, fmt::format("--column-type {}:", name)));
    if (col == target) {
      return InvalidArgument(fmt::format("--column-type {}: that is the target column of {}; the type of "
                                         "the target is inferred (it sets the task), only features take "
                                         "--column-type",
                                         name, table.source()));
    }
    if (dropped[col]) {
      return InvalidArgument(fmt::format("--column-type {}: the column is also in --drop; keep one of the two",
                                         name));
    }
  }
  return Status::Ok();
}

Status SingleClassError(const CsvTable& table, const std::string& target, std::string_view value,
                        size_t rows) {
  return InvalidArgument(fmt::format(
      "target column '{}' in {} has a single value (\"{}\") in all {} rows with a target; a model "
      "needs at least two classes: add rows of another class or choose another --target",
      target, table.source(), value, rows));
}

// Fills labels, class labels and task for a target whose values all parse.
Status InferNumericTarget(const CsvTable& table, const std::vector<double>& values, InferredSchema& out) {
  std::vector<double> distinct;
  distinct.reserve(values.size());
  for (uint32_t r : out.rows) distinct.push_back(values[r]);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  const auto& column = table.column(out.target_column);
  if (distinct.size() == 1) {
    return SingleClassError(table, out.schema.target, TrimSpaces(column[out.rows[0]]), out.rows.size());
  }
  bool integers = std::all_of(distinct.begin(), distinct.end(),
                              [](double v) { return v == std::floor(v) && std::fabs(v) < 9.0e15; });
  Schema& schema = out.schema;
  schema.labels_numeric = true;
  if (distinct.size() == 2) {
    schema.task = TaskType::kBinary;
  } else if (integers && distinct.size() <= kMaxIntegerClasses) {
    schema.task = TaskType::kMulticlass;
  } else {
    schema.task = TaskType::kRegression;
    for (uint32_t r : out.rows) out.labels[r] = static_cast<float>(values[r]);
    return Status::Ok();
  }
  schema.class_labels.assign(distinct.size(), "");
  for (uint32_t r : out.rows) {
    size_t k = std::lower_bound(distinct.begin(), distinct.end(), values[r]) - distinct.begin();
    out.labels[r] = static_cast<float>(k);
    if (schema.class_labels[k].empty()) schema.class_labels[k] = std::string(TrimSpaces(column[r]));
  }
  return Status::Ok();
}

Status InferTextTarget(const CsvTable& table, InferredSchema& out) {
  const auto& column = table.column(out.target_column);
  std::unordered_map<std::string_view, uint32_t> index;
  for (uint32_t r : out.rows) index.emplace(column[r], 0);
  if (index.size() == 1) {
    return SingleClassError(table, out.schema.target, column[out.rows[0]], out.rows.size());
  }
  if (index.size() > kMaxTextClasses) {
    return InvalidArgument(fmt::format(
        "target column '{}' in {} has {} distinct text values; a classifier supports at most {} "
        "classes: choose another --target (is it an identifier?)",
        out.schema.target, table.source(), index.size(), kMaxTextClasses));
  }
  std::vector<std::string_view> labels;
  for (const auto& [label, unused] : index) labels.push_back(label);
  std::sort(labels.begin(), labels.end());
  Schema& schema = out.schema;
  for (size_t k = 0; k < labels.size(); ++k) {
    index[labels[k]] = static_cast<uint32_t>(k);
    schema.class_labels.emplace_back(labels[k]);
  }
  schema.task = labels.size() == 2 ? TaskType::kBinary : TaskType::kMulticlass;
  schema.labels_numeric = false;
  for (uint32_t r : out.rows) out.labels[r] = static_cast<float>(index[column[r]]);
  return Status::Ok();
}

Status InferTarget(const CsvTable& table, InferredSchema& out) {
  const auto& column = table.column(out.target_column);
  out.labels.assign(table.rows(), std::nanf(""));
  std::vector<double> values(table.rows(), 0.0);
  bool numeric = true;
  for (size_t r = 0; r < table.rows(); ++r) {
    if (IsMissingText(column[r])) {
      if (out.rows_without_target++ == 0) out.first_line_without_target = table.line_of(r);
      continue;
    }
    out.rows.push_back(static_cast<uint32_t>(r));
    if (numeric) {
      auto v = ParseNumber(column[r]);
      if (v) {
        values[r] = *v;
      } else {
        numeric = false;
      }
    }
  }
  if (out.rows.empty()) {
    return InvalidArgument(fmt::format("target column '{}' in {} has no values ({} rows, all empty)",
                                       out.schema.target, table.source(), table.rows()));
  }
  return numeric ? InferNumericTarget(table, values, out) : InferTextTarget(table, out);
}

}  // namespace

std::string_view TaskName(TaskType task) {
  switch (task) {
    case TaskType::kBinary: return "binary";
    case TaskType::kMulticlass: return "multiclass";
    case TaskType::kRegression: return "regression";
  }
  return "unknown";
}

std::string_view FeatureTypeName(FeatureType type) {
  return type == FeatureType::kNumeric ? "numeric" : "categorical";
}

Result<InferredSchema> InferSchema(const CsvTable& table, const SchemaOptions& options) {
  if (table.rows() == 0) {
    return InvalidArgument(fmt::format("{} has a header but no data rows; a model needs rows to learn from",
                                       table.source()));
  }
  InferredSchema out;
  const auto& header = table.header();
  if (options.target) {
    MB_ASSIGN_OR_RETURN(out.target_column, FindColumn(table, *options.target, "target"));
  } else {
    auto it = std::find(header.begin(), header.end(), "churn");
    out.target_column = it != header.end() ? static_cast<size_t>(it - header.begin()) : header.size() - 1;
  }
  out.schema.target = header[out.target_column];

  std::vector<bool> dropped(header.size(), false);
  for (const auto& name : options.drop) {
    MB_ASSIGN_OR_RETURN(size_t col, FindColumn(table, name, "--drop"));
    if (col == out.target_column) {
      return InvalidArgument(fmt::format("--drop {}: that is the target column of {}; choose another "
                                         "--target or do not drop it",
                                         name, table.source()));
    }
    dropped[col] = true;
  }
  MB_RETURN_IF_ERROR(CheckColumnTypes(table, options, out.target_column, dropped));
  for (size_t c = 0; c < header.size(); ++c) {
    if (c == out.target_column || dropped[c]) continue;
    std::optional<FeatureType> forced;
    if (auto it = options.column_types.find(header[c]); it != options.column_types.end()) forced = it->second;
    MB_ASSIGN_OR_RETURN(FeatureType type, InferFeatureType(table, c, forced, out));
    out.schema.features.push_back({header[c], type});
    out.feature_columns.push_back(c);
  }
  if (out.schema.features.empty()) {
    return InvalidArgument(fmt::format(
        "no feature columns left in {}: its columns are {}; the target is '{}'{}", table.source(),
        ColumnList(header), out.schema.target,
        options.drop.empty() ? "" : " and the others are dropped with --drop"));
  }
  MB_RETURN_IF_ERROR(InferTarget(table, out));
  return out;
}

}  // namespace modelbay
