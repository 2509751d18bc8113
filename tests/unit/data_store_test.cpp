#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/hash.h"
#include "data/data_store.h"
#include "data/sample_data.h"
#include "store/local_store.h"
#include "test_util.h"

namespace modelbay {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

namespace fs = std::filesystem;

class DataStoreTest : public testutil::TempDirTest {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "in");
    store_ = std::make_unique<LocalStore>(dir_ / "store");
  }

  fs::path Local(const std::string& name, const std::string& content) {
    fs::path p = dir_ / "in" / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // An object put by someone else (Ansible, boto3), with a given age.
  void PutObject(const std::string& key, const std::string& content, int age_seconds) {
    ASSERT_TRUE(store_->Put(key, content).ok());
    fs::last_write_time(dir_ / "store" / key,
                        fs::file_time_type::clock::now() - std::chrono::seconds(age_seconds));
  }
  std::vector<std::string> Keys() {
    auto objects = store_->List("");
    EXPECT_TRUE(objects.ok());
    std::vector<std::string> keys;
    for (const auto& o : *objects) keys.push_back(o.key);
    return keys;
  }

  const fs::path dir_ = tmp();
  std::unique_ptr<LocalStore> store_;
};

TEST_F(DataStoreTest, EmptyStoreSaysHowToUpload) {
  auto sel = SelectData(*store_, "latest");
  ASSERT_FALSE(sel.ok());
  EXPECT_THAT(sel, StatusIs(Code::kNotFound, _));
  EXPECT_THAT(sel, StatusIs(_, HasSubstr("has no CSV files; upload one with `modelbay upload FILE`")));
}

TEST_F(DataStoreTest, LatestIsTheNewestCsvOutsideBookkeeping) {
  PutObject("old.csv", "a,b\n1,2\n", 300);
  PutObject("new.csv", "a,b\n3,4\n", 100);
  PutObject("notes.txt", "not data", 0);
  PutObject(".modelbay/uploads/x.csv", "a,b\n5,6\n", 0);
  auto sel = SelectData(*store_, "latest");
  ASSERT_THAT(sel, IsOk());
  ASSERT_EQ(sel->size(), 1u);
  EXPECT_EQ((*sel)[0].key, "new.csv");
}

TEST_F(DataStoreTest, LatestTieIsBrokenByKeyOrder) {
  ASSERT_TRUE(store_->Put("b.csv", "a\n1\n").ok());
  ASSERT_TRUE(store_->Put("a.csv", "a\n1\n").ok());
  auto t = fs::last_write_time(dir_ / "store" / "a.csv");
  fs::last_write_time(dir_ / "store" / "b.csv", t);
  auto sel = SelectData(*store_, "latest");
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ((*sel)[0].key, "b.csv");
}

TEST_F(DataStoreTest, ExplicitKeyAndMissingKeyListsWhatExists) {
  PutObject("jan/data.csv", "a,b\n1,2\n", 10);
  PutObject("feb.csv", "a,b\n1,2\n", 10);
  auto sel = SelectData(*store_, "jan/data.csv");
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ((*sel)[0].key, "jan/data.csv");
  auto missing = SelectData(*store_, "mar.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing, StatusIs(Code::kNotFound, _));
  EXPECT_THAT(missing, StatusIs(_, HasSubstr("no data file 'mar.csv'")));
  EXPECT_THAT(missing, StatusIs(_, HasSubstr("it has: feb.csv, jan/data.csv")));
}

TEST_F(DataStoreTest, AllReadsIdenticalContentOnce) {
  PutObject("a.csv", "x,y\n1,2\n3,4\n", 30);
  PutObject("copy-of-a.csv", "x,y\n1,2\n3,4\n", 20);
  PutObject("b.csv", "x,y\n5,6\n", 10);
  auto sel = SelectData(*store_, "all");
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->size(), 3u);
  auto table = LoadData(*store_, *sel);
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(table->rows(), 3u);
  ASSERT_EQ(sel->size(), 2u);
  EXPECT_EQ((*sel)[0].key, "a.csv");
  EXPECT_EQ((*sel)[0].rows, 2u);
  EXPECT_EQ((*sel)[0].sha256, Sha256Hex("x,y\n1,2\n3,4\n"));
  EXPECT_EQ((*sel)[1].key, "b.csv");
  EXPECT_EQ(table->cell(2, 1), "6");
}

TEST_F(DataStoreTest, AllWithDifferentHeadersIsAClearError) {
  PutObject("a.csv", "x,y\n1,2\n", 30);
  PutObject("b.csv", "x,z\n1,2\n", 20);
  auto sel = SelectData(*store_, "all");
  ASSERT_TRUE(sel.ok());
  auto table = LoadData(*store_, *sel);
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table, StatusIs(Code::kInvalidArgument, _));
  EXPECT_THAT(table, StatusIs(_, HasSubstr("have different columns (x,y vs x,z)")));
}

