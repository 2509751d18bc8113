#include "model/baseline.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/schema_infer.h"
#include "model/values.h"

namespace modelbay {
using nlohmann::json;

size_t NumericHistogram::Bin(double v) const {
  if (edges.size() < 3) return 0;
  // searchsorted(edges[1:-1], v, side="right")
  auto inner_begin = edges.begin() + 1;
  auto inner_end = edges.end() - 1;
  return static_cast<size_t>(std::upper_bound(inner_begin, inner_end, v) - inner_begin);
}

std::string_view BaselineState::KindName() const {
  switch (kind) {
    case Kind::kMissing: return "missing";
    case Kind::kInvalid: return "invalid";
    case Kind::kOk: return "ok";
  }
  return "missing";
}

double OutputScore(const Predictions& p, size_t row) {
  if (p.num_classes == 0) return p.values[row];
  const float* probs = p.probabilities.data() + row * p.num_classes;
  if (p.num_classes == 2) return static_cast<double>(probs[1]);
  return static_cast<double>(*std::max_element(probs, probs + p.num_classes));
}

double Quantile(std::span<const double> sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

namespace {

// Puts the values of ranks `ranks` (ascending, distinct) of values[begin,
// end) at their sorted positions, as a full sort would, by selection
// (nth_element) on ever smaller ranges: O(n log ranks), not O(n log n).
void SelectRanks(std::vector<double>& values, size_t begin, size_t end, std::span<const size_t> ranks) {
  if (ranks.empty() || end - begin < 2) return;
  const size_t mid = ranks.size() / 2;
  const size_t k = ranks[mid];
  std::nth_element(values.begin() + static_cast<long>(begin), values.begin() + static_cast<long>(k),
                   values.begin() + static_cast<long>(end));
  SelectRanks(values, begin, k, ranks.subspan(0, mid));
  SelectRanks(values, k + 1, end, ranks.subspan(mid + 1));
}

// The present values of a numeric column, as the preprocessor reads it:
// stray tokens are missing.
std::vector<double> PresentValues(const std::vector<std::string_view>& text, std::span<const uint32_t> rows) {
  std::vector<double> values;
  values.reserve(rows.size());
  for (uint32_t r : rows) {
    std::optional<double> v;
    if (!IsMissingText(text[r])) v = ParseNumber(text[r]);
    if (v) values.push_back(*v);
  }
  return values;
}

// Histogram edges at the kBaselineBins quantiles given by `at`, repeated
// ones merged (SummarizeNumeric's rule).
template <typename QuantileAt>
std::vector<double> EdgesAt(QuantileAt at) {
  std::vector<double> edges;
  for (size_t i = 0; i <= kBaselineBins; ++i) {
    double e = at(static_cast<double>(i) / kBaselineBins);
    if (edges.empty() || e > edges.back()) edges.push_back(e);
  }
  return edges;
}

}  // namespace

NumericSummary SummarizeNumeric(std::vector<double> values) {
  NumericSummary s;
  s.count = values.size();
  if (values.empty()) {
    s.histogram.edges = {0.0};
    s.histogram.counts = {0};
    return s;
  }
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(values.size());
  // Quantile() reads the ranks floor(q * (n - 1)) and the one after: only
  // those need their sorted value.
  std::vector<size_t> ranks;
  const size_t n = values.size();
  for (size_t i = 0; i <= kBaselineBins; ++i) {
    const size_t lo = static_cast<size_t>(std::floor(static_cast<double>(i) / kBaselineBins * static_cast<double>(n - 1)));
    ranks.push_back(lo);
    if (lo + 1 < n) ranks.push_back(lo + 1);
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  SelectRanks(values, 0, n, ranks);
  s.min = values.front();
  s.max = values.back();
  std::vector<double>& edges = s.histogram.edges;
  edges = EdgesAt([&](double q) { return Quantile(values, q); });
  s.histogram.counts.assign(std::max<size_t>(1, edges.size() - 1), 0);
  for (double v : values) ++s.histogram.counts[s.histogram.Bin(v)];
  return s;
}

namespace {

// Categories by count descending, then name; the first `cap` kept, the rest's
// rows returned.
uint64_t TopCategories(const std::vector<std::string>& vocabulary, const std::vector<uint64_t>& counts,
                       std::vector<std::pair<std::string, uint64_t>>& out) {
  std::vector<size_t> order;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return counts[a] != counts[b] ? counts[a] > counts[b] : vocabulary[a] < vocabulary[b];
  });
  uint64_t rest = 0;
  for (size_t k = 0; k < order.size(); ++k) {
    if (k < kBaselineMaxCategories) {
      out.emplace_back(vocabulary[order[k]], counts[order[k]]);
    } else {
      rest += counts[order[k]];
    }
  }
  return rest;
}

FeatureBaseline FeatureOf(const Preprocessor& pre, size_t f, const std::vector<std::string_view>& text,
                          std::span<const uint32_t> rows) {
  const Feature& feature = pre.schema().features[f];
  FeatureBaseline out{feature.name, feature.type, rows.size(), 0, {}, {}, 0};
  if (feature.type == FeatureType::kNumeric) {
    std::vector<double> values = PresentValues(text, rows);
    out.missing = rows.size() - values.size();
    out.numeric = SummarizeNumeric(std::move(values));
    return out;
  }
  const auto& vocabulary = pre.categories(f);
  std::vector<uint64_t> counts(vocabulary.size(), 0);
  for (uint32_t r : rows) {
    float code = 0;
    if (!pre.Encode(f, Cell(text[r]), &code) || std::isnan(code)) {
      ++out.missing;
    } else {
      ++counts[static_cast<size_t>(code)];
    }
  }
  out.rare = TopCategories(vocabulary, counts, out.categories);
  return out;
}

json NumericJson(const NumericSummary& s) {
  return {{"count", s.count},  {"min", s.min}, {"max", s.max}, {"mean", s.mean}, {"edges", s.histogram.edges},
          {"counts", s.histogram.counts}};
}

json PairsJson(const std::vector<std::pair<std::string, uint64_t>>& pairs, std::string_view key) {
  json out = json::array();
  for (const auto& [value, count] : pairs) out.push_back({{std::string(key), value}, {"count", count}});
  return out;
}

// ---- strict reading ----

class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  Status Fail(std::string_view where, std::string_view what) const {
    return InvalidArgument(fmt::format("{}: {}: {}", source_, where, what));
  }
  Result<const json*> Field(const json& obj, std::string_view where, std::string_view key) const {
    if (!obj.is_object()) return Fail(where, "must be a JSON object");
    auto it = obj.find(std::string(key));
    if (it == obj.end()) return Fail(where, fmt::format("field \"{}\" is missing", key));
    return &*it;
  }
  Result<uint64_t> Count(const json& obj, std::string_view where, std::string_view key) const {
    MB_ASSIGN_OR_RETURN(const json* v, Field(obj, where, key));
    if (v->is_number_unsigned()) return v->get<uint64_t>();
    if (v->is_number_integer() && v->get<int64_t>() >= 0) return static_cast<uint64_t>(v->get<int64_t>());
    return Fail(where, fmt::format("\"{}\" must be a count (an integer >= 0)", key));
  }
  Result<double> Finite(const json& obj, std::string_view where, std::string_view key) const {
    MB_ASSIGN_OR_RETURN(const json* v, Field(obj, where, key));
    if (!v->is_number() || !std::isfinite(v->get<double>())) {
      return Fail(where, fmt::format("\"{}\" must be a finite number", key));
    }
    return v->get<double>();
  }
  Result<std::string> Text(const json& obj, std::string_view where, std::string_view key) const {
    MB_ASSIGN_OR_RETURN(const json* v, Field(obj, where, key));
    if (!v->is_string()) return Fail(where, fmt::format("\"{}\" must be a string", key));
    if (v->get_ref<const std::string&>().size() > kBaselineMaxCategoryBytes) {
      return Fail(where, fmt::format("\"{}\" is longer than {} bytes", key, kBaselineMaxCategoryBytes));
    }
    return v->get<std::string>();
  }
  Result<const json*> Array(const json& obj, std::string_view where, std::string_view key, size_t max) const {
    MB_ASSIGN_OR_RETURN(const json* v, Field(obj, where, key));
    if (!v->is_array()) return Fail(where, fmt::format("\"{}\" must be an array", key));
    if (v->size() > max) return Fail(where, fmt::format("\"{}\" has {} entries; at most {} are allowed", key, v->size(), max));
    return v;
  }

  Result<NumericSummary> Numeric(const json& obj, std::string_view where) const {
    NumericSummary s;
    MB_ASSIGN_OR_RETURN(s.count, Count(obj, where, "count"));
    MB_ASSIGN_OR_RETURN(s.min, Finite(obj, where, "min"));
    MB_ASSIGN_OR_RETURN(s.max, Finite(obj, where, "max"));
    MB_ASSIGN_OR_RETURN(s.mean, Finite(obj, where, "mean"));
    MB_ASSIGN_OR_RETURN(const json* edges, Array(obj, where, "edges", kBaselineMaxEdges));
    MB_ASSIGN_OR_RETURN(const json* counts, Array(obj, where, "counts", kBaselineMaxEdges));
    if (edges->empty()) return Fail(where, "\"edges\" is empty; a histogram needs at least one edge");
    for (size_t i = 0; i < edges->size(); ++i) {
      const json& e = (*edges)[i];
      if (!e.is_number() || !std::isfinite(e.get<double>())) {
        return Fail(where, fmt::format("edges[{}] is not a finite number", i));
      }
      double v = e.get<double>();
      if (!s.histogram.edges.empty() && !(v > s.histogram.edges.back())) {
        return Fail(where, fmt::format("edges[{}] = {} does not increase on edges[{}] = {}", i, v, i - 1,
                                       s.histogram.edges.back()));
      }
      s.histogram.edges.push_back(v);
    }
    const size_t bins = std::max<size_t>(1, edges->size() - 1);
    if (counts->size() != bins) {
      return Fail(where, fmt::format("{} edges make {} bin(s) but \"counts\" has {}", edges->size(), bins,
                                     counts->size()));
    }
    uint64_t total = 0;
    for (size_t i = 0; i < counts->size(); ++i) {
      const json& c = (*counts)[i];
      if (!c.is_number_unsigned() && !(c.is_number_integer() && c.get<int64_t>() >= 0)) {
        return Fail(where, fmt::format("counts[{}] is not a count", i));
      }
      uint64_t n = c.get<uint64_t>();
      if (n > s.count || total + n > s.count) return Fail(where, "the bin counts add up to more than \"count\"");
      total += n;
      s.histogram.counts.push_back(n);
    }
    if (total != s.count) {
      return Fail(where, fmt::format("the bin counts add up to {}, not \"count\" = {}", total, s.count));
    }
    if (s.count > 0 && !(s.min <= s.mean && s.mean <= s.max)) {
      return Fail(where, "needs min <= mean <= max");
    }
    return s;
  }

  Result<std::vector<std::pair<std::string, uint64_t>>> Pairs(const json& obj, std::string_view where,
                                                              std::string_view key, std::string_view name,
                                                              size_t max) const {
    MB_ASSIGN_OR_RETURN(const json* list, Array(obj, where, key, max));
    std::vector<std::pair<std::string, uint64_t>> out;
    std::set<std::string> seen;
    for (size_t i = 0; i < list->size(); ++i) {
      std::string at = fmt::format("{}, {}[{}]", where, key, i);
      MB_ASSIGN_OR_RETURN(std::string value, Text((*list)[i], at, name));
      MB_ASSIGN_OR_RETURN(uint64_t count, Count((*list)[i], at, "count"));
      if (!seen.insert(value).second) return Fail(at, fmt::format("\"{}\" is listed twice", value));
      out.emplace_back(std::move(value), count);
    }
    return out;
  }

 private:
  std::string_view source_;
};

// Adds without wrapping; false on overflow.
bool AddCount(uint64_t& total, uint64_t n) {
  if (total > UINT64_MAX - n) return false;
  total += n;
  return true;
}

Result<FeatureBaseline> ReadFeature(const Reader& in, const json& j, const Preprocessor& pre, size_t f) {
  const Feature& want = pre.schema().features[f];
  const std::string where = fmt::format("features[{}]", f);
  FeatureBaseline out;
  MB_ASSIGN_OR_RETURN(out.name, in.Text(j, where, "name"));
  if (out.name != want.name) {
    return in.Fail(where, fmt::format("is \"{}\" but the model's feature {} is \"{}\"", out.name, f, want.name));
  }
  MB_ASSIGN_OR_RETURN(std::string type, in.Text(j, where, "type"));
  if (type != FeatureTypeName(want.type)) {
    return in.Fail(where, fmt::format("type is \"{}\" but the model says {}", type, FeatureTypeName(want.type)));
  }
  out.type = want.type;
  MB_ASSIGN_OR_RETURN(out.rows, in.Count(j, where, "rows"));
  MB_ASSIGN_OR_RETURN(out.missing, in.Count(j, where, "missing"));
  if (out.missing > out.rows) return in.Fail(where, "\"missing\" is more than \"rows\"");
  const uint64_t present = out.rows - out.missing;
  if (want.type == FeatureType::kNumeric) {
    MB_ASSIGN_OR_RETURN(out.numeric, in.Numeric(j, where));
    if (out.numeric.count != present) return in.Fail(where, "\"count\" is not \"rows\" - \"missing\"");
    return out;
  }
  MB_ASSIGN_OR_RETURN(out.categories, in.Pairs(j, where, "categories", "value", kBaselineMaxCategories));
  MB_ASSIGN_OR_RETURN(out.rare, in.Count(j, where, "rare"));
  const auto& vocabulary = pre.categories(f);
  uint64_t total = out.rare;
  for (const auto& [value, count] : out.categories) {
    if (!std::binary_search(vocabulary.begin(), vocabulary.end(), value)) {
      return in.Fail(where, fmt::format("category \"{}\" is not in the model's vocabulary", value));
    }
    if (!AddCount(total, count)) return in.Fail(where, "the category counts overflow");
  }
  if (total != present) {
    return in.Fail(where, fmt::format("the category counts and \"rare\" add up to {}, not \"rows\" - \"missing\" = {}",
                                      total, present));
  }
  return out;
}

Result<OutputBaseline> ReadOutput(const Reader& in, const json& j, const Schema& schema) {
  const std::string where = "output";
  OutputBaseline out;
  MB_ASSIGN_OR_RETURN(out.rows, in.Count(j, where, "rows"));
  MB_ASSIGN_OR_RETURN(out.score, in.Text(j, where, "score"));
  const std::string_view want = schema.task == TaskType::kRegression ? "value"
                                : schema.task == TaskType::kBinary   ? "probability"
                                                                     : "max_probability";
  if (out.score != want) return in.Fail(where, fmt::format("\"score\" is \"{}\"; this model's is \"{}\"", out.score, want));
  MB_ASSIGN_OR_RETURN(const json* scores, in.Field(j, where, "scores"));
  MB_ASSIGN_OR_RETURN(out.scores, in.Numeric(*scores, "output.scores"));
  if (out.scores.count != out.rows) return in.Fail(where, "\"scores\".count is not \"rows\"");
  MB_ASSIGN_OR_RETURN(out.labels, in.Pairs(j, where, "labels", "label", schema.class_labels.size()));
  if (out.labels.size() != schema.class_labels.size()) {
    return in.Fail(where, fmt::format("lists {} label(s); the model has {}", out.labels.size(),
                                      schema.class_labels.size()));
  }
  uint64_t total = 0;
  for (size_t k = 0; k < out.labels.size(); ++k) {
    if (out.labels[k].first != schema.class_labels[k]) {
      return in.Fail(where, fmt::format("labels[{}] is \"{}\"; the model's class {} is \"{}\"", k,
                                        out.labels[k].first, k, schema.class_labels[k]));
    }
    if (!AddCount(total, out.labels[k].second)) return in.Fail(where, "the label counts overflow");
  }
  if (schema.is_classifier() && total != out.rows) return in.Fail(where, "the label counts do not add up to \"rows\"");
  return out;
}

}  // namespace

