#include "serve/traffic.h"

#include <vector>

namespace modelbay::serve {

void TrafficSeries::Add(int version, uint64_t rows, int64_t unix_seconds, std::string_view model) {
  const int64_t slot = unix_seconds / kIntervalSeconds;
  std::lock_guard lock(mu_);
  Bucket& b = ring_[static_cast<size_t>(slot % kBuckets)];
  if (b.slot != slot) {
    if (slot < b.slot) return;  // the clock stepped back past a newer bucket: drop, never corrupt it
    b.slot = slot;
    b.by_model.clear();
  }
  auto it = b.by_model.find(model);  // no string built on the common path
  if (it == b.by_model.end()) it = b.by_model.emplace(std::string(model), std::map<int, Counts>{}).first;
  Counts& c = it->second[version];
  c.requests += 1;
  c.rows += rows;
}

nlohmann::json TrafficSeries::Json(int64_t now_unix_seconds, std::string_view model) const {
  const int64_t last = now_unix_seconds / kIntervalSeconds;
  const int64_t first = last - kBuckets + 1;
  std::map<int, std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> series;
  {
    std::lock_guard lock(mu_);
    for (int64_t s = first; s <= last; ++s) {
      const Bucket& b = ring_[static_cast<size_t>(((s % kBuckets) + kBuckets) % kBuckets)];
      if (b.slot != s) continue;
      auto m = b.by_model.find(model);
      if (m == b.by_model.end()) continue;
      for (const auto& [version, c] : m->second) {
        auto& [requests, rows] = series[version];
        if (requests.empty()) {
          requests.assign(kBuckets, 0);
          rows.assign(kBuckets, 0);
        }
        requests[static_cast<size_t>(s - first)] = c.requests;
        rows[static_cast<size_t>(s - first)] = c.rows;
      }
    }
  }
  nlohmann::json versions = nlohmann::json::array();
  for (const auto& [version, r] : series) {
    versions.push_back({{"version", version}, {"requests", r.first}, {"rows", r.second}});
  }
  return {{"model", model},
          {"interval_seconds", kIntervalSeconds},
          {"buckets", kBuckets},
          {"start", first * kIntervalSeconds},
          {"versions", std::move(versions)}};
}

}  // namespace modelbay::serve
