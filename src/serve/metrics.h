// Counters of the inference service, rendered in the Prometheus text
// exposition format (version 0.0.4) by GET /metrics. Lock-free on the
// request path except the per-version row counter (one short mutex).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "serve/traffic.h"

namespace modelbay::serve {

enum class Route { kInference, kHealth, kReady, kModels, kModel, kMetrics, kOpenApi, kV2, kInvocations, kPing, kDrift, kVersion, kUi, kTraffic, kFeedback, kModelFeedback, kOther,
                   kCount };
std::string_view RouteName(Route route);

// Where a registry call went, for modelbay_store_reads_total{kind}.
enum class StoreRead { kList, kAliases, kFetch, kMetadata, kCount };

// The /inference latency histogram as counted so far (not cumulative).
struct LatencySnapshot {
  std::array<uint64_t, 15> counts{};  // per bucket of Metrics::kLatencyBuckets, then +Inf
  uint64_t count = 0;
  double sum_seconds = 0;
};

struct SpoolStats {
  uint64_t backlog_rows = 0;
  uint64_t shipped_objects = 0;
  uint64_t ship_errors = 0;
  uint64_t commits = 0;  // the prediction log's group commits (--fsync always)
  uint64_t commit_appends = 0;
  double commit_seconds = 0;
};

class Metrics {
 public:
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

  void ObserveRequest(Route route, int status, double seconds);
  // One answered inference of `version` of `model` ("default" for the unnamed
  // model: the `model` label) that scored `rows` rows, also counted in
  // traffic(), the per-model, per-version series over time.
  void AddRows(std::string_view model, int version, uint64_t rows);
  void ModelLoaded(bool ok) { (ok ? model_loads_ : model_load_failures_).fetch_add(1, kRelaxed); }
  void CacheHit() { cache_hits_.fetch_add(1, kRelaxed); }
  void CacheMiss() { cache_misses_.fetch_add(1, kRelaxed); }
  void StoreReadDone(StoreRead kind) { store_reads_[size_t(kind)].fetch_add(1, kRelaxed); }
  void StoreError() { store_errors_.fetch_add(1, kRelaxed); }
  void LogAppendFailed() { log_append_failures_.fetch_add(1, kRelaxed); }
  // An update of a results_<N>.csv that wrote something (results_file.h).
  void ResultsFileUpdated(uint64_t rows_added, uint64_t bytes_read) {
    results_file_updates_.fetch_add(1, kRelaxed);
    results_file_rows_.fetch_add(rows_added, kRelaxed);
    results_file_bytes_read_.fetch_add(bytes_read, kRelaxed);
  }
  void ResultsFileFailed() { results_file_errors_.fetch_add(1, kRelaxed); }

  uint64_t store_reads(StoreRead kind) const { return store_reads_[size_t(kind)].load(); }
  uint64_t cache_hits() const { return cache_hits_.load(); }
  LatencySnapshot latency() const;
  const TrafficSeries& traffic() const { return traffic_; }

  // The whole exposition. `spool` comes from results::PredictionLog::stats();
  // `default_version` is 0 when no model is being served.
  std::string Render(const SpoolStats& spool, int default_version, bool store_ok) const;

 private:
  static constexpr auto kRelaxed = std::memory_order_relaxed;
  // HTTP statuses we answer with; anything else is counted as 500.
  static constexpr std::array<int, 12> kStatuses = {200, 400, 401, 404, 405, 408,
                                                    413, 415, 431, 500, 503, 0};
  static size_t StatusIndex(int status);

  std::array<std::array<std::atomic<uint64_t>, kStatuses.size()>, size_t(Route::kCount)> requests_{};
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> latency_buckets_{};  // +Inf last
  std::atomic<uint64_t> latency_count_{0};
  std::atomic<uint64_t> latency_sum_ns_{0};
  std::atomic<uint64_t> model_loads_{0}, model_load_failures_{0};
  std::atomic<uint64_t> cache_hits_{0}, cache_misses_{0};
  std::array<std::atomic<uint64_t>, size_t(StoreRead::kCount)> store_reads_{};
  std::atomic<uint64_t> store_errors_{0};
  std::atomic<uint64_t> log_append_failures_{0};
  std::atomic<uint64_t> results_file_updates_{0}, results_file_rows_{0}, results_file_bytes_read_{0},
      results_file_errors_{0};
  mutable std::mutex rows_mu_;
  std::map<std::pair<std::string, int>, uint64_t> rows_by_version_;  // guarded by rows_mu_; (model, version)
  TrafficSeries traffic_;
};

}  // namespace modelbay::serve