std::vector<FeatureBaseline> ComputeFeatureBaselines(const Preprocessor& pre, const TextColumns& columns,
                                                     std::span<const uint32_t> rows) {
  std::vector<FeatureBaseline> out;
  for (size_t f = 0; f < pre.schema().features.size(); ++f) out.push_back(FeatureOf(pre, f, *columns[f], rows));
  return out;
}

std::vector<QuantileSketch> SketchFeatures(const Preprocessor& pre, const TextColumns& columns,
                                           std::span<const uint32_t> rows) {
  std::vector<QuantileSketch> out(pre.schema().features.size());
  for (size_t f = 0; f < out.size(); ++f) {
    if (pre.schema().features[f].type != FeatureType::kNumeric) continue;
    out[f] = SketchValues(PresentValues(*columns[f], rows));
  }
  return out;
}

QuantileSketch SketchValues(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  QuantileSketch out{values.size(), {}};
  if (values.size() <= kSketchPoints) {
    out.points = std::move(values);
    return out;
  }
  out.points.reserve(kSketchPoints);
  for (size_t i = 0; i < kSketchPoints; ++i) {
    out.points.push_back(Quantile(values, static_cast<double>(i) / (kSketchPoints - 1)));
  }
  return out;
}

std::vector<double> EdgesFromSketches(std::span<const QuantileSketch> sketches) {
  // Each point stands for count / points values, spread over consecutive
  // ranks of the union; it sits at the middle of them. With every value
  // sent (weight 1) the positions are the ranks themselves, and the
  // interpolation below is numpy's linear quantile, as one process computes.
  std::vector<std::pair<double, double>> weighted;  // (value, weight)
  uint64_t total = 0;
  for (const QuantileSketch& s : sketches) {
    total += s.count;
    const double w = s.points.empty() ? 0 : static_cast<double>(s.count) / static_cast<double>(s.points.size());
    for (double v : s.points) weighted.emplace_back(v, w);
  }
  if (total == 0) return {0.0};
  std::sort(weighted.begin(), weighted.end());
  std::vector<double> position(weighted.size());
  double before = 0;
  for (size_t j = 0; j < weighted.size(); ++j) {
    position[j] = before + (weighted[j].second - 1) / 2;
    before += weighted[j].second;
  }
  return EdgesAt([&](double q) {
    const double target = q * static_cast<double>(total - 1);
    auto it = std::lower_bound(position.begin(), position.end(), target);
    if (it == position.begin()) return weighted.front().first;
    if (it == position.end()) return weighted.back().first;
    const size_t hi = static_cast<size_t>(it - position.begin());
    const size_t lo = hi - 1;
    const double span = position[hi] - position[lo];
    const double frac = span > 0 ? (target - position[lo]) / span : 0;
    return weighted[lo].first + (weighted[hi].first - weighted[lo].first) * frac;
  });
}

