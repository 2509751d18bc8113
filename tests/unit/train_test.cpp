// Training: metrics against hand-computed values, the holdout split, XGBoost
// parameters, and Train() end to end on local-folder stores.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/data_store.h"
#include "data/sample_data.h"
#include "registry/loader.h"
#include "model/schema_infer.h"
#include "registry/registry.h"
#include "store/local_store.h"
#include "train/booster.h"
#include "train/metrics.h"
#include "train/split.h"
#include "train/trainer.h"
#include "test_util.h"

namespace modelbay {
namespace {
using ::testing::_;
using ::testing::HasSubstr;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

TEST(Metrics, RocAucByHand) {
  // Positives scored 0.8, 0.4; negatives 0.6, 0.2: 3 of 4 pairs ordered right.
  std::vector<float> scores = {0.8f, 0.6f, 0.4f, 0.2f};
  bool pos[] = {true, false, true, false};
  EXPECT_DOUBLE_EQ(RocAuc(scores, pos), 0.75);
  // A tie between a positive and a negative counts half: (1 + 0.5) / 2.
  std::vector<float> tied = {0.5f, 0.5f, 0.9f, 0.1f};
  bool pos2[] = {true, false, true, false};
  EXPECT_DOUBLE_EQ(RocAuc(tied, pos2), (1 + 1 + 1 + 0.5) / 4);
  bool all[] = {true, true, true, true};
  EXPECT_TRUE(std::isnan(RocAuc(scores, all)));
}

TEST(Metrics, BinaryClassifierByHand) {
  std::vector<float> labels = {1, 0, 1, 0};
  std::vector<float> probs = {0.2f, 0.8f, 0.4f, 0.6f, 0.6f, 0.4f, 0.8f, 0.2f};  // p1 = .8 .6 .4 .2
  auto m = ClassifierMetrics(labels, probs, 2);
  // Predicted: 1 1 0 0 -> correct, wrong, wrong, correct.
  EXPECT_DOUBLE_EQ(m["accuracy"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["roc_auc"].get<double>(), 0.75);
  EXPECT_NEAR(m["log_loss"].get<double>(),
              -(std::log(0.8) + std::log(0.4) + std::log(0.4) + std::log(0.8)) / 4, 1e-6);
  // TP=1 FP=1 FN=1 -> F1 = 2/4.
  EXPECT_DOUBLE_EQ(m["f1"].get<double>(), 0.5);
}

TEST(Metrics, MulticlassMacroByHand) {
  std::vector<float> labels = {0, 1, 2};
  std::vector<float> probs = {0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f, 0.2f, 0.2f, 0.6f};
  auto m = ClassifierMetrics(labels, probs, 3);
  EXPECT_NEAR(m["accuracy"].get<double>(), 2.0 / 3, 1e-12);
  // F1: class 0 = 1, class 1 = 0 (never predicted), class 2: TP=1 FP=1 -> 2/3.
  EXPECT_NEAR(m["f1"].get<double>(), (1 + 0 + 2.0 / 3) / 3, 1e-12);
  // One-vs-rest AUC: class 0 = 1, class 1 = 1 (0.3 > 0.2, 0.2 tie... scores .2 .3 .2 -> 1), class 2 = 0.75.
  EXPECT_NEAR(m["roc_auc"].get<double>(), (1 + 1 + 0.75) / 3, 1e-12);
  EXPECT_NEAR(m["log_loss"].get<double>(), -(std::log(0.7) + std::log(0.3) + std::log(0.6)) / 3, 1e-6);
}

TEST(Metrics, RegressionByHand) {
  std::vector<float> labels = {1, 2, 3, 4};
  std::vector<float> preds = {1, 2, 3, 6};
  auto m = RegressorMetrics(labels, preds);
  EXPECT_DOUBLE_EQ(m["rmse"].get<double>(), 1.0);  // sqrt(4 / 4)
  EXPECT_DOUBLE_EQ(m["mae"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["r2"].get<double>(), 1.0 - 4.0 / 5.0);  // SS_tot = 2.25+.25+.25+2.25
  auto flat = RegressorMetrics(std::vector<float>{2, 2}, std::vector<float>{2, 3});
  EXPECT_TRUE(flat["r2"].is_null());
}

CsvTable NumberedTable(uint32_t n, uint32_t from = 0) {
  std::string text = "id,label\n";
  for (uint32_t i = from; i < from + n; ++i) text += std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  return ParseCsv(text, "t.csv").value();
}

std::vector<uint32_t> AllRows(const CsvTable& t) {
  std::vector<uint32_t> rows(t.rows());
  for (uint32_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

TEST(Split, HashRuleIsDeterministicDisjointAndNearTheFraction) {
  CsvTable t = NumberedTable(10000);
  std::vector<uint32_t> rows = AllRows(t);
  Split a = SplitHoldout(t, rows);
  Split b = SplitHoldout(t, rows);
  EXPECT_EQ(a.holdout, b.holdout);
  EXPECT_NEAR(static_cast<double>(a.holdout.size()) / rows.size(), kHoldoutFraction, 0.02);
  std::vector<uint32_t> all = a.train;
  all.insert(all.end(), a.holdout.begin(), a.holdout.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, rows);
}

TEST(Split, ARowIsHeldOutWhateverTableItIsIn) {
  // The rule a distributed training relies on: rows 0..999 split alone, and
  // as the second half of a bigger table, hold out the same rows.
  CsvTable whole = NumberedTable(2000);
  CsvTable half = NumberedTable(1000, 1000);
  Split w = SplitHoldout(whole, AllRows(whole));
  Split h = SplitHoldout(half, AllRows(half));
  std::vector<uint32_t> from_whole;
  for (uint32_t r : w.holdout) {
    if (r >= 1000) from_whole.push_back(r - 1000);
  }
  EXPECT_EQ(from_whole, h.holdout);
}

TEST(Split, LargeTablesSplitOnSeveralCoresAsRowByRow) {
  // Big enough to be split in row ranges on every core: each row still
  // falls where its own hash puts it, both sides ascending.
  CsvTable t = NumberedTable(300000);
  std::vector<uint32_t> rows = AllRows(t);
  rows.erase(rows.begin() + 1000);  // not every row: indices, not positions
  Split s = SplitHoldout(t, rows);
  Split expected;
  const long double bound = std::ldexp(static_cast<long double>(kHoldoutFraction), 64);
  for (uint32_t r : rows) {
    (static_cast<long double>(RowHash(t, r)) < bound ? expected.holdout : expected.train).push_back(r);
  }
  EXPECT_EQ(s.train, expected.train);
  EXPECT_EQ(s.holdout, expected.holdout);
}

TEST(Split, TinyDataGetsARowOnEachSide) {
  CsvTable t = NumberedTable(2);
  Split s = SplitHoldout(t, AllRows(t));
  EnsureBothSides(s);
  EXPECT_EQ(s.train.size(), 1u);
  EXPECT_EQ(s.holdout.size(), 1u);
}

TEST(Params, DefaultsAndOverrides) {
  Schema s;
  s.task = TaskType::kMulticlass;
  s.class_labels = {"a", "b", "c"};
  s.target = "tier";
  auto p = ResolveParams(s, {{"max_depth", 3}, {"num_boost_round", 7}, {"subsample", 0.5}});
  ASSERT_TRUE(p.ok());
  auto j = p->ToJson();
  EXPECT_EQ(j["objective"], "multi:softprob");
  EXPECT_EQ(j["num_class"], "3");
  EXPECT_EQ(j["max_depth"], "3");
  EXPECT_EQ(j["eta"], "0.3");
  EXPECT_EQ(j["tree_method"], "hist");
  EXPECT_EQ(j["subsample"], "0.5");
  EXPECT_EQ(j["num_boost_round"], 7);
  auto bad = ResolveParams(s, {{"objective", "binary:logistic"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad, StatusIs(_, HasSubstr("does not fit the multi-class target 'tier'")));
  EXPECT_FALSE(ResolveParams(s, {{"max_depth", {1, 2}}}).ok());
  EXPECT_FALSE(ResolveParams(s, {{"num_boost_round", 0}}).ok());
}

class TrainEndToEnd : public TempDirTest {
 protected:
  void SetUp() override {
    root_ = tmp();
    data_ = std::make_shared<LocalStore>(root_ / "data");
    models_ = std::make_shared<LocalStore>(root_ / "models");
    registry_ = std::make_unique<Registry>(models_);
  }

  void Upload(const std::string& name, const SampleDataOptions& o) {
    auto file = root_ / name;
    Status written = WriteSampleData(file, o);
    ASSERT_THAT(written, IsOk());
    auto up = UploadData(*data_, file, {.name = name});
    ASSERT_THAT(up, IsOk());
  }

  std::filesystem::path root_;
  std::shared_ptr<Store> data_, models_;
  std::unique_ptr<Registry> registry_;
};

TEST_F(TrainEndToEnd, BinaryTrainsRegistersAndPromotesFirstVersion) {
  Upload("churn.csv", {.rows = 2000});
  TrainOptions o;
  o.show_progress = false;
  o.params = {{"num_boost_round", 20}};
  auto out = Train(o, *data_, *registry_);
  ASSERT_THAT(out, IsOk());
  EXPECT_EQ(out->version, 1);
  EXPECT_TRUE(out->promoted);
  EXPECT_GT(out->metrics["roc_auc"].get<double>(), 0.7);
  EXPECT_EQ(out->data_keys, (std::vector<std::string>{"churn.csv"}));
  auto meta = registry_->Metadata(1);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ((*meta)["target"], "churn");
  EXPECT_EQ((*meta)["promotion"]["promoted"], true);
  EXPECT_EQ((*meta)["data"][0]["rows"], 2000);
  auto model = LoadModel(*registry_, "production");
  ASSERT_THAT(model, IsOk());
  EXPECT_EQ((*model)->version(), 1);

  // Same data again: same holdout and scores, so auto promotes within tolerance 0.
  auto again = Train(o, *data_, *registry_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->version, 2);
  EXPECT_TRUE(again->promoted) << again->promotion;
  // A much weaker model (1 round, depth 1) is not promoted over version 2.
  o.params = {{"num_boost_round", 1}, {"max_depth", 1}};
  auto weak = Train(o, *data_, *registry_);
  ASSERT_TRUE(weak.ok());
  EXPECT_FALSE(weak->promoted) << weak->promotion;
  auto prod = registry_->GetAlias("production");
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ(**prod, 2);
  auto weak_meta = registry_->Metadata(3);
  ASSERT_TRUE(weak_meta.ok());
  EXPECT_EQ((*weak_meta)["promotion"]["production_version"], 2);
  EXPECT_TRUE((*weak_meta)["promotion"]["production_score"].is_number());
}

TEST_F(TrainEndToEnd, IncompatibleProductionIsNotReplacedAutomatically) {
  Upload("churn.csv", {.rows = 500});
  TrainOptions o;
  o.show_progress = false;
  o.params = {{"num_boost_round", 5}};
  ASSERT_TRUE(Train(o, *data_, *registry_).ok());
  Upload("tiers.csv", {.rows = 500, .seed = 7, .classes = 3});
  o.data = "tiers.csv";
  auto out = Train(o, *data_, *registry_);
  ASSERT_THAT(out, IsOk());
  EXPECT_FALSE(out->promoted);
  EXPECT_THAT(out->promotion, HasSubstr("cannot be compared"));
  o.promote = PromoteMode::kAlways;
  auto forced = Train(o, *data_, *registry_);
  ASSERT_TRUE(forced.ok());
  EXPECT_TRUE(forced->promoted);
  auto model = LoadModel(*registry_, "production");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->schema().task, TaskType::kMulticlass);
  EXPECT_FALSE((*model)->schema().labels_numeric);
}

TEST_F(TrainEndToEnd, BadInputsWriteNoVersion) {
  Upload("churn.csv", {.rows = 100});
  TrainOptions o;
  o.show_progress = false;
  o.target = "label";
  auto out = Train(o, *data_, *registry_);
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out, StatusIs(Code::kInvalidArgument, HasSubstr("target column 'label' not in")));
  auto versions = registry_->ListVersions();
  ASSERT_TRUE(versions.ok());
  EXPECT_TRUE(versions->empty());
}

}  // namespace
}  // namespace modelbay
