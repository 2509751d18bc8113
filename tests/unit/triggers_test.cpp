// Pure parts of the retraining triggers: S3 event parsing, change
// detection, debounce and lease takeover with an injected clock.
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <atomic>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/local_store.h"
#include "triggers/change.h"
#include "triggers/debounce.h"
#include "triggers/drift_source.h"
#include "store/lease.h"
#include "triggers/s3_event.h"
#include "data/data_store.h"
#include "data/sample_data.h"
#include "registry/registry.h"
#include "train/trainer.h"
#include "core/hash.h"
#include "test_util.h"

namespace modelbay {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::_;
using ::testing::IsEmpty;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

// The body AWS puts on the queue for a PutObject (trimmed of fields we ignore).
constexpr const char* kPutEvent = R"({"Records":[{"eventVersion":"2.1","eventSource":"aws:s3",
  "awsRegion":"us-east-1","eventTime":"2026-11-29T09:00:00.000Z","eventName":"ObjectCreated:Put",
  "s3":{"s3SchemaVersion":"1.0","configurationId":"modelbay",
  "bucket":{"name":"train-data","arn":"arn:aws:s3:::train-data"},
  "object":{"key":"incoming/churn+2026%2F11+%C3%A9t%C3%A9.csv","size":1234,
  "eTag":"0123456789abcdef0123456789abcdef","sequencer":"0055AED6DCD90281E5"}}}]})";

TEST(S3Event, ParsesPutAndDecodesKey) {
  auto m = ParseS3EventMessage(kPutEvent);
  ASSERT_THAT(m, IsOk());
  EXPECT_FALSE(m->test_event);
  ASSERT_EQ(m->records.size(), 1u);
  const auto& e = m->records[0];
  EXPECT_EQ(e.event_name, "ObjectCreated:Put");
  EXPECT_EQ(e.bucket, "train-data");
  EXPECT_EQ(e.key, "incoming/churn 2026/11 \xC3\xA9t\xC3\xA9.csv");
  EXPECT_EQ(e.size, 1234u);
  EXPECT_EQ(e.etag, "0123456789abcdef0123456789abcdef");
}

TEST(S3Event, RecognizesTheTestEvent) {
  auto m = ParseS3EventMessage(
      R"({"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-29T09:00:00.000Z",
          "Bucket":"train-data","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"})");
  ASSERT_THAT(m, IsOk());
  EXPECT_TRUE(m->test_event);
  EXPECT_TRUE(m->records.empty());
}

TEST(S3Event, UnwrapsAnSnsEnvelope) {
  json envelope = {{"Type", "Notification"}, {"MessageId", "x"}, {"Message", kPutEvent}};
  auto m = ParseS3EventMessage(envelope.dump());
  ASSERT_THAT(m, IsOk());
  ASSERT_EQ(m->records.size(), 1u);
  EXPECT_EQ(m->records[0].bucket, "train-data");
}

TEST(S3Event, RejectsMalformedBodiesWithAReason) {
  for (const char* body : {"", "not json", "[]", R"({"Records":[]})", R"({"hello":"world"})",
                           R"({"Records":[{"eventName":"ObjectCreated:Put"}]})",
                           R"({"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},
                               "object":{"key":"bad%zzkey.csv"}}}]})"}) {
    auto m = ParseS3EventMessage(body);
    ASSERT_FALSE(m.ok()) << body;
    EXPECT_THAT(m, StatusIs(Code::kInvalidArgument, Not(IsEmpty())));
  }
}

TEST(S3Event, DecodesKeys) {
  EXPECT_EQ(*DecodeS3EventKey("a+b%2Bc%20d"), "a b+c d");
  EXPECT_EQ(*DecodeS3EventKey("plain.csv"), "plain.csv");
  EXPECT_FALSE(DecodeS3EventKey("trailing%2").ok());
  EXPECT_FALSE(DecodeS3EventKey("trailing%").ok());
}