std::vector<FeatureTally> TallyFeatures(const Preprocessor& pre, const TextColumns& columns,
                                        std::span<const uint32_t> rows, const std::vector<FeatureBaseline>& edges_from) {
  std::vector<FeatureTally> out(pre.schema().features.size());
  for (size_t f = 0; f < out.size(); ++f) {
    FeatureTally& t = out[f];
    const std::vector<std::string_view>& text = *columns[f];
    t.rows = rows.size();
    if (pre.schema().features[f].type == FeatureType::kNumeric) {
      const NumericHistogram& edges = edges_from[f].numeric.histogram;
      t.bins.assign(edges.bins(), 0);
      const std::vector<double> values = PresentValues(text, rows);
      t.missing = rows.size() - values.size();
      t.count = values.size();
      for (double v : values) {
        t.sum += v;
        t.min = std::min(t.min, v);
        t.max = std::max(t.max, v);
        ++t.bins[edges.Bin(v)];
      }
      continue;
    }
    t.categories.assign(pre.categories(f).size(), 0);
    for (uint32_t r : rows) {
      float code = 0;
      if (!pre.Encode(f, Cell(text[r]), &code) || std::isnan(code)) {
        ++t.missing;
      } else {
        ++t.categories[static_cast<size_t>(code)];
      }
    }
  }
  return out;
}

