#include "model/schema_infer.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "core/parallel.h"
#include "model/values.h"

namespace modelbay {
namespace {

std::string ColumnList(const std::vector<std::string>& header) {
  return fmt::format("{}", fmt::join(header, ", "));
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

Status SingleClassError(const SchemaFacts& facts, std::string_view value) {
  return InvalidArgument(fmt::format(
      "target column '{}' in {} has a single value (\"{}\") in all {} rows with a target; a model "
      "needs at least two classes: add rows of another class or choose another --target",
      facts.header[facts.target_column], facts.source, value, facts.rows_with_target));
}

template <typename T, typename Less>
void InsertCapped(std::vector<T>& sorted, T value, size_t cap, bool& overflow, Less less) {
  if (overflow) return;
  auto it = std::lower_bound(sorted.begin(), sorted.end(), value, less);
  if (it != sorted.end() && !less(value, *it)) return;
  sorted.insert(it, std::move(value));
  if (sorted.size() > cap) {
    overflow = true;
    sorted.clear();
  }
}

bool NumberLess(const std::pair<double, std::string>& a, const std::pair<double, std::string>& b) {
  return a.first < b.first;
}

void AddNumber(SchemaFacts& f, double v, std::string_view text) {
  InsertCapped(f.target_numbers, std::pair<double, std::string>(v, std::string(TrimSpaces(text))),
               kMaxIntegerClasses + 1, f.numbers_overflow, NumberLess);
}

void AddText(SchemaFacts& f, std::string text) {
  InsertCapped(f.target_texts, std::move(text), kMaxTextClasses + 1, f.texts_overflow, std::less<std::string>());
}

// Task and class labels from the target facts.
Status DecideTarget(const SchemaFacts& f, Schema& schema) {
  if (f.rows_with_target == 0) {
    return InvalidArgument(fmt::format("target column '{}' in {} has no values ({} rows, all empty)", schema.target,
                                       f.source, f.rows));
  }
  if (f.target_numeric) {
    schema.labels_numeric = true;
    const auto& distinct = f.target_numbers;
    if (!f.numbers_overflow && distinct.size() == 1) return SingleClassError(f, distinct[0].second);
    bool integers = std::all_of(distinct.begin(), distinct.end(), [](const auto& d) {
      return d.first == std::floor(d.first) && std::fabs(d.first) < 9.0e15;
    });
    if (!f.numbers_overflow && distinct.size() == 2) {
      schema.task = TaskType::kBinary;
    } else if (!f.numbers_overflow && integers && distinct.size() <= kMaxIntegerClasses) {
      schema.task = TaskType::kMulticlass;
    } else {
      schema.task = TaskType::kRegression;
      return Status::Ok();
    }
    for (const auto& d : distinct) schema.class_labels.push_back(d.second);
    return Status::Ok();
  }
  if (!f.texts_overflow && f.target_texts.size() == 1) return SingleClassError(f, f.target_texts[0]);
  if (f.texts_overflow) {
    return InvalidArgument(fmt::format(
        "target column '{}' in {} has more than {} distinct text values; a classifier supports at most {} "
        "classes: choose another --target (is it an identifier?)",
        schema.target, f.source, kMaxTextClasses, kMaxTextClasses));
  }
  schema.class_labels = f.target_texts;
  schema.task = f.target_texts.size() == 2 ? TaskType::kBinary : TaskType::kMulticlass;
  schema.labels_numeric = false;
  return Status::Ok();
}

// Adds a distinct non-number of column c, in order of appearance, capped.
void AddToken(SchemaFacts& f, size_t c, std::string_view token) {
  if (f.text_overflow[c]) return;
  auto& tokens = f.text_tokens[c];
  if (std::find(tokens.begin(), tokens.end(), token) != tokens.end()) return;
  if (tokens.size() > kMaxListedTokens) {
    f.text_overflow[c] = 1;
    return;
  }
  tokens.emplace_back(token);
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

// The type of feature column c (forced or inferred from the facts) and, for
// a numeric one with non-numbers, the stray tokens that become missing.
Result<FeatureType> DecideFeatureType(const SchemaFacts& f, size_t c, std::optional<FeatureType> forced,
                                      InferredSchema& out) {
  const auto& name = f.header[c];
  if (f.values[c] == 0) {
    return InvalidArgument(fmt::format(
        "column '{}' in {} is empty in every row ({} rows); drop it with --drop {} or fill it in", name,
        f.source, f.rows, name));
  }
  if (forced == FeatureType::kCategorical) return FeatureType::kCategorical;
  if (f.text_cells[c] == 0) return FeatureType::kNumeric;
  const auto& tokens = f.text_tokens[c];
  const size_t distinct = f.text_overflow[c] ? kMaxListedTokens + 2 : tokens.size();
  if (!forced && distinct > kMaxStrayTokens) return FeatureType::kCategorical;
  if (forced == FeatureType::kNumeric && f.text_cells[c] == f.values[c]) {
    return InvalidArgument(fmt::format(
        "--column-type {}=numeric: column '{}' in {} holds no number (e.g. \"{}\" on line {}); "
        "make it categorical or fix the data",
        name, name, f.first_text_source[c], tokens.empty() ? std::string() : tokens[0], f.first_text_line[c]));
  }
  const double numbers = static_cast<double>(f.values[c] - f.text_cells[c]);
  if (!forced && numbers < kMinNumericShare * static_cast<double>(f.values[c])) return FeatureType::kCategorical;
  const size_t limit = forced ? kMaxListedTokens : kMaxStrayTokens;
  StrayTokens stray;
  stray.column = name;
  stray.cells = f.text_cells[c];
  stray.first_line = f.first_text_line[c];
  stray.first_source = f.first_text_source[c];
  stray.forced = forced.has_value();
  stray.tokens.assign(tokens.begin(), tokens.begin() + std::min(tokens.size(), limit));
  stray.more_tokens = distinct > limit;
  out.stray.push_back(std::move(stray));
  return FeatureType::kNumeric;
}

// The facts of rows [begin, end) of `table` into `f` (its header, target
// column and per-column vectors set, its counts zero).
void CollectRowFacts(const CsvTable& table, size_t begin, size_t end, SchemaFacts& f) {
  for (size_t c = 0; c < f.header.size(); ++c) {
    if (c == f.target_column) continue;
    const auto& cells = table.column(c);
    for (size_t r = begin; r < end; ++r) {
      if (IsMissingText(cells[r])) continue;
      f.has_value[c] = 1;
      ++f.values[c];
      if (ParseNumber(cells[r])) continue;
      if (f.text_cells[c]++ == 0) {
        f.first_text_line[c] = table.line_of(r);
        f.first_text_source[c] = table.source_of(r);
      }
      AddToken(f, c, TrimSpaces(cells[r]));
    }
  }
  const auto& target = table.column(f.target_column);
  for (size_t r = begin; r < end; ++r) {
    if (IsMissingText(target[r])) {
      if (f.rows_without_target++ == 0) {
        f.first_without_target = fmt::format("line {} of {}", table.line_of(r), table.source_of(r));
      }
      continue;
    }
    ++f.rows_with_target;
    AddText(f, std::string(target[r]));
    if (!f.target_numeric) continue;
    if (auto v = ParseNumber(target[r])) {
      AddNumber(f, *v, target[r]);
    } else {
      f.target_numeric = false;
    }
  }
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

Result<SchemaFacts> CollectSchemaFacts(const CsvTable& table, const SchemaOptions& options) {
  SchemaFacts f;
  f.source = table.source();
  f.header = table.header();
  f.rows = table.rows();
  const auto& header = table.header();
  if (options.target) {
    MB_ASSIGN_OR_RETURN(f.target_column, FindColumn(table, *options.target, "target"));
  } else {
    auto it = std::find(header.begin(), header.end(), "churn");
    f.target_column = it != header.end() ? static_cast<size_t>(it - header.begin()) : header.size() - 1;
  }
  std::vector<bool> dropped(header.size(), false);
  for (const auto& name : options.drop) {
    MB_ASSIGN_OR_RETURN(size_t col, FindColumn(table, name, "--drop"));
    if (col == f.target_column) {
      return InvalidArgument(fmt::format("--drop {}: that is the target column of {}; choose another "
                                         "--target or do not drop it",
                                         name, table.source()));
    }
    dropped[col] = true;
  }
  MB_RETURN_IF_ERROR(CheckColumnTypes(table, options, f.target_column, dropped));
  const size_t n = header.size();
  f.has_value.assign(n, 0);
  f.values.assign(n, 0);
  f.text_cells.assign(n, 0);
  f.first_text_line.assign(n, 0);
  f.first_text_source.assign(n, "");
  f.text_tokens.assign(n, {});
  f.text_overflow.assign(n, 0);
  // The rows in consecutive ranges, one per core; the facts of the ranges
  // merge (in order) into those of the whole table.
  const size_t parts = RowParts(table.rows());
  std::vector<SchemaFacts> part(parts, f);
  ParallelFor(parts, [&](size_t k) {
    auto [begin, end] = PartRange(table.rows(), parts, k);
    part[k].rows = end - begin;
    CollectRowFacts(table, begin, end, part[k]);
  });
  f = std::move(part[0]);
  for (size_t k = 1; k < parts; ++k) MB_RETURN_IF_ERROR(MergeSchemaFacts(f, part[k]));
  return f;
}

Status MergeSchemaFacts(SchemaFacts& into, const SchemaFacts& other) {
  if (other.header != into.header) {
    return InvalidArgument(fmt::format("{} and {} have different headers; every data file of one training needs "
                                       "the same columns",
                                       into.source, other.source));
  }
  into.rows += other.rows;
  for (size_t c = 0; c < into.header.size(); ++c) {
    into.has_value[c] = into.has_value[c] || other.has_value[c];
    into.values[c] += other.values[c];
    if (into.text_cells[c] == 0 && other.text_cells[c] > 0) {
      into.first_text_line[c] = other.first_text_line[c];
      into.first_text_source[c] = other.first_text_source[c];
    }
    into.text_cells[c] += other.text_cells[c];
    for (const auto& t : other.text_tokens[c]) AddToken(into, c, t);
    if (other.text_overflow[c]) into.text_overflow[c] = 1;
  }
  if (into.first_without_target.empty()) into.first_without_target = other.first_without_target;
  into.rows_with_target += other.rows_with_target;
  into.rows_without_target += other.rows_without_target;
  into.target_numeric = into.target_numeric && other.target_numeric;
  into.numbers_overflow = into.numbers_overflow || other.numbers_overflow;
  for (const auto& n : other.target_numbers) {
    InsertCapped(into.target_numbers, n, kMaxIntegerClasses + 1, into.numbers_overflow, NumberLess);
  }
  into.texts_overflow = into.texts_overflow || other.texts_overflow;
  for (const auto& t : other.target_texts) AddText(into, t);
  return Status::Ok();
}

Result<InferredSchema> DecideSchema(const SchemaFacts& f, const SchemaOptions& options) {
  if (f.rows == 0) {
    return InvalidArgument(fmt::format("{} has a header but no data rows; a model needs rows to learn from",
                                       f.source));
  }
  InferredSchema out;
  out.target_column = f.target_column;
  out.schema.target = f.header[f.target_column];
  for (size_t c = 0; c < f.header.size(); ++c) {
    const auto& name = f.header[c];
    bool dropped = std::find(options.drop.begin(), options.drop.end(), name) != options.drop.end();
    if (c == f.target_column || dropped) continue;
    std::optional<FeatureType> forced;
    if (auto it = options.column_types.find(name); it != options.column_types.end()) forced = it->second;
    MB_ASSIGN_OR_RETURN(FeatureType type, DecideFeatureType(f, c, forced, out));
    out.schema.features.push_back({name, type});
    out.feature_columns.push_back(c);
  }
  if (out.schema.features.empty()) {
    return InvalidArgument(fmt::format(
        "no feature columns left in {}: its columns are {}; the target is '{}'{}", f.source,
        ColumnList(f.header), out.schema.target,
        options.drop.empty() ? "" : " and the others are dropped with --drop"));
  }
  MB_RETURN_IF_ERROR(DecideTarget(f, out.schema));
  return out;
}

void LabelRows(const CsvTable& table, InferredSchema& out) {
  const Schema& schema = out.schema;
  const auto& column = table.column(out.target_column);
  out.labels.assign(table.rows(), std::nanf(""));
  out.rows.clear();
  out.rows_without_target = 0;
  out.first_line_without_target = 0;
  std::vector<double> class_values;  // numeric classifiers: the value of each class
  for (const auto& label : schema.class_labels) class_values.push_back(ParseNumber(label).value_or(0));
  std::unordered_map<std::string_view, uint32_t> text_index;
  if (!schema.labels_numeric) {
    for (size_t k = 0; k < schema.class_labels.size(); ++k) text_index.emplace(schema.class_labels[k], k);
  }
  // Consecutive row ranges, one per core; their rows concatenate in order.
  struct Part {
    std::vector<uint32_t> rows;
    size_t without = 0;
    size_t first_line = 0;
  };
  const size_t parts = RowParts(table.rows());
  std::vector<Part> part(parts);
  ParallelFor(parts, [&](size_t k) {
    auto [begin, end] = PartRange(table.rows(), parts, k);
    Part& p = part[k];
    p.rows.reserve(end - begin);
    for (size_t r = begin; r < end; ++r) {
      if (IsMissingText(column[r])) {
        if (p.without++ == 0) p.first_line = table.line_of(r);
        continue;
      }
      p.rows.push_back(static_cast<uint32_t>(r));
      if (!schema.labels_numeric) {
        out.labels[r] = static_cast<float>(text_index.at(column[r]));
        continue;
      }
      double v = ParseNumber(column[r]).value_or(0);
      if (schema.task == TaskType::kRegression) {
        out.labels[r] = static_cast<float>(v);
      } else {
        auto c = std::lower_bound(class_values.begin(), class_values.end(), v) - class_values.begin();
        out.labels[r] = static_cast<float>(c);
      }
    }
  });
  if (parts == 1) {
    out.rows = std::move(part[0].rows);
  } else {
    size_t total = 0;
    for (const Part& p : part) total += p.rows.size();
    out.rows.reserve(total);
  }
  for (const Part& p : part) {
    if (parts > 1) out.rows.insert(out.rows.end(), p.rows.begin(), p.rows.end());
    if (out.rows_without_target == 0 && p.without > 0) out.first_line_without_target = p.first_line;
    out.rows_without_target += p.without;
  }
}

Result<InferredSchema> InferSchema(const CsvTable& table, const SchemaOptions& options) {
  if (table.rows() == 0) {
    return InvalidArgument(fmt::format("{} has a header but no data rows; a model needs rows to learn from",
                                       table.source()));
  }
  MB_ASSIGN_OR_RETURN(SchemaFacts facts, CollectSchemaFacts(table, options));
  MB_ASSIGN_OR_RETURN(InferredSchema out, DecideSchema(facts, options));
  LabelRows(table, out);
  return out;
}

nlohmann::json SchemaFactsToJson(const SchemaFacts& f) {
  nlohmann::json numbers = nlohmann::json::array();
  for (const auto& [v, text] : f.target_numbers) numbers.push_back({v, text});
  return {{"source", f.source},
          {"header", f.header},
          {"rows", f.rows},
          {"has_value", f.has_value},
          {"values", f.values},
          {"text_cells", f.text_cells},
          {"first_text_line", f.first_text_line},
          {"first_text_source", f.first_text_source},
          {"text_tokens", f.text_tokens},
          {"text_overflow", f.text_overflow},
          {"target_column", f.target_column},
          {"rows_with_target", f.rows_with_target},
          {"rows_without_target", f.rows_without_target},
          {"first_without_target", f.first_without_target},
          {"target_numeric", f.target_numeric},
          {"target_numbers", numbers},
          {"numbers_overflow", f.numbers_overflow},
          {"target_texts", f.target_texts},
          {"texts_overflow", f.texts_overflow}};
}

Result<SchemaFacts> SchemaFactsFromJson(const nlohmann::json& j) {
  try {
    SchemaFacts f;
    j.at("source").get_to(f.source);
    j.at("header").get_to(f.header);
    j.at("rows").get_to(f.rows);
    j.at("has_value").get_to(f.has_value);
    j.at("values").get_to(f.values);
    j.at("text_cells").get_to(f.text_cells);
    j.at("first_text_line").get_to(f.first_text_line);
    j.at("first_text_source").get_to(f.first_text_source);
    j.at("text_tokens").get_to(f.text_tokens);
    j.at("text_overflow").get_to(f.text_overflow);
    j.at("target_column").get_to(f.target_column);
    j.at("rows_with_target").get_to(f.rows_with_target);
    j.at("rows_without_target").get_to(f.rows_without_target);
    j.at("first_without_target").get_to(f.first_without_target);
    j.at("target_numeric").get_to(f.target_numeric);
    for (const auto& n : j.at("target_numbers")) f.target_numbers.emplace_back(n.at(0).get<double>(), n.at(1).get<std::string>());
    j.at("numbers_overflow").get_to(f.numbers_overflow);
    j.at("target_texts").get_to(f.target_texts);
    j.at("texts_overflow").get_to(f.texts_overflow);
    const size_t n = f.header.size();
    if (f.has_value.size() != n || f.values.size() != n || f.text_cells.size() != n ||
        f.first_text_line.size() != n || f.first_text_source.size() != n || f.text_tokens.size() != n ||
        f.text_overflow.size() != n ||
        f.target_column >= f.header.size()) {
      return DataLoss("schema facts from a worker are inconsistent");
    }
    return f;
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(fmt::format("schema facts from a worker are malformed: {}", e.what()));
  }
}

}  // namespace modelbay
