// TrafficSeries (serve/traffic.h): the per-version series GET /traffic serves.
#include "serve/traffic.h"

#include <gtest/gtest.h>

namespace modelbay::serve {
namespace {

constexpr int64_t kT0 = 1'764'649'200;  // a multiple of the interval

TEST(TrafficSeries, CountsRequestsAndRowsPerVersionAndBucket) {
  TrafficSeries t;
  t.Add(1, 200, kT0);
  t.Add(1, 100, kT0 + 9);    // same 10 s bucket
  t.Add(2, 5, kT0 + 10);     // next bucket
  const auto j = t.Json(kT0 + 15);
  EXPECT_EQ(j["buckets"], TrafficSeries::kBuckets);
  EXPECT_EQ(j["interval_seconds"], TrafficSeries::kIntervalSeconds);
  EXPECT_EQ(j["start"], kT0 + 10 - (TrafficSeries::kBuckets - 1) * 10);
  ASSERT_EQ(j["versions"].size(), 2u);
  const auto& v1 = j["versions"][0];
  EXPECT_EQ(v1["version"], 1);
  ASSERT_EQ(v1["requests"].size(), size_t(TrafficSeries::kBuckets));
  EXPECT_EQ(v1["requests"][TrafficSeries::kBuckets - 2], 2);
  EXPECT_EQ(v1["rows"][TrafficSeries::kBuckets - 2], 300);
  EXPECT_EQ(v1["rows"][TrafficSeries::kBuckets - 1], 0);
  const auto& v2 = j["versions"][1];
  EXPECT_EQ(v2["requests"][TrafficSeries::kBuckets - 1], 1);
  EXPECT_EQ(v2["rows"][TrafficSeries::kBuckets - 1], 5);
}

TEST(TrafficSeries, OldBucketsLeaveTheWindowAndAreReused) {
  TrafficSeries t;
  t.Add(1, 10, kT0);
  const int64_t later = kT0 + TrafficSeries::kBuckets * TrafficSeries::kIntervalSeconds;  // same ring slot
  EXPECT_EQ(t.Json(later)["versions"].size(), 0u);  // out of the window: not listed
  t.Add(3, 7, later);
  const auto j = t.Json(later);
  ASSERT_EQ(j["versions"].size(), 1u);
  EXPECT_EQ(j["versions"][0]["version"], 3);
  EXPECT_EQ(j["versions"][0]["rows"][TrafficSeries::kBuckets - 1], 7);
  t.Add(1, 99, kT0);  // a clock stepped back past a newer bucket: dropped
  EXPECT_EQ(t.Json(later)["versions"][0]["rows"][TrafficSeries::kBuckets - 1], 7);
}

}  // namespace
}  // namespace modelbay::serve