void AddTally(std::vector<FeatureTally>& total, const std::vector<FeatureTally>& other) {
  for (size_t f = 0; f < total.size(); ++f) {
    FeatureTally& t = total[f];
    const FeatureTally& o = other[f];
    t.rows += o.rows;
    t.missing += o.missing;
    t.count += o.count;
    t.sum += o.sum;
    t.min = std::min(t.min, o.min);
    t.max = std::max(t.max, o.max);
    for (size_t i = 0; i < t.bins.size(); ++i) t.bins[i] += o.bins[i];
    for (size_t i = 0; i < t.categories.size(); ++i) t.categories[i] += o.categories[i];
  }
}

std::vector<FeatureBaseline> FinishFeatures(const Preprocessor& pre, const std::vector<FeatureTally>& total,
                                            const std::vector<FeatureBaseline>& edges_from) {
  std::vector<FeatureBaseline> out;
  for (size_t f = 0; f < total.size(); ++f) {
    const Feature& feature = pre.schema().features[f];
    const FeatureTally& t = total[f];
    FeatureBaseline b{feature.name, feature.type, t.rows, t.missing, {}, {}, 0};
    if (feature.type == FeatureType::kNumeric) {
      b.numeric.count = t.count;
      b.numeric.histogram.edges = edges_from[f].numeric.histogram.edges;
      b.numeric.histogram.counts = t.bins;
      if (t.count > 0) {
        b.numeric.min = t.min;
        b.numeric.max = t.max;
        // Summed in another order than one process would: keep the mean
        // inside [min, max] whatever the rounding.
        b.numeric.mean = std::clamp(t.sum / static_cast<double>(t.count), t.min, t.max);
      }
    } else {
      b.rare = TopCategories(pre.categories(f), t.categories, b.categories);
    }
    out.push_back(std::move(b));
  }
  return out;
}

