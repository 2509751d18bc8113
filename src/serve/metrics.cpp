#include "serve/metrics.h"

#include <chrono>

#include <fmt/format.h>

#include "registry/model_name.h"

namespace modelbay::serve {

std::string_view RouteName(Route route) {
  switch (route) {
    case Route::kInference: return "/inference";
    case Route::kHealth: return "/health";
    case Route::kReady: return "/ready";
    case Route::kModels: return "/models";
    case Route::kModel: return "/models/{version}";
    case Route::kMetrics: return "/metrics";
    case Route::kOpenApi: return "/openapi.json";
    case Route::kV2: return "/v2";
    case Route::kInvocations: return "/invocations";
    case Route::kPing: return "/ping";
    case Route::kDrift: return "/models/{version}/drift";
    case Route::kVersion: return "/version";
    case Route::kUi: return "/ui";
    case Route::kTraffic: return "/traffic";
    case Route::kFeedback: return "/feedback";
    case Route::kModelFeedback: return "/models/{version}/feedback";
    case Route::kOther:
    case Route::kCount: break;
  }
  return "other";
}

size_t Metrics::StatusIndex(int status) {
  for (size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;
}

void Metrics::ObserveRequest(Route route, int status, double seconds) {
  requests_[size_t(route)][StatusIndex(status)].fetch_add(1, kRelaxed);
  if (route != Route::kInference) return;
  size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  latency_buckets_[b].fetch_add(1, kRelaxed);
  latency_count_.fetch_add(1, kRelaxed);
  latency_sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), kRelaxed);
}

void Metrics::AddRows(std::string_view model, int version, uint64_t rows) {
  {
    std::lock_guard lock(rows_mu_);
    rows_by_version_[{std::string(model), version}] += rows;
  }
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  traffic_.Add(version, rows, std::chrono::duration_cast<std::chrono::seconds>(now).count(), model);
}

LatencySnapshot Metrics::latency() const {
  static_assert(std::tuple_size_v<decltype(LatencySnapshot::counts)> == kLatencyBuckets.size() + 1);
  LatencySnapshot s;
  for (size_t b = 0; b < s.counts.size(); ++b) {
    s.counts[b] = latency_buckets_[b].load(kRelaxed);
    s.count += s.counts[b];
  }
  s.sum_seconds = static_cast<double>(latency_sum_ns_.load(kRelaxed)) / 1e9;
  return s;
}

