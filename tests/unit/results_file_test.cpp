// results_<N>.csv kept current from log objects (results/results_file.h),
// against a real LocalStore in a temp dir: the checkpoint's bookkeeping, a
// crash (a failed write) at each step of an update, a file replaced behind
// the updater's back, late rows, the lease, the copy-free extension of a
// file past 5 MiB, and the local store's in-place Concat.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "results/results_file.h"
#include "store/lease.h"
#include "store/local_store.h"
#include "test_util.h"

namespace modelbay {
namespace {
namespace fs = std::filesystem;
using results::Checkpoint;
using results::IncludedObjects;
using results::ResultsFileOptions;
using results::UpdateResultsFile;
using namespace std::chrono_literals;
using ::testing::_;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

const std::string kHeader = "timestamp,request_id,model_version,a,prediction\n";

// A fresh folder per use, removed afterwards.
struct TempDir : ScopedTempDir {
  TempDir() : ScopedTempDir("mb-rfile") {}
};

// A LocalStore whose writes of one key fail on demand (a crash at that step:
// the process stops before the write and never makes the next one).
class FailingStore final : public Store {
 public:
  explicit FailingStore(fs::path root) : inner_(std::move(root)) {}
  std::string fail_key;  // writes of this key fail while `fail_writes` > 0 ...
  int skip_writes = 0;   // ... after this many of them succeeded
  int gets = 0;
  std::map<std::string, int> gets_by_key;

  std::string Describe() const override { return inner_.Describe(); }
  Result<std::string> Get(const std::string& key) override {
    ++gets;
    ++gets_by_key[key];
    return inner_.Get(key);
  }
  Status Put(const std::string& key, std::string_view data) override {
    MB_RETURN_IF_ERROR(Check(key));
    return inner_.Put(key, data);
  }
  Status PutIfAbsent(const std::string& key, std::string_view data) override {
    return inner_.PutIfAbsent(key, data);
  }
  Status PutFile(const std::string& key, const fs::path& file) override {
    MB_RETURN_IF_ERROR(Check(key));
    return inner_.PutFile(key, file);
  }
  Status GetToFile(const std::string& key, const fs::path& file) override { return inner_.GetToFile(key, file); }
  Status Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail) override {
    MB_RETURN_IF_ERROR(Check(key));
    ++concats;
    if (tear_concat) {  // a crash in the middle of the local in-place append
      tear_concat = false;
      MB_RETURN_IF_ERROR(inner_.Concat(key, expected, tail.substr(0, tail.size() / 2)));
      return Unavailable("injected crash in the middle of appending to " + key);
    }
    return inner_.Concat(key, expected, tail);
  }
  bool tear_concat = false;  // the next Concat writes half its tail, then "crashes"
  Result<std::optional<ObjectInfo>> Head(const std::string& key) override { return inner_.Head(key); }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override { return inner_.List(prefix); }
  Status Delete(const std::string& key) override { return inner_.Delete(key); }
  Result<CleanupReport> Cleanup(bool dry_run) override { return inner_.Cleanup(dry_run); }
  int concats = 0;

 private:
  Status Check(const std::string& key) {
    if (key != fail_key) return Status::Ok();
    if (skip_writes > 0) {
      --skip_writes;
      return Status::Ok();
    }
    return Unavailable("injected crash before writing " + key);
  }
  LocalStore inner_;
};

struct Fixture {
  TempDir tmp;
  std::shared_ptr<FailingStore> store = std::make_shared<FailingStore>(tmp.path());
  int next_request = 0;

  // Ships one log object (as the shipper would) with `rows` rows stamped
  // `second` (so later objects can carry older, "late", timestamps).
  std::vector<std::string> Ship(const std::string& run, uint64_t first, int rows, int second) {
    std::string body = kHeader;
    std::vector<std::string> ids;
    for (int i = 0; i < rows; ++i) {
      std::string id = fmt::format("req-{:06}", next_request++);
      ids.push_back(id);
      body += fmt::format("2026-12-01T10:00:{:02}.{:03}Z,{},1,\"x,{}\",0.5\n", second, i % 1000, id, i);
    }
    std::string key = fmt::format("logs/v1/w1/{}-{:010}-{:010}.csv", run, first, first + rows - 1);
    EXPECT_TRUE(store->PutIfAbsent(key, body).ok());
    return ids;
  }

  Result<results::UpdateReport> Update(bool full = false) {
    ResultsFileOptions o;
    o.owner = "test";
    o.lease_ttl = 30s;
    return UpdateResultsFile(store, 1, o, full);
  }