TEST_F(DataStoreTest, LoadDataNamesTheStoreObjectInParseErrors) {
  PutObject("bad.csv", "x,y\n1,2\n3\n", 10);
  auto sel = SelectData(*store_, "bad.csv");
  ASSERT_TRUE(sel.ok());
  auto table = LoadData(*store_, *sel);
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table, StatusIs(_, HasSubstr((dir_ / "store" / "bad.csv").string() + ":3:2:")));
}

TEST_F(DataStoreTest, UploadStoresFileAndRecordThenIsANoOp) {
  fs::path file = Local("churn.csv", "Country,Count,id,churn\naa,2,1,0\nbb,3,2,1\n");
  auto up = UploadData(*store_, file, {});
  ASSERT_THAT(up, IsOk());
  EXPECT_EQ(up->key, "churn.csv");
  EXPECT_EQ(up->rows, 2u);
  EXPECT_FALSE(up->unchanged);
  EXPECT_EQ(Keys(), (std::vector<std::string>{".modelbay/uploads/churn.csv.json", "churn.csv"}));
  EXPECT_EQ(*store_->Get("churn.csv"), "Country,Count,id,churn\naa,2,1,0\nbb,3,2,1\n");
  auto record = nlohmann::json::parse(*store_->Get(".modelbay/uploads/churn.csv.json"));
  EXPECT_EQ(record["sha256"], up->sha256);
  EXPECT_EQ(record["rows"], 2);
  EXPECT_EQ(record["columns"][3], "churn");
  EXPECT_TRUE(record["uploaded_at"].get<std::string>().ends_with("Z"));

  auto again = UploadData(*store_, file, {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->unchanged);

  Local("churn.csv", "Country,Count,id,churn\naa,2,1,0\nbb,3,2,0\n");
  auto changed = UploadData(*store_, file, {});
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(changed->unchanged);
  EXPECT_EQ(*store_->Get("churn.csv"), "Country,Count,id,churn\naa,2,1,0\nbb,3,2,0\n");
}

TEST_F(DataStoreTest, UploadUnderAName) {
  UploadOptions options;
  options.name = "2024/jan.csv";
  options.target = "churn";
  auto up = UploadData(*store_, Local("x.csv", "churn\n1\n"), options);
  ASSERT_THAT(up, IsOk());
  auto sel = SelectData(*store_, "latest");
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ((*sel)[0].key, "2024/jan.csv");
}

TEST_F(DataStoreTest, BadUploadsWriteNothing) {
  UploadOptions with_target;
  with_target.target = "churn";
  struct Case {
    fs::path file;
    UploadOptions options;
    std::string expect;
  } cases[] = {
      {dir_ / "in" / "missing.csv", {}, "missing.csv: no such file"},
      {Local("empty.csv", ""), {}, "empty.csv: the file is empty"},
      {Local("header.csv", "a,b\n"), {}, "header.csv: has a header but no data rows"},
      {Local("target.csv", "a,b\n1,2\n"), with_target, "target.csv:1: no column named 'churn' (the header has: a,b)"},
      {Local("ragged.csv", "a,b\n1,2\n3\n"), {}, "ragged.csv:3:2: this row has 1 field but the header has 2"},
      {Local("latin1.csv", "a\ncaf\xE9\n"), {}, "latin1.csv:2:4: invalid UTF-8"},
  };
  for (const auto& c : cases) {
    auto up = UploadData(*store_, c.file, c.options);
    ASSERT_FALSE(up.ok()) << c.file;
    EXPECT_THAT(up, StatusIs(_, HasSubstr(c.expect)));
  }
  UploadOptions bad_name;
  bad_name.name = "data.txt";
  auto up = UploadData(*store_, Local("ok.csv", "a\n1\n"), bad_name);
  ASSERT_FALSE(up.ok());
  EXPECT_THAT(up, StatusIs(_, HasSubstr("use --name data.txt.csv")));
  EXPECT_TRUE(Keys().empty());
}

TEST_F(DataStoreTest, SampleDataIsDeterministicAndParses) {
  SampleDataOptions options;
  options.rows = 500;
  options.seed = 7;
  ASSERT_TRUE(WriteSampleData(dir_ / "a.csv", options).ok());
  ASSERT_TRUE(WriteSampleData(dir_ / "b.csv", options).ok());
  options.seed = 8;
  ASSERT_TRUE(WriteSampleData(dir_ / "c.csv", options).ok());
  auto a = Sha256FileHex(dir_ / "a.csv");
  EXPECT_EQ(*a, *Sha256FileHex(dir_ / "b.csv"));
  EXPECT_NE(*a, *Sha256FileHex(dir_ / "c.csv"));
  auto t = ReadCsvFile(dir_ / "a.csv");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->header(), (std::vector<std::string>{"Country", "Count", "id", "churn"}));
  EXPECT_EQ(t->rows(), 500u);
}

}  // namespace
}  // namespace modelbay
