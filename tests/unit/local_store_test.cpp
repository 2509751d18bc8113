// LocalStore: the offline backend every user starts with.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "store/local_store.h"
#include "test_util.h"

namespace modelbay {
namespace {

namespace fs = std::filesystem;
using ::testing::_;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

class LocalStoreTest : public testutil::TempDirTest {
 protected:
  void SetUp() override { store_ = std::make_unique<LocalStore>(root_); }

  std::vector<std::string> Keys(const std::string& prefix = "") {
    auto list = store_->List(prefix);
    EXPECT_THAT(list, IsOk());
    std::vector<std::string> out;
    for (const auto& o : *list) out.push_back(o.key);
    return out;
  }

  const fs::path root_ = tmp() / "store";
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, PutGetHeadRoundTrip) {
  ASSERT_TRUE(store_->Put("a/b/c.csv", "x,y\n1,2\n").ok());
  auto got = store_->Get("a/b/c.csv");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "x,y\n1,2\n");
  auto head = store_->Head("a/b/c.csv");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->size, 8u);
  EXPECT_FALSE((*head)->etag.empty());
  auto missing = store_->Head("a/b/none.csv");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  EXPECT_THAT(store_->Get("a/b/none.csv"), StatusIs(Code::kNotFound, _));
}

TEST_F(LocalStoreTest, PutReplacesAtomicallyAndLeavesNoTempFiles) {
  ASSERT_TRUE(store_->Put("k", std::string(1 << 20, 'a')).ok());
  ASSERT_TRUE(store_->Put("k", "short").ok());
  EXPECT_EQ(*store_->Get("k"), "short");
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST_F(LocalStoreTest, ConcurrentReadersNeverSeeAPartialWrite) {
  const std::string a(256 << 10, 'a'), b(256 << 10, 'b');
  ASSERT_TRUE(store_->Put("k", a).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop) {
      auto got = store_->Get("k");
      if (got.ok() && *got != a && *got != b) ++torn;
    }
  });
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->Put("k", i % 2 ? a : b).ok());
  stop = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
}

// Objects of 1 MiB and more are written around the page cache
// (UncachedWriter): every byte still lands, at any size, and PutIfAbsent's
// rules hold (the same bytes again are that write; others are refused).
TEST_F(LocalStoreTest, LargeObjectsRoundTripExactly) {
  for (size_t size : {size_t{1} << 20, (size_t{1} << 20) + 1, (size_t{5} << 20) + 4095}) {
    std::string data(size, '\0');
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>('0' + (i * 7919 + size) % 75);
    const std::string key = "logs/big-" + std::to_string(size) + ".csv";
    ASSERT_THAT(store_->PutIfAbsent(key, data), IsOk());
    EXPECT_THAT(store_->Get(key), IsOkAndHolds(data)) << size;
    EXPECT_THAT(store_->PutIfAbsent(key, data), IsOk()) << "a retry of the same bytes";
    std::string other = data;
    other.back() ^= 1;
    EXPECT_THAT(store_->PutIfAbsent(key, other), StatusIs(Code::kAlreadyExists, _));
    ASSERT_THAT(store_->Put(key, other), IsOk());
    EXPECT_THAT(store_->Get(key), IsOkAndHolds(other));
  }
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(root_)) files += e.is_regular_file();
  EXPECT_EQ(files, 3u) << "no temp files left";
}

TEST_F(LocalStoreTest, PutIfAbsentRaceHasExactlyOneWinner) {
  constexpr int kThreads = 16;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      results[i] = store_->PutIfAbsent("versions/1/COMMIT", "writer-" + std::to_string(i));
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  int winner = -1, winners = 0;
  for (int i = 0; i < kThreads; ++i) {
    if (results[i].ok()) {
      ++winners;
      winner = i;
    } else {
      EXPECT_THAT(results[i], StatusIs(Code::kAlreadyExists, _));
    }
  }
  ASSERT_EQ(winners, 1);
  EXPECT_EQ(*store_->Get("versions/1/COMMIT"), "writer-" + std::to_string(winner));
  EXPECT_EQ(Keys(), std::vector<std::string>{"versions/1/COMMIT"});
}