  std::string File() { return *store->Get("results_1.csv"); }
};

// Request ids in file order; fails on a header anywhere but line 1.
std::vector<std::string> Ids(const std::string& file) {
  std::vector<std::string> ids;
  std::istringstream in(file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line + "\n", kHeader);
  while (std::getline(in, line)) {
    EXPECT_NE(line + "\n", kHeader) << "header repeated";
    size_t a = line.find(','), b = line.find(',', a + 1);
    ids.push_back(line.substr(a + 1, b - a - 1));
  }
  return ids;
}

void ExpectExactlyOnce(const std::string& file, const std::vector<std::string>& expected) {
  auto ids = Ids(file);
  std::multiset<std::string> got(ids.begin(), ids.end());
  for (const auto& id : expected) EXPECT_EQ(got.count(id), 1u) << id;
  EXPECT_EQ(ids.size(), expected.size());
}

TEST(IncludedObjects, MergesConsecutiveRangesAndRoundTrips) {
  IncludedObjects inc;
  inc.Add("w1/r1-0000000001-0000000010.csv");
  inc.Add("w1/r1-0000000021-0000000030.csv");
  inc.Add("w1/r1-0000000011-0000000020.csv");
  inc.Add("w2/20261201T1000Z-ab-0000000001-0000000005.csv");  // run ids hold dashes
  inc.Add("w3/hand-written.csv");
  EXPECT_EQ(inc.ranges(), 3u) << "w1's three objects must merge into one range";
  EXPECT_TRUE(inc.Contains("w1/r1-0000000011-0000000020.csv"));
  EXPECT_FALSE(inc.Contains("w1/r1-0000000031-0000000040.csv"));
  EXPECT_FALSE(inc.Contains("w1/r2-0000000001-0000000010.csv"));
  EXPECT_TRUE(inc.Contains("w2/20261201T1000Z-ab-0000000001-0000000005.csv"));
  EXPECT_FALSE(inc.Contains("w2/20261201T1000Z-ab-0000000006-0000000009.csv"));
  EXPECT_TRUE(inc.Contains("w3/hand-written.csv"));
  auto back = IncludedObjects::FromJson(inc.ToJson());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, inc);
}

TEST(Checkpoint, RoundTripsAndRejectsGarbage) {
  Checkpoint c;
  c.version = 3;
  c.header = kHeader;
  c.committed.size = 10;
  c.committed.rows = 2;
  c.committed.etag = "e1";
  c.committed.included.Add("w/r-0000000001-0000000002.csv");
  c.pending = c.committed;
  c.pending->size = 20;
  c.pending_replaces = "e1";
  auto back = Checkpoint::Parse(c.ToJson());
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->version, 3);
  EXPECT_EQ(back->header, kHeader);
  EXPECT_EQ(back->committed.etag, "e1");
  ASSERT_TRUE(back->pending.has_value());
  EXPECT_EQ(back->pending->size, 20u);
  EXPECT_EQ(back->pending_replaces, "e1");
  EXPECT_FALSE(Checkpoint::Parse("not json").ok());
  EXPECT_FALSE(Checkpoint::Parse(R"({"format": 1, "version": 1})").ok());
  EXPECT_FALSE(Checkpoint::Parse(R"({"format": 9, "version": 1, "header": "", "file": {}})").ok());
}

TEST(ResultsFile, AddsOnlyNewObjectsLateRowsIncludedOnce) {
  Fixture f;
  auto a = f.Ship("r1", 1, 50, 30);
  auto r1 = f.Update();
  ASSERT_THAT(r1, IsOk());
  EXPECT_TRUE(r1->rebuilt);  // no checkpoint yet
  EXPECT_EQ(r1->file_rows, 50u);
  ExpectExactlyOnce(f.File(), a);

  auto b = f.Ship("r1", 51, 20, 40);
  auto late = f.Ship("r0", 1, 10, 5);  // a server that was down: older timestamps
  f.store->gets_by_key.clear();
  auto r2 = f.Update();
  ASSERT_THAT(r2, IsOk());
  EXPECT_FALSE(r2->rebuilt);
  EXPECT_EQ(r2->objects_added, 2u);
  EXPECT_EQ(r2->rows_added, 30u);
  EXPECT_EQ(f.store->gets_by_key.count("logs/v1/w1/r1-0000000001-0000000050.csv"), 0u)
      << "an object already in the file must not be read again";
  std::vector<std::string> all = a;
  all.insert(all.end(), b.begin(), b.end());
  all.insert(all.end(), late.begin(), late.end());
  ExpectExactlyOnce(f.File(), all);
  // Order: sorted within the update (the late rows first), after the earlier rows.
  auto ids = Ids(f.File());
  EXPECT_EQ(ids[50], late[0]);
  EXPECT_EQ(ids.back(), b.back());

  auto r3 = f.Update();  // nothing new: nothing written
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->rows_added, 0u);
  ExpectExactlyOnce(f.File(), all);

  // The checkpoint names the two runs as two merged ranges.
  auto cp = Checkpoint::Parse(*f.store->Get("results_1.checkpoint.json"));
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->committed.included.ranges(), 2u);
  EXPECT_FALSE(cp->pending.has_value());
  EXPECT_EQ(cp->committed.rows, 80u);
}

