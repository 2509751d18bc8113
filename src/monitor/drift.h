// Drift of live traffic against a version's baseline (model/baseline.h):
// the same figures from the server's sliding window (DriftTracker, on the
// request path) and from the prediction log (`modelbay monitor`, which feeds
// the logged rows through the same DriftLayout).
//
// Per feature, over the present (non-missing) values, with baseline shares
// p_i and live shares q_i over the same bins:
//   PSI          sum_i (q'_i - p'_i) * ln(q'_i / p'_i), with q' = max(q, eps),
//                p' = max(p, eps), eps = kPsiEpsilon (empty bins)
//   JS distance  sqrt(JS divergence), log base 2 (0 = same, 1 = disjoint);
//                0 * log 0 = 0, no epsilon (scipy's jensenshannon(p, q, 2))
//   missing rate missing / rows
//   unseen rate  (categorical) values outside the vocabulary / present values
// Numeric bins are the baseline's; categorical bins are the baseline's top
// categories, then "rare" (any other category of the vocabulary), then
// "unseen" (baseline share 0). The output is binned like a numeric feature
// over its score, plus the predicted labels' frequencies (classifiers).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/baseline.h"
#include "model/loaded_model.h"

namespace modelbay::monitor {

inline constexpr double kPsiEpsilon = 1e-4;
inline constexpr uint64_t kDefaultDriftWindowRows = 10000;
inline constexpr uint64_t kMinDriftWindowRows = 100;
inline constexpr size_t kSubWindows = 8;
// The `model` of a drift document and label of the gauges for the unnamed
// model (registry/model_name.h's kDefaultModelName; monitor does not depend
// on the registry).
inline constexpr std::string_view kUnnamedModel = "default";

// PSI and JS distance of two count vectors (same bins); nullopt when either
// has no count at all.
std::optional<double> Psi(std::span<const double> baseline, std::span<const double> live);
std::optional<double> JsDistance(std::span<const double> baseline, std::span<const double> live);

// Where each row's values are counted: one flat vector of counters per
// version (slot 0: rows; per feature: missing, then its bins; then the
// output's score bins and label bins). Immutable; thread-safe.
class DriftLayout {
 public:
  DriftLayout(std::shared_ptr<const Baseline> baseline, const Preprocessor& pre);
  size_t slots() const { return slots_; }
  // The slot indices row `row` increments (rows, one per feature, the score,
  // the label), appended to `out`.
  void RowSlots(const CellMatrix& cells, size_t row, const Predictions& predictions,
                std::vector<uint32_t>& out) const;
  // The figures of `counters` (slots() long) as the JSON of
  // GET /models/{v}/drift's "features" and "output" (see docs/monitoring.md).
  nlohmann::json Figures(std::span<const uint64_t> counters) const;
  const Baseline& baseline() const { return *baseline_; }

 private:
  struct FeatureSlots {
    size_t missing = 0;  // slot of the missing count; bins follow
    size_t bins = 0;
    std::vector<uint32_t> code_bin;  // categorical: vocabulary code -> bin
  };
  std::shared_ptr<const Baseline> baseline_;
  const Preprocessor& pre_;  // owned by the LoadedModel that owns this layout's user
  std::vector<FeatureSlots> features_;
  size_t score_ = 0, score_bins_ = 0, label_ = 0, label_bins_ = 0;
  size_t slots_ = 0;
};

// The last `window_rows` rows of one version, to the granularity of
// window_rows / kSubWindows: row i (in the order rows arrive) belongs to
// sub-window epoch i / sub_capacity, and the window is the newest kSubWindows
// epochs (the newest one filling). Memory: at most kWindowShards x
// kSubWindows x layout.slots() counters, whatever the traffic.
//
// Cheap on the request path: the slots are found without a lock; a request
// takes its rows' positions with one atomic add, then counts them in its
// thread's shard (shards are cache-line apart, each with its own mutex, so
// io threads do not contend; threads beyond kWindowShards share). A shard's
// counters are allocated when a thread first counts in it. A row whose epoch
// has already left the window when it is counted (a thread overtaken by
// kSubWindows sub-windows of others) is not counted.
// Thread-safety: Observe and Snapshot from any threads.
inline constexpr size_t kWindowShards = 8;
class LiveWindow {
 public:
  LiveWindow(std::shared_ptr<const LoadedModel> model, uint64_t window_rows);
  void Observe(const CellMatrix& cells, const Predictions& predictions);
  // The counters of the rows in the window (slots() long).
  std::vector<uint64_t> Snapshot() const;
  const DriftLayout& layout() const { return layout_; }

 private:
  static constexpr uint64_t kNoEpoch = UINT64_MAX;
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::array<uint64_t, kSubWindows> epoch;  // guarded by mu: what each sub-window counts
    std::vector<uint64_t> counters;           // guarded by mu: kSubWindows x slots, or empty
  };
  std::shared_ptr<const LoadedModel> model_;  // keeps the layout's preprocessor alive
  DriftLayout layout_;
  const uint64_t sub_capacity_;
  std::atomic<uint64_t> rows_{0};  // rows ever observed (their positions)
  std::unique_ptr<Shard[]> shards_;
};

// The drift document of a version from its counters (or its baseline
// state): the body of GET /models/{v}/drift and of `modelbay monitor --json`.
// `model_name` is the model's display name (kUnnamedModel for the unnamed one).
nlohmann::json DriftDocument(const LoadedModel& model, const DriftLayout* layout,
                             std::span<const uint64_t> counters, uint64_t window_rows,
                             std::string_view model_name = kUnnamedModel);

// Per served (model, version), its LiveWindow: the model is its display name
// (kUnnamedModel or a named model's name), so version 1 of two models are two
// windows. Thread-safe: Observe runs on every request thread; Report and
// Prometheus on any.
class DriftTracker {
 public:
  explicit DriftTracker(uint64_t window_rows = kDefaultDriftWindowRows);
  void Observe(const std::shared_ptr<const LoadedModel>& model, const CellMatrix& cells,
               const Predictions& predictions, std::string_view model_name = kUnnamedModel);
  nlohmann::json Report(const LoadedModel& model, std::string_view model_name = kUnnamedModel) const;
  // The drift gauges (modelbay_feature_psi{model,version,feature}, ...) of
  // every (model, version) with a valid baseline that has seen rows, in the
  // Prometheus text format (each family's HELP/TYPE once).
  std::string Prometheus() const;
  uint64_t window_rows() const { return window_rows_; }

 private:
  using Key = std::pair<std::string, int>;  // (model display name, version)
  // Orders Key, and finds by (string_view, int) without building a string.
  struct KeyLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      const int c = std::string_view(a.first).compare(std::string_view(b.first));
      return c != 0 ? c < 0 : a.second < b.second;
    }
  };
  // The window of (model_name, version), created on first use; null when
  // the version has no usable baseline. Each thread remembers the last few
  // windows it used, so a request usually finds its window with no lock.
  LiveWindow* Window(const std::shared_ptr<const LoadedModel>& model, std::string_view model_name);
  std::shared_ptr<LiveWindow> Find(std::string_view model_name, int version) const;
  const uint64_t id_;  // unique per tracker in the process: keys the threads' caches
  const uint64_t window_rows_;
  mutable std::shared_mutex mu_;
  // Never erased while the tracker lives (a thread's cache may hold one a
  // little longer).
  std::map<Key, std::shared_ptr<LiveWindow>, KeyLess> windows_;  // guarded by mu_
};

}  // namespace modelbay::monitor
