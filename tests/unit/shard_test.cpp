// The shares of a distributed training: every row read exactly once, by
// whole objects and line-aligned byte ranges; and the schema facts and
// preprocessor stats of the shares merge into what one table gives.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "data/shard.h"
#include "model/preprocessor.h"
#include "model/schema_infer.h"
#include "store/local_store.h"
#include "test_util.h"

namespace modelbay {
namespace {

namespace fs = std::filesystem;
using ::testing::_;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

class ShardTest : public testutil::TempDirTest {
 protected:
  void SetUp() override { store_ = std::make_unique<LocalStore>(root_); }

  DataFile Put(const std::string& key, const std::string& text) {
    EXPECT_TRUE(store_->Put(key, text).ok());
    DataFile f;
    f.key = key;
    f.size = text.size();
    return f;
  }

  const fs::path root_ = tmp();
  std::unique_ptr<LocalStore> store_;
};

std::string Rows(int from, int to) {
  std::string text = "id,colour,y\n";
  for (int i = from; i < to; ++i) {
    text += std::to_string(i) + "," + (i % 3 == 0 ? "red" : i % 3 == 1 ? "green" : "blue") + "," +
            std::to_string(i % 2) + "\n";
  }
  return text;
}

TEST_F(ShardTest, EveryRowIsReadOnceWhateverTheRangeBoundaries) {
  std::vector<DataFile> files = {Put("b.csv", Rows(0, 500)), Put("a.csv", Rows(500, 520))};
  for (int workers : {1, 2, 3, 7}) {
    for (uint64_t part_bytes : {37u, 100u, 1000u, 100000u}) {
      auto plan = PlanShares(files, workers, part_bytes);
      ASSERT_EQ(plan.size(), static_cast<size_t>(workers));
      std::vector<int> seen(520, 0);
      for (const auto& share : plan) {
        for (const auto& part : share) {
          auto text = ReadPart(*store_, part);
          ASSERT_THAT(text, IsOk());
          auto table = ParseCsv(*text, part.key);
          ASSERT_TRUE(table.ok()) << table.status().message() << "\n" << *text;
          ASSERT_EQ(table->header(), (std::vector<std::string>{"id", "colour", "y"}));
          for (size_t r = 0; r < table->rows(); ++r) ++seen[std::stoi(std::string(table->cell(r, 0)))];
        }
      }
      for (int i = 0; i < 520; ++i) ASSERT_EQ(seen[i], 1) << "row " << i << " workers " << workers << " part " << part_bytes;
    }
  }
}

TEST_F(ShardTest, PlanIsTheSameWhateverTheOrderOfTheFiles) {
  std::vector<DataFile> files = {Put("b.csv", Rows(0, 50)), Put("a.csv", Rows(50, 60)), Put("c.csv", Rows(60, 99))};
  std::vector<DataFile> reversed(files.rbegin(), files.rend());
  auto a = PlanShares(files, 2, 200);
  auto b = PlanShares(reversed, 2, 200);
  ASSERT_EQ(a.size(), b.size());
  for (size_t w = 0; w < a.size(); ++w) {
    ASSERT_EQ(a[w].size(), b[w].size());
    for (size_t i = 0; i < a[w].size(); ++i) {
      EXPECT_EQ(a[w][i].key, b[w][i].key);
      EXPECT_EQ(a[w][i].offset, b[w][i].offset);
    }
  }
}

TEST_F(ShardTest, MergedFactsAndStatsEqualTheWholeTables) {
  CsvTable whole = ParseCsv(Rows(0, 300), "all.csv").value();
  CsvTable first = ParseCsv(Rows(0, 100), "first.csv").value();
  CsvTable second = ParseCsv(Rows(100, 300), "second.csv").value();
  auto one = InferSchema(whole, {});
  ASSERT_TRUE(one.ok());
  auto facts = CollectSchemaFacts(first, {}).value();
  auto other = SchemaFactsFromJson(SchemaFactsToJson(CollectSchemaFacts(second, {}).value())).value();
  ASSERT_TRUE(MergeSchemaFacts(facts, other).ok());
  auto merged = DecideSchema(facts, {});
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(SchemaToJson(merged->schema), SchemaToJson(one->schema));

  auto all_rows = [](const CsvTable& t) {
    std::vector<uint32_t> rows(t.rows());
    for (uint32_t i = 0; i < rows.size(); ++i) rows[i] = i;
    return rows;
  };
  auto columns = [&](const CsvTable& t) {
    TextColumns c;
    for (size_t col : one->feature_columns) c.push_back(&t.column(col));
    return c;
  };
  Preprocessor fitted = Preprocessor::Fit(one->schema, columns(whole), all_rows(whole));
  auto stats = Preprocessor::CollectStats(one->schema, columns(first), all_rows(first));
  auto more = Preprocessor::StatsFromJson(
                  Preprocessor::StatsToJson(Preprocessor::CollectStats(one->schema, columns(second), all_rows(second))))
                  .value();
  Preprocessor::MergeStats(stats, more);
  EXPECT_EQ(Preprocessor::FromStats(one->schema, stats).ToJson(), fitted.ToJson());
}

}  // namespace
}  // namespace modelbay