TEST(ResultsFile, CrashAfterTheFileBeforeTheCheckpointAdoptsTheStep) {
  Fixture f;
  auto a = f.Ship("r1", 1, 10, 1);
  ASSERT_TRUE(f.Update().ok());
  auto b = f.Ship("r1", 11, 10, 2);
  // The intent checkpoint is written, then the file, then the commit fails.
  f.store->fail_key = "results_1.checkpoint.json";
  f.store->skip_writes = 1;
  EXPECT_FALSE(f.Update().ok());
  std::vector<std::string> all = a;
  all.insert(all.end(), b.begin(), b.end());
  ExpectExactlyOnce(f.File(), all);  // the file got the rows ...
  f.store->fail_key.clear();
  auto c = f.Ship("r1", 21, 5, 3);
  auto r = f.Update();  // ... and the next updater must not add them again
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->recovered);
  EXPECT_FALSE(r->rebuilt);
  EXPECT_EQ(r->rows_added, 5u);
  all.insert(all.end(), c.begin(), c.end());
  ExpectExactlyOnce(f.File(), all);
}

TEST(ResultsFile, CrashBeforeTheFileDropsThePendingStep) {
  Fixture f;
  auto a = f.Ship("r1", 1, 10, 1);
  ASSERT_TRUE(f.Update().ok());
  auto b = f.Ship("r1", 11, 10, 2);
  f.store->fail_key = "results_1.csv";
  EXPECT_FALSE(f.Update().ok());
  ExpectExactlyOnce(f.File(), a);
  f.store->fail_key.clear();
  auto r = f.Update();
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->recovered);
  EXPECT_FALSE(r->rebuilt);
  EXPECT_EQ(r->rows_added, 10u);
  std::vector<std::string> all = a;
  all.insert(all.end(), b.begin(), b.end());
  ExpectExactlyOnce(f.File(), all);
}

TEST(ResultsFile, CrashDuringARebuildLeavesNothingTwice) {
  Fixture f;
  auto a = f.Ship("r1", 1, 10, 1);
  f.store->fail_key = "results_1.checkpoint.json";
  f.store->skip_writes = 1;  // intent written, file written, commit fails
  EXPECT_FALSE(f.Update().ok());
  f.store->fail_key.clear();
  auto r = f.Update();
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->recovered);
  ExpectExactlyOnce(f.File(), a);
}

TEST(ResultsFile, AFileReplacedBehindTheCheckpointIsRebuilt) {
  Fixture f;
  auto a = f.Ship("r1", 1, 10, 1);
  ASSERT_TRUE(f.Update().ok());
  ASSERT_TRUE(f.store->Put("results_1.csv", kHeader + "garbage,row\n").ok());
  auto b = f.Ship("r1", 11, 3, 2);
  auto r = f.Update();
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->rebuilt);
  std::vector<std::string> all = a;
  all.insert(all.end(), b.begin(), b.end());
  ExpectExactlyOnce(f.File(), all);
}

TEST(ResultsFile, ALeaseHeldElsewhereIsRespected) {
  Fixture f;
  f.Ship("r1", 1, 3, 1);
  LeaseManager other(f.store, "other-server", SystemClock(), 30s);
  auto held = other.TryAcquire("results_1");
  ASSERT_TRUE(held.ok() && held->has_value());
  auto r = f.Update();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->leased_elsewhere);
  EXPECT_FALSE(f.store->Head("results_1.csv")->has_value());
  ASSERT_TRUE(other.Release(**held).ok());
  r = f.Update();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->file_rows, 3u);
}