TEST_F(LocalStoreTest, ListIsRecursiveSortedAndFilteredByPrefix) {
  for (const char* k : {"b/2.csv", "a/1.csv", "a/sub/3.csv", "ab.csv", "c"}) ASSERT_TRUE(store_->Put(k, "x").ok());
  EXPECT_EQ(Keys(), (std::vector<std::string>{"a/1.csv", "a/sub/3.csv", "ab.csv", "b/2.csv", "c"}));
  EXPECT_EQ(Keys("a/"), (std::vector<std::string>{"a/1.csv", "a/sub/3.csv"}));
  EXPECT_EQ(Keys("a"), (std::vector<std::string>{"a/1.csv", "a/sub/3.csv", "ab.csv"}));
  EXPECT_TRUE(Keys("zzz/").empty());
}

TEST_F(LocalStoreTest, ListOfAStoreThatDoesNotExistYetIsEmpty) { EXPECT_TRUE(Keys().empty()); }

TEST_F(LocalStoreTest, DeleteRemovesKeyAndEmptyFoldersAndIgnoresMissing) {
  ASSERT_TRUE(store_->Put("x/y/z.csv", "1").ok());
  ASSERT_TRUE(store_->Delete("x/y/z.csv").ok());
  EXPECT_FALSE(fs::exists(root_ / "x"));
  EXPECT_TRUE(fs::exists(root_));
  EXPECT_TRUE(store_->Delete("x/y/z.csv").ok());
}

TEST_F(LocalStoreTest, KeysAreValidated) {
  for (const char* bad : {"", "/abs", "../up", "a/../b", "a//b", "a/./b", "tab\there"}) {
    EXPECT_THAT(store_->Put(bad, "x"), StatusIs(Code::kInvalidArgument, _)) << bad;
    EXPECT_THAT(store_->Get(bad), StatusIs(Code::kInvalidArgument, _)) << bad;
  }
  EXPECT_THAT(store_->Put(std::string(1025, 'k'), "x"), StatusIs(Code::kInvalidArgument, _));
  EXPECT_TRUE(store_->Put("unicode é/spaces ok.csv", "x").ok());
  EXPECT_FALSE(fs::exists(root_.parent_path() / "up"));
}

TEST_F(LocalStoreTest, PutFileAndGetToFileCopyBytesExactly) {
  fs::path src = root_.string() + "-src.bin";
  std::string data;
  for (uint32_t i = 0; i < 300000; ++i) data += static_cast<char>(i * 7919u % 256u);
  std::ofstream(src, std::ios::binary) << data;
  ASSERT_TRUE(store_->PutFile("bin/data.bin", src).ok());
  fs::path dst = root_.string() + "-dst.bin";
  ASSERT_TRUE(store_->GetToFile("bin/data.bin", dst).ok());
  std::ifstream in(dst, std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, data);
  EXPECT_THAT(store_->GetToFile("bin/none.bin", dst), StatusIs(Code::kNotFound, _));
  fs::remove(src);
  fs::remove(dst);
}

TEST_F(LocalStoreTest, CleanupDryRunReportsAndKeepsThenDeletes) {
  for (const char* k : {"a.csv", "d/b.csv"}) ASSERT_TRUE(store_->Put(k, "x").ok());
  auto dry = store_->Cleanup(true);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->objects, 2u);
  EXPECT_EQ(Keys().size(), 2u);
  auto real = store_->Cleanup(false);
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(real->keys, (std::vector<std::string>{"a.csv", "d/b.csv"}));
  EXPECT_TRUE(Keys().empty());
}

}  // namespace
}  // namespace modelbay
