#include "monitor/drift.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "model/schema_infer.h"
#include "model/values.h"

namespace modelbay::monitor {
using nlohmann::json;

namespace {

double Sum(std::span<const double> v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

json Number(std::optional<double> v) { return v ? json(*v) : json(nullptr); }

json Rate(uint64_t part, uint64_t whole) {
  return whole == 0 ? json(nullptr) : json(static_cast<double>(part) / static_cast<double>(whole));
}

std::string EdgeText(double v) { return FormatNumber(v); }

// Bin names of a numeric histogram: "<e1", "e1..e2", ..., ">=e(n-1)".
std::vector<std::string> NumericBinNames(const NumericHistogram& h) {
  const auto& e = h.edges;
  if (h.bins() == 1) return {"all"};
  std::vector<std::string> out;
  for (size_t i = 0; i < h.bins(); ++i) {
    if (i == 0) {
      out.push_back("<" + EdgeText(e[1]));
    } else if (i + 1 == h.bins()) {
      out.push_back(">=" + EdgeText(e[i]));
    } else {
      out.push_back(EdgeText(e[i]) + ".." + EdgeText(e[i + 1]));
    }
  }
  return out;
}

// The drift figures of one binned distribution.
json Compare(const std::vector<std::string>& names, const std::vector<double>& baseline,
             std::span<const uint64_t> live) {
  std::vector<double> l(live.begin(), live.end());
  json bins = json::array();
  for (size_t i = 0; i < names.size(); ++i) {
    bins.push_back({{"bin", names[i]}, {"baseline", baseline[i]}, {"live", live[i]}});
  }
  return {{"psi", Number(Psi(baseline, l))}, {"js_distance", Number(JsDistance(baseline, l))}, {"bins", bins}};
}

std::vector<double> HistogramCounts(const NumericHistogram& h) {
  return std::vector<double>(h.counts.begin(), h.counts.end());
}

// A cell as a number (numeric features): nullopt when missing.
std::optional<double> NumericValue(const Cell& cell) {
  if (const double* d = std::get_if<double>(&cell)) return std::isfinite(*d) ? std::optional(*d) : std::nullopt;
  if (const auto* t = std::get_if<std::string_view>(&cell)) {
    if (IsMissingText(*t)) return std::nullopt;
    return ParseNumber(*t);
  }
  return std::nullopt;
}

bool IsMissingCell(const Cell& cell) {
  if (const double* d = std::get_if<double>(&cell)) return !std::isfinite(*d);
  if (const auto* t = std::get_if<std::string_view>(&cell)) return IsMissingText(*t);
  return true;
}

// Prometheus label values: backslash, double quote and newline escaped.
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<double> Psi(std::span<const double> baseline, std::span<const double> live) {
  const double bt = Sum(baseline), lt = Sum(live);
  if (bt <= 0 || lt <= 0) return std::nullopt;
  double psi = 0;
  for (size_t i = 0; i < baseline.size(); ++i) {
    const double p = std::max(baseline[i] / bt, kPsiEpsilon);
    const double q = std::max(live[i] / lt, kPsiEpsilon);
    psi += (q - p) * std::log(q / p);
  }
  return psi;
}

std::optional<double> JsDistance(std::span<const double> baseline, std::span<const double> live) {
  const double bt = Sum(baseline), lt = Sum(live);
  if (bt <= 0 || lt <= 0) return std::nullopt;
  double js = 0;
  for (size_t i = 0; i < baseline.size(); ++i) {
    const double p = baseline[i] / bt, q = live[i] / lt, m = (p + q) / 2;
    if (p > 0) js += 0.5 * p * std::log2(p / m);
    if (q > 0) js += 0.5 * q * std::log2(q / m);
  }
  return std::sqrt(std::max(0.0, js));
}

DriftLayout::DriftLayout(std::shared_ptr<const Baseline> baseline, const Preprocessor& pre)
    : baseline_(std::move(baseline)), pre_(pre) {
  size_t next = 1;  // slot 0: rows
  for (size_t f = 0; f < baseline_->features.size(); ++f) {
    const FeatureBaseline& fb = baseline_->features[f];
    FeatureSlots s;
    s.missing = next;
    if (fb.type == FeatureType::kNumeric) {
      s.bins = fb.numeric.histogram.bins();
    } else {
      // top categories, then rare, then unseen
      s.bins = fb.categories.size() + 2;
      const auto& vocabulary = pre.categories(f);
      s.code_bin.assign(vocabulary.size(), static_cast<uint32_t>(fb.categories.size()));  // rare
      for (size_t k = 0; k < fb.categories.size(); ++k) {
        auto it = std::lower_bound(vocabulary.begin(), vocabulary.end(), fb.categories[k].first);
        s.code_bin[static_cast<size_t>(it - vocabulary.begin())] = static_cast<uint32_t>(k);
      }
    }
    next += 1 + s.bins;
    features_.push_back(std::move(s));
  }
  score_ = next;
  score_bins_ = baseline_->output.scores.histogram.bins();
  next += score_bins_;
  label_ = next;
  label_bins_ = baseline_->output.labels.size();
  next += label_bins_;
  slots_ = next;
}

void DriftLayout::RowSlots(const CellMatrix& cells, size_t row, const Predictions& predictions,
                           std::vector<uint32_t>& out) const {
  out.push_back(0);
  for (size_t f = 0; f < features_.size(); ++f) {
    const FeatureSlots& s = features_[f];
    const Cell& cell = cells.at(row, f);
    const FeatureBaseline& fb = baseline_->features[f];
    if (fb.type == FeatureType::kNumeric) {
      auto v = NumericValue(cell);
      out.push_back(static_cast<uint32_t>(v ? s.missing + 1 + fb.numeric.histogram.Bin(*v) : s.missing));
      continue;
    }
    if (IsMissingCell(cell)) {
      out.push_back(static_cast<uint32_t>(s.missing));
      continue;
    }
    float code = 0;
    const bool known = pre_.Encode(f, cell, &code) && !std::isnan(code);
    const size_t bin = known ? s.code_bin[static_cast<size_t>(code)] : s.bins - 1;  // unseen: the last bin
    out.push_back(static_cast<uint32_t>(s.missing + 1 + bin));
  }
  out.push_back(static_cast<uint32_t>(score_ + baseline_->output.scores.histogram.Bin(OutputScore(predictions, row))));
  if (label_bins_ > 0) out.push_back(static_cast<uint32_t>(label_ + static_cast<size_t>(predictions.values[row])));
}

json DriftLayout::Figures(std::span<const uint64_t> c) const {
  json features = json::array();
  for (size_t f = 0; f < features_.size(); ++f) {
    const FeatureSlots& s = features_[f];
    const FeatureBaseline& fb = baseline_->features[f];
    const uint64_t rows = c[0], missing = c[s.missing];
    std::span<const uint64_t> live = c.subspan(s.missing + 1, s.bins);
    std::vector<std::string> names;
    std::vector<double> base;
    json j = {{"name", fb.name},
              {"type", FeatureTypeName(fb.type)},
              {"rows", rows},
              {"missing", missing},
              {"missing_rate", Rate(missing, rows)},
              {"baseline_missing_rate", Rate(fb.missing, fb.rows)}};
    if (fb.type == FeatureType::kNumeric) {
      names = NumericBinNames(fb.numeric.histogram);
      base = HistogramCounts(fb.numeric.histogram);
      j["unseen"] = nullptr;
      j["unseen_rate"] = nullptr;
    } else {
      for (const auto& [value, count] : fb.categories) {
        names.push_back(value);
        base.push_back(static_cast<double>(count));
      }
      names.push_back("(rare)");
      base.push_back(static_cast<double>(fb.rare));
      names.push_back("(unseen)");
      base.push_back(0);
      j["unseen"] = live.back();
      j["unseen_rate"] = Rate(live.back(), rows - missing);
    }
    j.update(Compare(names, base, live));
    features.push_back(std::move(j));
  }
  const OutputBaseline& ob = baseline_->output;
  json output = Compare(NumericBinNames(ob.scores.histogram), HistogramCounts(ob.scores.histogram),
                        c.subspan(score_, score_bins_));
  output["score"] = ob.score;
  output["label_psi"] = nullptr;
  output["labels"] = json::array();
  if (label_bins_ > 0) {
    std::vector<double> base;
    std::vector<std::string> names;
    for (const auto& [label, count] : ob.labels) {
      names.push_back(label);
      base.push_back(static_cast<double>(count));
    }
    json labels = Compare(names, base, c.subspan(label_, label_bins_));
    output["label_psi"] = labels["psi"];
    output["labels"] = labels["bins"];
  }
  return {{"features", features}, {"output", output}};
}

LiveWindow::LiveWindow(std::shared_ptr<const LoadedModel> model, uint64_t window_rows)
    : model_(std::move(model)),
      layout_(model_->baseline().baseline, model_->preprocessor()),
      sub_capacity_(std::max<uint64_t>(1, window_rows / kSubWindows)),
      shards_(std::make_unique<Shard[]>(kWindowShards)) {
  for (size_t i = 0; i < kWindowShards; ++i) shards_[i].epoch.fill(kNoEpoch);
}

namespace {
// This thread's shard: threads are numbered as they first count.
size_t ThreadShard() {
  static std::atomic<size_t> next{0};
  thread_local const size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kWindowShards;
  return shard;
}
}  // namespace

void LiveWindow::Observe(const CellMatrix& cells, const Predictions& predictions) {
  thread_local std::vector<uint32_t> slots;
  slots.clear();
  for (size_t r = 0; r < cells.rows; ++r) layout_.RowSlots(cells, r, predictions, slots);
  const size_t per_row = slots.size() / std::max<size_t>(1, cells.rows);
  const size_t width = layout_.slots();
  const uint64_t first = rows_.fetch_add(cells.rows, std::memory_order_relaxed);
  Shard& shard = shards_[ThreadShard()];
  std::lock_guard lock(shard.mu);
  if (shard.counters.empty()) shard.counters.assign(kSubWindows * width, 0);
  for (size_t r = 0; r < cells.rows; ++r) {
    const uint64_t epoch = (first + r) / sub_capacity_;
    const size_t sub = epoch % kSubWindows;
    uint64_t* counters = shard.counters.data() + sub * width;
    if (shard.epoch[sub] != epoch) {
      if (shard.epoch[sub] != kNoEpoch && shard.epoch[sub] > epoch) continue;  // already left the window
      std::fill(counters, counters + width, 0);
      shard.epoch[sub] = epoch;
    }
    for (size_t i = r * per_row; i < (r + 1) * per_row; ++i) ++counters[slots[i]];
  }
}

std::vector<uint64_t> LiveWindow::Snapshot() const {
  const size_t width = layout_.slots();
  std::vector<uint64_t> out(width, 0);
  const uint64_t rows = rows_.load(std::memory_order_relaxed);
  if (rows == 0) return out;
  const uint64_t newest = (rows - 1) / sub_capacity_;
  for (size_t s = 0; s < kWindowShards; ++s) {
    const Shard& shard = shards_[s];
    std::lock_guard lock(shard.mu);
    if (shard.counters.empty()) continue;
    for (size_t sub = 0; sub < kSubWindows; ++sub) {
      const uint64_t epoch = shard.epoch[sub];
      if (epoch == kNoEpoch || epoch > newest || epoch + kSubWindows <= newest) continue;
      const uint64_t* counters = shard.counters.data() + sub * width;
      for (size_t i = 0; i < width; ++i) out[i] += counters[i];
    }
  }
  return out;
}

json DriftDocument(const LoadedModel& model, const DriftLayout* layout, std::span<const uint64_t> counters,
                   uint64_t window_rows, std::string_view model_name) {
  const BaselineState& state = model.baseline();
  json doc = {{"model", model_name}, {"version", model.version()}, {"baseline", state.KindName()}};
  switch (state.kind) {
    case BaselineState::Kind::kMissing:
      doc["message"] = fmt::format("version {} has no baseline (it was trained before modelbay recorded "
                                   "baselines, or imported from a bundle); retrain to monitor drift",
                                   model.version());
      return doc;
    case BaselineState::Kind::kInvalid:
      doc["message"] = fmt::format("version {} has a baseline that cannot be used: {}; it still serves, drift is "
                                   "not computed",
                                   model.version(), state.problem);
      return doc;
    case BaselineState::Kind::kOk: break;
  }
  doc["baseline_scope"] = state.baseline->scope;
  doc["window"] = {{"rows", counters.empty() ? 0 : counters[0]}, {"capacity", window_rows}};
  if (layout == nullptr) {
    DriftLayout empty(state.baseline, model.preprocessor());
    std::vector<uint64_t> zeros(empty.slots(), 0);
    doc.update(empty.Figures(zeros));
  } else {
    doc.update(layout->Figures(counters));
  }
  return doc;
}

namespace {
std::atomic<uint64_t> next_tracker_id{1};
}  // namespace

DriftTracker::DriftTracker(uint64_t window_rows)
    : id_(next_tracker_id.fetch_add(1, std::memory_order_relaxed)), window_rows_(window_rows) {}

std::shared_ptr<LiveWindow> DriftTracker::Find(std::string_view model_name, int version) const {
  std::shared_lock lock(mu_);
  auto it = windows_.find(std::pair<std::string_view, int>(model_name, version));
  return it == windows_.end() ? nullptr : it->second;
}

LiveWindow* DriftTracker::Window(const std::shared_ptr<const LoadedModel>& model, std::string_view model_name) {
  // The windows this thread used last (a server thread sees few versions at
  // once): found with no lock and no reference count touched.
  struct Cached {
    uint64_t tracker = 0;
    int version = 0;
    std::string model_name;
    std::shared_ptr<LiveWindow> window;
  };
  constexpr size_t kCached = 4;
  thread_local std::array<Cached, kCached> cache;
  thread_local size_t next_slot = 0;
  const int version = model->version();
  for (const Cached& c : cache) {
    if (c.tracker == id_ && c.version == version && c.model_name == model_name) return c.window.get();
  }
  std::shared_ptr<LiveWindow> window = Find(model_name, version);
  if (!window) {
    std::unique_lock lock(mu_);
    auto& slot = windows_[Key(model_name, version)];
    if (!slot) slot = std::make_shared<LiveWindow>(model, window_rows_);
    window = slot;
  }
  Cached& c = cache[next_slot++ % kCached];
  c.tracker = id_;
  c.version = version;
  c.model_name.assign(model_name);
  c.window = std::move(window);
  return c.window.get();
}

void DriftTracker::Observe(const std::shared_ptr<const LoadedModel>& model, const CellMatrix& cells,
                           const Predictions& predictions, std::string_view model_name) {
  if (model->baseline().kind != BaselineState::Kind::kOk || cells.rows == 0) return;
  Window(model, model_name)->Observe(cells, predictions);
}

json DriftTracker::Report(const LoadedModel& model, std::string_view model_name) const {
  std::shared_ptr<LiveWindow> window = Find(model_name, model.version());
  if (!window) return DriftDocument(model, nullptr, {}, window_rows_, model_name);
  std::vector<uint64_t> counters = window->Snapshot();
  return DriftDocument(model, &window->layout(), counters, window_rows_, model_name);
}

std::string DriftTracker::Prometheus() const {
  std::map<Key, std::shared_ptr<LiveWindow>, KeyLess> windows;
  {
    std::shared_lock lock(mu_);
    windows = windows_;
  }
  struct Family {
    std::string_view name, help;
    std::string samples;
  };
  Family psi{"modelbay_feature_psi", "Population stability index of a feature's live window against its baseline", {}};
  Family js{"modelbay_feature_js_distance", "Jensen-Shannon distance (base 2) of a feature's live window against its baseline", {}};
  Family missing{"modelbay_feature_missing_rate", "Share of missing values of a feature in the live window", {}};
  Family unseen{"modelbay_feature_unseen_category_rate", "Share of present values of a categorical feature that are not in its vocabulary, in the live window", {}};
  Family out_psi{"modelbay_output_psi", "Population stability index of the model's score in the live window against its baseline", {}};
  Family out_js{"modelbay_output_js_distance", "Jensen-Shannon distance (base 2) of the model's score in the live window against its baseline", {}};
  Family rows{"modelbay_drift_window_rows", "Rows in the live drift window of a version", {}};
  auto add = [](Family& family, const std::string& labels, const json& value) {
    if (value.is_number()) family.samples += fmt::format("{}{{{}}} {}\n", family.name, labels, value.get<double>());
  };
  for (const auto& [key, window] : windows) {
    if (!window) continue;
    std::vector<uint64_t> counters = window->Snapshot();
    if (counters[0] == 0) continue;
    json figures = window->layout().Figures(counters);
    const std::string base = fmt::format("model=\"{}\",version=\"{}\"", LabelValue(key.first), key.second);
    add(rows, base, counters[0]);
    add(out_psi, base, figures["output"]["psi"]);
    add(out_js, base, figures["output"]["js_distance"]);
    for (const json& f : figures["features"]) {
      const std::string labels = fmt::format("{},feature=\"{}\"", base, LabelValue(f["name"].get<std::string>()));
      add(psi, labels, f["psi"]);
      add(js, labels, f["js_distance"]);
      add(missing, labels, f["missing_rate"]);
      add(unseen, labels, f["unseen_rate"]);
    }
  }
  std::string out;
  for (const Family* family : {&psi, &js, &missing, &unseen, &out_psi, &out_js, &rows}) {
    if (family->samples.empty()) continue;
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{}", family->name, family->help, family->name,
                       family->samples);
  }
  return out;
}

}  // namespace modelbay::monitor