OutputBaseline ComputeOutputBaseline(const Schema& schema, const Predictions& predictions) {
  std::vector<double> scores(predictions.rows);
  for (size_t r = 0; r < predictions.rows; ++r) scores[r] = OutputScore(predictions, r);
  return ComputeOutputBaseline(schema, std::move(scores),
                               schema.is_classifier() ? std::span<const double>(predictions.values)
                                                      : std::span<const double>());
}

OutputBaseline ComputeOutputBaseline(const Schema& schema, std::vector<double> scores,
                                     std::span<const double> labels) {
  OutputBaseline o;
  o.rows = scores.size();
  o.score = schema.task == TaskType::kRegression ? "value" : schema.task == TaskType::kBinary ? "probability"
                                                                                              : "max_probability";
  o.scores = SummarizeNumeric(std::move(scores));
  if (schema.is_classifier()) {
    std::vector<uint64_t> counts(schema.class_labels.size(), 0);
    for (double label : labels) ++counts[static_cast<size_t>(label)];
    for (size_t k = 0; k < counts.size(); ++k) o.labels.emplace_back(schema.class_labels[k], counts[k]);
  }
  return o;
}

Baseline ComputeBaseline(const Preprocessor& pre, const TextColumns& columns, std::span<const uint32_t> rows,
                         const Predictions& predictions, std::string scope) {
  Baseline out;
  out.scope = std::move(scope);
  out.features = ComputeFeatureBaselines(pre, columns, rows);
  out.output = ComputeOutputBaseline(pre.schema(), predictions);
  return out;
}