TEST(ResultsFile, AFilePastFiveMiBIsExtendedWithoutReadingIt) {
  Fixture f;
  std::vector<std::string> all;
  for (int i = 0; i < 12; ++i) {  // ~6 MiB of rows
    auto ids = f.Ship("r1", 1 + i * 10000ull, 10000, i);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  ASSERT_TRUE(f.Update().ok());
  auto big = f.store->Head("results_1.csv");
  ASSERT_TRUE(big.ok() && big->has_value());
  ASSERT_GE((*big)->size, kMinCopyPartBytes);
  auto more = f.Ship("r1", 120001, 100, 59);
  all.insert(all.end(), more.begin(), more.end());
  f.store->gets_by_key.clear();
  auto r = f.Update();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(f.store->gets_by_key.count("results_1.csv"), 0u) << "the large file must not be read";
  EXPECT_EQ(f.store->concats, 1);
  EXPECT_LT(r->bytes_read, 100000u);
  ExpectExactlyOnce(f.File(), all);
}

// A crash in the middle of the local store's in-place append leaves a
// partial last line (docs/prediction-log.md, "Deviations"); the next update
// sees a size its checkpoint does not name and rebuilds the file whole:
// every row once, no partial line.
TEST(ResultsFile, ACrashInTheMiddleOfAnInPlaceAppendIsRebuilt) {
  Fixture f;
  std::vector<std::string> all;
  for (int i = 0; i < 12; ++i) {  // past kMinCopyPartBytes: the Concat path
    auto ids = f.Ship("r1", 1 + i * 10000ull, 10000, i);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  ASSERT_TRUE(f.Update().ok());
  auto more = f.Ship("r1", 120001, 101, 59);
  all.insert(all.end(), more.begin(), more.end());
  f.store->tear_concat = true;
  EXPECT_FALSE(f.Update().ok());
  const std::string torn = f.File();
  ASSERT_NE(torn.back(), '\n') << "the simulated crash left a partial line";
  auto r = f.Update();
  ASSERT_THAT(r, IsOk());
  EXPECT_TRUE(r->rebuilt);
  ExpectExactlyOnce(f.File(), all);
  EXPECT_EQ(f.File().back(), '\n');
}

// The local store extends a file in place (its cost is the tail's, not the
// file's): same inode, every byte, the ETag checked under a lock so that of
// two appenders that saw the same file exactly one lands.
TEST(LocalStoreConcat, AppendsInPlaceAndChecksTheEtag) {
  TempDir tmp;
  LocalStore store(tmp.path());
  ASSERT_TRUE(store.Put("a/f.csv", "one\n").ok());
  auto info = store.Head("a/f.csv");
  ASSERT_TRUE(info.ok() && info->has_value());
  struct stat before{}, after{};
  ASSERT_EQ(::stat((tmp.path() / "a/f.csv").c_str(), &before), 0);
  ASSERT_TRUE(store.Concat("a/f.csv", **info, "two\n").ok());
  ASSERT_EQ(::stat((tmp.path() / "a/f.csv").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino) << "extended in place, not copied";
  EXPECT_EQ(*store.Get("a/f.csv"), "one\ntwo\n");
  // `info` is now stale: the object changed.
  EXPECT_THAT(store.Concat("a/f.csv", **info, "three\n"), StatusIs(Code::kFailedPrecondition, _));
  EXPECT_EQ(*store.Get("a/f.csv"), "one\ntwo\n");
  EXPECT_THAT(store.Concat("a/none.csv", **info, "x"), StatusIs(Code::kNotFound, _));
  auto listed = store.List("a/");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u) << "no temp file left behind";

  // Racing appenders that both saw the same file: one wins, the other is told.
  for (int round = 0; round < 200; ++round) {
    auto seen = store.Head("a/f.csv");
    ASSERT_TRUE(seen.ok() && seen->has_value());
    std::atomic<int> ok{0}, refused{0};
    std::vector<std::thread> appenders;
    for (int t = 0; t < 4; ++t) {
      appenders.emplace_back([&, t] {
        Status s = store.Concat("a/f.csv", **seen, fmt::format("r{}-t{}\n", round, t));
        (s.ok() ? ok : refused) += 1;
      });
    }
    for (auto& th : appenders) th.join();
    EXPECT_EQ(ok.load(), 1) << "round " << round;
    EXPECT_EQ(refused.load(), 3) << "round " << round;
  }
  auto text = store.Get("a/f.csv");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(std::count(text->begin(), text->end(), '\n'), 2 + 200);

  // A symlink is not written through.
  std::ofstream(tmp.path() / "elsewhere.csv") << "keep\n";
  fs::create_symlink(tmp.path() / "elsewhere.csv", tmp.path() / "a/link.csv");
  auto link = store.Head("a/link.csv");
  ASSERT_TRUE(link.ok() && link->has_value());
  EXPECT_THAT(store.Concat("a/link.csv", **link, "x\n"), StatusIs(Code::kFailedPrecondition, _));
  EXPECT_EQ(*store.Get("a/link.csv"), "keep\n");
}

}  // namespace
}  // namespace modelbay