TEST(S3Event, ClassifiesAgainstTheDataStore) {
  StoreLocation data;
  data.kind = StoreLocation::Kind::kS3;
  data.bucket = "train-data";
  data.prefix = "incoming/";
  S3ObjectEvent e{"ObjectCreated:Put", "train-data", "incoming/a b.csv", 10, "e"};
  auto r = ClassifyEvent(e, data);
  EXPECT_TRUE(r.relevant) << r.reason;
  EXPECT_EQ(r.key, "a b.csv");

  auto other_bucket = e;
  other_bucket.bucket = "elsewhere";
  EXPECT_FALSE(ClassifyEvent(other_bucket, data).relevant);
  auto outside = e;
  outside.key = "archive/a.csv";
  EXPECT_FALSE(ClassifyEvent(outside, data).relevant);
  auto not_csv = e;
  not_csv.key = "incoming/readme.txt";
  EXPECT_FALSE(ClassifyEvent(not_csv, data).relevant);
  auto bookkeeping = e;
  bookkeeping.key = "incoming/.modelbay/uploads/a.csv";
  EXPECT_FALSE(ClassifyEvent(bookkeeping, data).relevant);
  auto removed = e;
  removed.event_name = "ObjectRemoved:Delete";
  EXPECT_FALSE(ClassifyEvent(removed, data).relevant);
  auto upper = e;
  upper.key = "incoming/B.CSV";
  EXPECT_TRUE(ClassifyEvent(upper, data).relevant);
}

TEST(Change, IdIgnoresOrderAndSeesEtags) {
  std::vector<DataRef> a = {{"x.csv", "1"}, {"y.csv", "2"}};
  std::vector<DataRef> b = {{"y.csv", "2"}, {"x.csv", "1"}};
  std::vector<DataRef> c = {{"x.csv", "1"}, {"y.csv", "3"}};
  EXPECT_EQ(ChangeId(a), ChangeId(b));
  EXPECT_NE(ChangeId(a), ChangeId(c));
  EXPECT_EQ(ChangeId(a).size(), 64u);
}

TEST(Change, CoveredBySameEtagOrSameContent) {
  json metadata = {
      {"data", json::array({{{"key", "x.csv"}, {"sha256", "aaa"}, {"rows", 10}}})},
      {"trigger", "data-arrival"},
      {"trigger_detail", TriggerDetailFor({{"x.csv", "etag-1"}})},
  };
  TrainedOn trained = TrainedOnFromMetadata(metadata);
  int hashed = 0;
  auto hash = [&](const DataRef& r) -> Result<std::string> {
    ++hashed;
    return r.etag == "etag-touched" ? std::string("aaa") : std::string("bbb");
  };
  EXPECT_TRUE(*Covers(trained, {{"x.csv", "etag-1"}}, hash));
  EXPECT_EQ(hashed, 0) << "a matching ETag needs no download";
  EXPECT_TRUE(*Covers(trained, {{"x.csv", "etag-touched"}}, hash)) << "same content, new ETag";
  EXPECT_FALSE(*Covers(trained, {{"x.csv", "etag-2"}}, hash)) << "new content";
  EXPECT_FALSE(*Covers(trained, {{"y.csv", "etag-1"}}, hash)) << "a key it never saw";
  EXPECT_FALSE(*Covers(trained, {{"x.csv", "etag-1"}, {"y.csv", "e"}}, hash));
  EXPECT_FALSE(*Covers(TrainedOn{}, {}, hash)) << "no data is never covered";
}

// The reader against the one writer: what Train records in metadata.json
// (each data file's ETag and sha256, the trigger detail's ETags) is what the
// triggers read back, so a change already trained on is not trained again.
class TrainedOnTest : public TempDirTest {
 protected:
  // Trains once on a fresh churn.csv; the data file's ref and the version's metadata.
  void TrainOnce(const json& trigger_detail) {
    auto data = std::make_shared<LocalStore>(tmp() / "data");
    Registry registry(std::make_shared<LocalStore>(tmp() / "models"));
    ASSERT_THAT(WriteSampleData(tmp() / "churn.csv", {.rows = 200}), IsOk());
    ASSERT_THAT(UploadData(*data, tmp() / "churn.csv", {.name = "churn.csv"}), IsOk());
    auto files = SelectData(*data, "latest");
    ASSERT_THAT(files, IsOk());
    ASSERT_EQ(files->size(), 1u);
    ref_ = {files->front().key, NormalizeEtag(files->front().etag)};
    TrainOptions o;
    o.show_progress = false;
    o.params = {{"num_boost_round", 2}};
    o.trigger_detail = trigger_detail;
    auto out = Train(o, *data, registry);
    ASSERT_THAT(out, IsOk());
    auto meta = registry.Metadata(out->version);
    ASSERT_THAT(meta, IsOk());
    meta_ = *meta;
  }
  DataRef ref_;
  json meta_;
};