std::string BaselineToJson(const Baseline& b) {
  json features = json::array();
  for (const auto& f : b.features) {
    json j = {{"name", f.name}, {"type", FeatureTypeName(f.type)}, {"rows", f.rows}, {"missing", f.missing}};
    if (f.type == FeatureType::kNumeric) {
      j.update(NumericJson(f.numeric));
    } else {
      j["categories"] = PairsJson(f.categories, "value");
      j["rare"] = f.rare;
    }
    features.push_back(std::move(j));
  }
  json output = {{"rows", b.output.rows},
                 {"score", b.output.score},
                 {"scores", NumericJson(b.output.scores)},
                 {"labels", PairsJson(b.output.labels, "label")}};
  json doc = {{"format", kBaselineFormatVersion}, {"scope", b.scope}, {"features", features}, {"output", output}};
  return doc.dump(1) + "\n";
}

Result<Baseline> ParseBaseline(std::string_view text, const Preprocessor& pre, std::string_view source) {
  Reader in(source);
  if (text.size() > kBaselineMaxBytes) {
    return in.Fail("size", fmt::format("{} bytes; at most {} are read", text.size(), kBaselineMaxBytes));
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return in.Fail("document", "is not valid JSON");
  if (!doc.is_object()) return in.Fail("document", "must be a JSON object");
  MB_ASSIGN_OR_RETURN(const json* format, in.Field(doc, "document", "format"));
  if (*format != kBaselineFormatVersion) {
    return in.Fail("format", fmt::format("is {}; this modelbay reads format {}", format->dump(), kBaselineFormatVersion));
  }
  Baseline out;
  MB_ASSIGN_OR_RETURN(out.scope, in.Text(doc, "document", "scope"));
  const Schema& schema = pre.schema();
  MB_ASSIGN_OR_RETURN(const json* features, in.Array(doc, "document", "features", schema.features.size()));
  if (features->size() != schema.features.size()) {
    return in.Fail("features", fmt::format("lists {} feature(s); the model has {}", features->size(),
                                           schema.features.size()));
  }
  for (size_t f = 0; f < features->size(); ++f) {
    MB_ASSIGN_OR_RETURN(FeatureBaseline fb, ReadFeature(in, (*features)[f], pre, f));
    out.features.push_back(std::move(fb));
  }
  MB_ASSIGN_OR_RETURN(const json* output, in.Field(doc, "document", "output"));
  MB_ASSIGN_OR_RETURN(out.output, ReadOutput(in, *output, schema));
  return out;
}

}  // namespace modelbay