std::string Metrics::Render(const SpoolStats& spool, int default_version, bool store_ok) const {
  std::string out;
  auto o = std::back_inserter(out);
  auto header = [&](std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(o, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };

  header("modelbay_http_requests_total", "counter", "HTTP requests answered, by route and status code.");
  for (size_t r = 0; r < size_t(Route::kCount); ++r) {
    for (size_t s = 0; s < kStatuses.size(); ++s) {
      const uint64_t n = requests_[r][s].load(kRelaxed);
      if (n == 0) continue;
      const int code = kStatuses[s] ? kStatuses[s] : 500;
      fmt::format_to(o, "modelbay_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                     RouteName(Route(r)), code, n);
    }
  }

  header("modelbay_inference_duration_seconds", "histogram",
         "Time from a complete /inference request to its response, in seconds.");
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBuckets.size(); ++b) {
    cumulative += latency_buckets_[b].load(kRelaxed);
    fmt::format_to(o, "modelbay_inference_duration_seconds_bucket{{le=\"{}\"}} {}\n",
                   kLatencyBuckets[b], cumulative);
  }
  cumulative += latency_buckets_.back().load(kRelaxed);
  fmt::format_to(o, "modelbay_inference_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  fmt::format_to(o, "modelbay_inference_duration_seconds_sum {}\n",
                 static_cast<double>(latency_sum_ns_.load(kRelaxed)) / 1e9);
  fmt::format_to(o, "modelbay_inference_duration_seconds_count {}\n", cumulative);

  header("modelbay_rows_predicted_total", "counter", "Rows scored and logged, by model (default: the unnamed one) and version.");
  {
    std::lock_guard lock(rows_mu_);
    for (const auto& [key, n] : rows_by_version_) {
      fmt::format_to(o, "modelbay_rows_predicted_total{{model=\"{}\",version=\"{}\"}} {}\n", key.first,
                     key.second, n);
    }
  }

  header("modelbay_model_loads_total", "counter", "Model versions loaded into memory, by result.");
  fmt::format_to(o, "modelbay_model_loads_total{{result=\"ok\"}} {}\n", model_loads_.load(kRelaxed));
  fmt::format_to(o, "modelbay_model_loads_total{{result=\"error\"}} {}\n",
                 model_load_failures_.load(kRelaxed));
  header("modelbay_model_cache_hits_total", "counter", "Requests served by an already loaded model.");
  fmt::format_to(o, "modelbay_model_cache_hits_total {}\n", cache_hits_.load(kRelaxed));
  header("modelbay_model_cache_misses_total", "counter", "Requests that had to load their model first.");
  fmt::format_to(o, "modelbay_model_cache_misses_total {}\n", cache_misses_.load(kRelaxed));

  header("modelbay_store_reads_total", "counter",
         "Reads of the model store, by kind (fetch = a model's artifacts downloaded).");
  constexpr std::array<std::string_view, size_t(StoreRead::kCount)> kKinds = {"list", "aliases",
                                                                              "fetch", "metadata"};
  for (size_t k = 0; k < kKinds.size(); ++k) {
    fmt::format_to(o, "modelbay_store_reads_total{{kind=\"{}\"}} {}\n", kKinds[k],
                   store_reads_[k].load(kRelaxed));
  }
  header("modelbay_store_errors_total", "counter", "Failed reads of the model store.");
  fmt::format_to(o, "modelbay_store_errors_total {}\n", store_errors_.load(kRelaxed));
  header("modelbay_store_up", "gauge", "1 when the last model-store refresh succeeded, else 0.");
  fmt::format_to(o, "modelbay_store_up {}\n", store_ok ? 1 : 0);
  header("modelbay_default_model_version", "gauge",
         "Version served when a request names none (0: no model yet).");
  fmt::format_to(o, "modelbay_default_model_version {}\n", default_version);

  header("modelbay_spool_backlog_rows", "gauge", "Logged rows spooled locally, not yet in the results store.");
  fmt::format_to(o, "modelbay_spool_backlog_rows {}\n", spool.backlog_rows);
  header("modelbay_log_shipped_objects_total", "counter", "Prediction-log objects written to the results store.");
  fmt::format_to(o, "modelbay_log_shipped_objects_total {}\n", spool.shipped_objects);
  header("modelbay_log_ship_errors_total", "counter", "Failed attempts to ship the prediction log.");
  fmt::format_to(o, "modelbay_log_ship_errors_total {}\n", spool.ship_errors);
  header("modelbay_log_commits_total", "counter",
         "Durable writes of the prediction log (group commits, --fsync always; 0 with never).");
  fmt::format_to(o, "modelbay_log_commits_total {}\n", spool.commits);
  header("modelbay_log_commit_appends_total", "counter",
         "Appends (answered requests) covered by those commits: per commit, the group size.");
  fmt::format_to(o, "modelbay_log_commit_appends_total {}\n", spool.commit_appends);
  header("modelbay_log_commit_seconds_total", "counter",
         "Time spent writing and flushing those commits: per commit, the disk's commit latency.");
  fmt::format_to(o, "modelbay_log_commit_seconds_total {:.6f}\n", spool.commit_seconds);
  header("modelbay_log_append_failures_total", "counter",
         "Requests answered 503 because their rows could not be logged.");
  fmt::format_to(o, "modelbay_log_append_failures_total {}\n", log_append_failures_.load(kRelaxed));
  header("modelbay_results_file_updates_total", "counter",
         "Updates of results_<N>.csv this server made (--results-refresh).");
  fmt::format_to(o, "modelbay_results_file_updates_total {}\n", results_file_updates_.load(kRelaxed));
  header("modelbay_results_file_rows_added_total", "counter", "Rows this server added to results_<N>.csv files.");
  fmt::format_to(o, "modelbay_results_file_rows_added_total {}\n", results_file_rows_.load(kRelaxed));
  header("modelbay_results_file_bytes_read_total", "counter",
         "Bytes this server read from the results store to update results_<N>.csv (log objects, checkpoints, "
         "and the file itself while it is under 5 MiB).");
  fmt::format_to(o, "modelbay_results_file_bytes_read_total {}\n", results_file_bytes_read_.load(kRelaxed));
  header("modelbay_results_file_errors_total", "counter", "Failed updates of results_<N>.csv (retried next time).");
  fmt::format_to(o, "modelbay_results_file_errors_total {}\n", results_file_errors_.load(kRelaxed));
  return out;
}

}  // namespace modelbay::serve