TEST_F(TrainedOnTest, ReadsTheDataFilesTrainRecords) {
  ASSERT_NO_FATAL_FAILURE(TrainOnce(json::object()));
  const TrainedOn trained = TrainedOnFromMetadata(meta_);
  EXPECT_EQ(trained.etags, (std::map<std::string, std::string>{{ref_.key, ref_.etag}})) << meta_.dump();
  auto file_hash = Sha256FileHex(tmp() / "churn.csv");
  ASSERT_THAT(file_hash, IsOk());
  EXPECT_EQ(trained.sha256, (std::map<std::string, std::string>{{ref_.key, *file_hash}})) << meta_.dump();
  auto never = [](const DataRef&) -> Result<std::string> { return Internal("no download expected"); };
  EXPECT_THAT(Covers(trained, {ref_}, never), IsOkAndHolds(true));
}

TEST_F(TrainedOnTest, ReadsTheTriggerDetailTrainRecords) {
  ASSERT_NO_FATAL_FAILURE(TrainOnce(TriggerDetailFor({{"churn.csv", "etag-from-the-event"}})));
  EXPECT_EQ(TrainedOnFromMetadata(meta_).etags.at("churn.csv"), "etag-from-the-event") << meta_.dump();
}

TEST(Debounce, WaitsForTheChangeToSettle) {
  Debouncer d(10s);
  auto t0 = std::chrono::system_clock::time_point(std::chrono::hours(1000));
  EXPECT_FALSE(d.Observe("a", t0));
  EXPECT_FALSE(d.Observe("a", t0 + 9s));
  EXPECT_EQ(d.Remaining(t0 + 9s), 1s);
  EXPECT_FALSE(d.Observe("b", t0 + 9s)) << "another upload restarts the quiet period";
  EXPECT_FALSE(d.Observe("b", t0 + 18s));
  EXPECT_TRUE(d.Observe("b", t0 + 19s));
  d.Reset();
  EXPECT_FALSE(d.Observe("b", t0 + 20s));
  Debouncer immediate(0s);
  EXPECT_TRUE(immediate.Observe("x", t0));
}

class LeaseTest : public testutil::TempDirTest {
 protected:
  void SetUp() override { store_ = std::make_shared<LocalStore>(root_); }

  Clock clock() {
    return [this] { return std::chrono::system_clock::time_point(std::chrono::hours(1000)) + now_; };
  }

  const std::filesystem::path root_ = tmp() / "store";
  std::shared_ptr<Store> store_;
  std::chrono::milliseconds now_{0};
};

TEST_F(LeaseTest, OneHolderAtATime) {
  LeaseManager a(store_, "a", clock(), 60s), b(store_, "b", clock(), 60s);
  auto la = a.TryAcquire("c1");
  ASSERT_THAT(la, IsOk());
  ASSERT_TRUE(la->has_value());
  EXPECT_EQ((*la)->attempt, 0);
  auto lb = b.TryAcquire("c1");
  ASSERT_TRUE(lb.ok());
  EXPECT_FALSE(lb->has_value()) << "b must not get a live lease held by a";
  auto other = b.TryAcquire("c2");
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(other->has_value()) << "another change is independent";
}

