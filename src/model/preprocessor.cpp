#include "model/preprocessor.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <iterator>
#include <map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/parallel.h"
#include "model/schema_infer.h"
#include "model/values.h"

namespace modelbay {
namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

nlohmann::json FeatureJson(const Feature& f) {
  return {{"name", f.name}, {"type", FeatureTypeName(f.type)}};
}

// Strict readers for FromJson: every error names the field.
class JsonReader {
 public:
  explicit JsonReader(std::string_view source) : source_(source) {}

  Status Error(std::string_view field, std::string_view what) const {
    return DataLoss(fmt::format("{}: field '{}' {}; the file is damaged or was not written by modelbay "
                                "(re-train or re-import the version)",
                                source_, field, what));
  }
  Result<const nlohmann::json*> Field(const nlohmann::json& obj, std::string_view field,
                                      nlohmann::json::value_t type, std::string_view type_name) const {
    auto it = obj.find(field);
    if (it == obj.end()) return Error(field, "is missing");
    bool matches = it->type() == type ||
                   (type == nlohmann::json::value_t::number_float && it->is_number());
    if (!matches) return Error(field, fmt::format("must be {}", type_name));
    return &*it;
  }
  Result<std::string> String(const nlohmann::json& obj, std::string_view field) const {
    MB_ASSIGN_OR_RETURN(auto* v, Field(obj, field, nlohmann::json::value_t::string, "a string"));
    return v->get<std::string>();
  }
  Result<double> Number(const nlohmann::json& obj, std::string_view field) const {
    MB_ASSIGN_OR_RETURN(auto* v, Field(obj, field, nlohmann::json::value_t::number_float, "a number"));
    return v->get<double>();
  }
  Result<std::vector<std::string>> Strings(const nlohmann::json& obj, std::string_view field) const {
    MB_ASSIGN_OR_RETURN(auto* v, Field(obj, field, nlohmann::json::value_t::array, "an array"));
    std::vector<std::string> out;
    out.reserve(v->size());
    for (const auto& e : *v) {
      if (!e.is_string()) return Error(field, "must hold only strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }

 private:
  std::string_view source_;
};

Result<TaskType> ParseTask(const JsonReader& r, std::string_view s) {
  for (auto t : {TaskType::kBinary, TaskType::kMulticlass, TaskType::kRegression}) {
    if (TaskName(t) == s) return t;
  }
  return r.Error("task", "must be binary, multiclass or regression");
}

}  // namespace

nlohmann::json SchemaToJson(const Schema& schema) {
  nlohmann::json features = nlohmann::json::array();
  for (const auto& f : schema.features) features.push_back(FeatureJson(f));
  return {{"features", features},
          {"target", schema.target},
          {"task", TaskName(schema.task)},
          {"class_labels", schema.class_labels},
          {"labels_numeric", schema.labels_numeric}};
}

void Preprocessor::SetRange(Column& c, double min, double max) {
  c.min = min;
  c.max = max;
  c.scale = max > min ? 1.0 / (max - min) : 0.0;
}

std::vector<Preprocessor::FeatureStats> Preprocessor::CollectStats(const Schema& schema, const TextColumns& columns,
                                                                   std::span<const uint32_t> rows) {
  // Consecutive ranges of `rows`, one per core; their stats merge.
  const size_t parts = RowParts(rows.size());
  std::vector<std::vector<FeatureStats>> part(parts, std::vector<FeatureStats>(schema.features.size()));
  ParallelFor(parts, [&](size_t k) {
    auto [begin, end] = PartRange(rows.size(), parts, k);
    const std::span<const uint32_t> mine = rows.subspan(begin, end - begin);
    for (size_t f = 0; f < schema.features.size(); ++f) {
      const auto& text = *columns[f];
      FeatureStats& s = part[k][f];
      if (schema.features[f].type == FeatureType::kNumeric) {
        for (uint32_t r : mine) {
          if (IsMissingText(text[r])) continue;
          if (auto v = ParseNumber(text[r])) {
            s.min = std::min(s.min, *v);
            s.max = std::max(s.max, *v);
          }
        }
      } else {
        std::unordered_set<std::string_view> seen;
        for (uint32_t r : mine) {
          if (!IsMissingText(text[r])) seen.insert(TrimSpaces(text[r]));
        }
        s.categories.assign(seen.begin(), seen.end());
        std::sort(s.categories.begin(), s.categories.end());
      }
    }
  });
  for (size_t k = 1; k < parts; ++k) MergeStats(part[0], part[k]);
  return std::move(part[0]);
}

void Preprocessor::MergeStats(std::vector<FeatureStats>& into, const std::vector<FeatureStats>& other) {
  for (size_t f = 0; f < into.size() && f < other.size(); ++f) {
    into[f].min = std::min(into[f].min, other[f].min);
    into[f].max = std::max(into[f].max, other[f].max);
    std::vector<std::string> merged;
    std::set_union(into[f].categories.begin(), into[f].categories.end(), other[f].categories.begin(),
                   other[f].categories.end(), std::back_inserter(merged));
    into[f].categories = std::move(merged);
  }
}

Preprocessor Preprocessor::FromStats(Schema schema, const std::vector<FeatureStats>& stats) {
  Preprocessor p;
  p.schema_ = std::move(schema);
  p.columns_.resize(p.schema_.features.size());
  for (size_t f = 0; f < p.columns_.size(); ++f) {
    const FeatureStats& s = stats[f];
    if (p.schema_.features[f].type == FeatureType::kNumeric) {
      if (s.min > s.max) {
        p.SetRange(p.columns_[f], 0, 0);  // no value in these rows: everything scales to 0
      } else {
        p.SetRange(p.columns_[f], s.min, s.max);
      }
    } else {
      p.columns_[f].categories = s.categories;
      IndexNumericCategories(p.columns_[f]);
    }
  }
  return p;
}

Preprocessor Preprocessor::Fit(Schema schema, const TextColumns& columns, std::span<const uint32_t> rows) {
  std::vector<FeatureStats> stats = CollectStats(schema, columns, rows);
  return FromStats(std::move(schema), stats);
}

nlohmann::json Preprocessor::StatsToJson(const std::vector<FeatureStats>& stats) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : stats) {
    // No value: null (JSON has no infinity).
    if (s.min > s.max) {
      out.push_back({nullptr, nullptr, s.categories});
    } else {
      out.push_back({s.min, s.max, s.categories});
    }
  }
  return out;
}

Result<std::vector<Preprocessor::FeatureStats>> Preprocessor::StatsFromJson(const nlohmann::json& j) {
  try {
    std::vector<FeatureStats> stats;
    for (const auto& e : j) {
      FeatureStats s;
      if (!e.at(0).is_null()) {
        s.min = e.at(0).get<double>();
        s.max = e.at(1).get<double>();
      }
      e.at(2).get_to(s.categories);
      stats.push_back(std::move(s));
    }
    return stats;
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(fmt::format("preprocessor statistics from a worker are malformed: {}", e.what()));
  }
}

float Preprocessor::Scale(size_t feature, double x) const {
  const Column& c = columns_[feature];
  return static_cast<float>((x - c.min) * c.scale);
}

void Preprocessor::IndexNumericCategories(Column& c) {
  std::map<double, uint32_t> by_value;
  for (size_t k = 0; k < c.categories.size(); ++k) {
    auto v = ParseNumber(c.categories[k]);
    if (!v) continue;
    auto [it, inserted] = by_value.emplace(*v, static_cast<uint32_t>(k));
    if (!inserted && c.categories[k] == FormatNumber(*v)) it->second = static_cast<uint32_t>(k);
  }
  c.numeric_codes.assign(by_value.begin(), by_value.end());
}

float Preprocessor::NumericCode(size_t feature, double value) const {
  const auto& codes = columns_[feature].numeric_codes;
  auto it = std::lower_bound(codes.begin(), codes.end(), value,
                             [](const std::pair<double, uint32_t>& a, double b) { return a.first < b; });
  if (it == codes.end() || it->first != value) return kMissing;
  return static_cast<float>(it->second);
}

float Preprocessor::Code(size_t feature, std::string_view text) const {
  const auto& cats = columns_[feature].categories;
  auto it = std::lower_bound(cats.begin(), cats.end(), text,
                             [](const std::string& a, std::string_view b) { return a < b; });
  if (it != cats.end() && *it == text) return static_cast<float>(it - cats.begin());
  // Not as written: a number matches a category of the same value.
  if (auto v = ParseNumber(text)) return NumericCode(feature, *v);
  return kMissing;
}

bool Preprocessor::EncodeText(size_t feature, std::string_view text, float* out) const {
  if (IsMissingText(text)) {
    *out = kMissing;
    return true;
  }
  if (schema_.features[feature].type == FeatureType::kCategorical) {
    *out = Code(feature, TrimSpaces(text));
    return true;
  }
  auto v = ParseNumber(text);
  if (!v) return false;
  *out = Scale(feature, *v);
  return true;
}

bool Preprocessor::Encode(size_t feature, const Cell& cell, float* out) const {
  if (const auto* text = std::get_if<std::string_view>(&cell)) return EncodeText(feature, *text, out);
  if (const auto* num = std::get_if<double>(&cell)) {
    if (!std::isfinite(*num)) {
      *out = kMissing;
    } else if (schema_.features[feature].type == FeatureType::kNumeric) {
      *out = Scale(feature, *num);
    } else {
      *out = NumericCode(feature, *num);
    }
    return true;
  }
  *out = kMissing;
  return true;
}

void Preprocessor::Transform(const TextColumns& columns, std::span<const uint32_t> rows, float* out) const {
  const size_t width = num_features();
  for (size_t f = 0; f < width; ++f) {
    const auto& text = *columns[f];
    float* dst = out + f;
    for (uint32_t r : rows) {
      if (!EncodeText(f, text[r], dst)) *dst = kMissing;
      dst += width;
    }
  }
}

std::string Preprocessor::ToJson() const {
  nlohmann::json features = nlohmann::json::array();
  for (size_t f = 0; f < columns_.size(); ++f) {
    nlohmann::json j = FeatureJson(schema_.features[f]);
    if (schema_.features[f].type == FeatureType::kNumeric) {
      j["min"] = columns_[f].min;
      j["max"] = columns_[f].max;
    } else {
      j["categories"] = columns_[f].categories;
    }
    features.push_back(std::move(j));
  }
  nlohmann::json doc = {{"format", "modelbay-preprocessor"},
                        {"format_version", kPreprocessorFormatVersion},
                        {"target", schema_.target},
                        {"task", TaskName(schema_.task)},
                        {"class_labels", schema_.class_labels},
                        {"labels_numeric", schema_.labels_numeric},
                        {"features", std::move(features)}};
  return doc.dump(2);
}

Result<Preprocessor> Preprocessor::FromJson(std::string_view text, std::string_view source) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return DataLoss(fmt::format("{}: not a JSON object; the file is damaged (re-train or re-import the version)",
                                source));
  }
  JsonReader r(source);
  MB_ASSIGN_OR_RETURN(std::string format, r.String(doc, "format"));
  if (format != "modelbay-preprocessor") return r.Error("format", "must be \"modelbay-preprocessor\"");
  MB_ASSIGN_OR_RETURN(double version, r.Number(doc, "format_version"));
  if (version != kPreprocessorFormatVersion) {
    return r.Error("format_version", fmt::format("is {}, this modelbay reads version {}: upgrade modelbay",
                                                 version, kPreprocessorFormatVersion));
  }
  Preprocessor p;
  Schema& s = p.schema_;
  MB_ASSIGN_OR_RETURN(s.target, r.String(doc, "target"));
  MB_ASSIGN_OR_RETURN(std::string task, r.String(doc, "task"));
  MB_ASSIGN_OR_RETURN(s.task, ParseTask(r, task));
  MB_ASSIGN_OR_RETURN(s.class_labels, r.Strings(doc, "class_labels"));
  MB_ASSIGN_OR_RETURN(auto* numeric, r.Field(doc, "labels_numeric", nlohmann::json::value_t::boolean, "a boolean"));
  s.labels_numeric = numeric->get<bool>();
  size_t n = s.class_labels.size();
  bool labels_ok = s.task == TaskType::kBinary       ? n == 2
                   : s.task == TaskType::kMulticlass ? n >= 3
                                                     : n == 0;
  if (!labels_ok) return r.Error("class_labels", fmt::format("has {} labels for a {} task", n, task));

  MB_ASSIGN_OR_RETURN(auto* features, r.Field(doc, "features", nlohmann::json::value_t::array, "an array"));
  if (features->empty()) return r.Error("features", "is empty");
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < features->size(); ++i) {
    const auto& fj = (*features)[i];
    std::string where = fmt::format("features[{}]", i);
    if (!fj.is_object()) return r.Error(where, "must be an object");
    Feature f;
    MB_ASSIGN_OR_RETURN(f.name, r.String(fj, "name"));
    if (!names.insert(f.name).second) {
      return r.Error(where + ".name", fmt::format("repeats the column name '{}' (each column appears once)", f.name));
    }
    MB_ASSIGN_OR_RETURN(std::string type, r.String(fj, "type"));
    Column c;
    if (type == "numeric") {
      f.type = FeatureType::kNumeric;
      MB_ASSIGN_OR_RETURN(double lo, r.Number(fj, "min"));
      MB_ASSIGN_OR_RETURN(double hi, r.Number(fj, "max"));
      if (!(lo <= hi)) return r.Error(where + ".min", "must not exceed max");
      p.SetRange(c, lo, hi);
    } else if (type == "categorical") {
      f.type = FeatureType::kCategorical;
      MB_ASSIGN_OR_RETURN(c.categories, r.Strings(fj, "categories"));
      if (std::adjacent_find(c.categories.begin(), c.categories.end(),
                             [](const auto& a, const auto& b) { return !(a < b); }) != c.categories.end()) {
        return r.Error(where + ".categories", "must be sorted and distinct");
      }
      IndexNumericCategories(c);
    } else {
      return r.Error(where + ".type", "must be numeric or categorical");
    }
    s.features.push_back(std::move(f));
    p.columns_.push_back(std::move(c));
  }
  return p;
}

}  // namespace modelbay
