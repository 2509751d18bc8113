// Requests and rows scored per model and version over the last few minutes,
// in fixed time buckets: the series the dashboard (GET /traffic) draws.
// Memory is bounded: kBuckets buckets, each holding the (model, version)
// pairs that scored in its interval. Thread-safe (one short mutex per Add).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "registry/model_name.h"

namespace modelbay::serve {

class TrafficSeries {
 public:
  static constexpr int kBuckets = 60;
  static constexpr int64_t kIntervalSeconds = 10;

  // One answered request of `version` of `model` (its display name) that
  // scored `rows` rows at `unix_seconds` (seconds since the epoch, UTC).
  void Add(int version, uint64_t rows, int64_t unix_seconds, std::string_view model = kDefaultModelName);
  // {"model", "interval_seconds", "buckets", "start" (unix seconds of the first bucket),
  //  "versions": [{"version", "requests": [kBuckets], "rows": [kBuckets]}]}
  // of `model`: the kBuckets intervals ending with the one holding
  // `now_unix_seconds`, oldest first, zero where nothing was scored; only
  // versions that scored in that span are listed.
  nlohmann::json Json(int64_t now_unix_seconds, std::string_view model = kDefaultModelName) const;

 private:
  struct Counts {
    uint64_t requests = 0;
    uint64_t rows = 0;
  };
  struct Bucket {
    int64_t slot = -1;  // unix_seconds / kIntervalSeconds; -1: never used
    std::map<std::string, std::map<int, Counts>, std::less<>> by_model;  // model -> version -> counts
  };
  mutable std::mutex mu_;
  std::array<Bucket, kBuckets> ring_;  // guarded by mu_; slot s lives at s % kBuckets
};

}  // namespace modelbay::serve