TEST_F(LeaseTest, ExpiredLeaseIsTakenOverByExactlyOne) {
  LeaseManager a(store_, "a", clock(), 60s), b(store_, "b", clock(), 60s), c(store_, "c", clock(), 60s);
  auto la = a.TryAcquire("c1");
  ASSERT_TRUE(la.ok() && la->has_value());
  now_ = 59s;
  EXPECT_FALSE(b.TryAcquire("c1")->has_value()) << "not expired yet";
  now_ = 61s;  // a died without renewing
  auto lb = b.TryAcquire("c1");
  ASSERT_THAT(lb, IsOk());
  ASSERT_TRUE(lb->has_value());
  EXPECT_EQ((*lb)->attempt, 1);
  EXPECT_FALSE(c.TryAcquire("c1")->has_value()) << "b's takeover is live";
  // a wakes up: its renewal must fail, it has lost the lease.
  Lease stale = **la;
  Status renew = a.Renew(stale);
  EXPECT_THAT(renew, StatusIs(Code::kFailedPrecondition, _));
}

TEST_F(LeaseTest, RacingTakersCannotBothWin) {
  // Several takers race for the same expired lease, over and over: in every
  // round exactly one wins, whatever the interleaving.
  constexpr int kTakers = 4;
  for (int round = 0; round < 20; ++round) {
    const std::string change = "race" + std::to_string(round);
    now_ = 0s;
    LeaseManager dead(store_, "dead", clock(), 60s);
    ASSERT_TRUE(dead.TryAcquire(change)->has_value());
    now_ = 61s;
    std::atomic<int> winners{0}, errors{0}, ready{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kTakers; ++t) {
      threads.emplace_back([&, t] {
        LeaseManager taker(store_, "taker" + std::to_string(t), clock(), 60s);
        ready.fetch_add(1);
        while (ready.load() < kTakers) std::this_thread::yield();
        auto got = taker.TryAcquire(change);
        if (!got.ok()) errors.fetch_add(1);
        else if (got->has_value()) winners.fetch_add(1);
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
}

TEST_F(LeaseTest, RenewKeepsItAndReleaseFreesIt) {
  LeaseManager a(store_, "a", clock(), 60s), b(store_, "b", clock(), 60s);
  auto la = a.TryAcquire("c1");
  ASSERT_TRUE(la.ok() && la->has_value());
  Lease lease = **la;
  now_ = 50s;
  ASSERT_TRUE(a.Renew(lease).ok());
  now_ = 100s;  // past the first expiry, within the renewed one
  EXPECT_FALSE(b.TryAcquire("c1")->has_value());
  ASSERT_TRUE(a.Release(lease).ok());
  auto lb = b.TryAcquire("c1");
  ASSERT_TRUE(lb.ok() && lb->has_value());
  EXPECT_EQ((*lb)->attempt, 0);
}


// --on-drift's gate (watch and worker): a spike that falls back restarts the
// wait and never counts; drift above the threshold for the whole debounce
// period on one version does; a promotion (another version) restarts it.
TEST(DriftGate, OnlySustainedDriftOnOneVersionCounts) {
  std::vector<DriftReading> readings;
  size_t next = 0;
  DriftGate gate(0.25, [&]() -> Result<DriftReading> { return readings.at(next++); }, 10s);
  auto reading = [](int version, std::optional<double> psi) {
    DriftReading r;
    r.version = version;
    r.psi = psi;
    r.where = "tenure";
    return r;
  };
  readings = {reading(1, 0.4), reading(1, 0.05), reading(1, 0.4), reading(1, std::nullopt), reading(1, 0.3),
              reading(1, 0.3), reading(2, 0.3), reading(2, 0.3), reading(2, 0.3)};
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::hours(1000));
  auto observe = [&](std::chrono::seconds at) {
    auto o = gate.Observe(t0 + at);
    EXPECT_THAT(o, testutil::IsOk());
    return o.ok() && o->sustained;
  };
  EXPECT_FALSE(observe(0s));   // above: the wait starts
  EXPECT_FALSE(observe(5s));   // back below: a spike
  EXPECT_FALSE(observe(12s));  // above again: a new wait, from 12 s
  EXPECT_FALSE(observe(14s));  // no figure (empty window): restarts
  EXPECT_FALSE(observe(15s));
  EXPECT_TRUE(observe(25s));   // above from 15 s to 25 s
  EXPECT_FALSE(observe(26s));  // version 2 served now: its own wait
  EXPECT_FALSE(observe(30s));
  EXPECT_TRUE(observe(36s));
  EXPECT_EQ(next, readings.size());
}

}  // namespace
}  // namespace modelbay
