// Train -> artifacts -> LoadedModel -> predict round trips on small
// in-memory data, with real XGBoost.
#include <cmath>
#include <numeric>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "model/loaded_model.h"
#include "model/preprocessor.h"
#include "model_fixtures.h"
#include "test_util.h"

namespace modelbay {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

using fixtures::ChurnCsv;

// Fits on every row of `csv` and loads the result as a served model would be.
std::shared_ptr<const LoadedModel> TrainModel(std::string csv, int rounds = 20) {
  auto a = fixtures::TrainArtifacts(std::move(csv), rounds);
  auto model = LoadedModel::FromArtifacts(7, a.model_json, a.preprocessor_json, {{"version", 7}});
  EXPECT_THAT(model, IsOk());
  return model.ok() ? *model : nullptr;
}

CellMatrix Rows(std::vector<std::vector<Cell>> rows) {
  CellMatrix m;
  m.rows = rows.size();
  m.cols = rows.empty() ? 0 : rows[0].size();
  for (auto& r : rows) m.cells.insert(m.cells.end(), r.begin(), r.end());
  return m;
}

TEST(LoadedModel, BinaryChurnRoundTrip) {
  auto model = TrainModel(ChurnCsv(400));
  ASSERT_TRUE(model);
  EXPECT_EQ(model->version(), 7);
  EXPECT_EQ(model->schema().task, TaskType::kBinary);
  // The seed's request body: ["aa", 2, 2].
  auto p = model->Predict(Rows({{std::string_view("aa"), 2.0, 2.0}, {std::string_view("bb"), 1.0, 30.0}}));
  ASSERT_THAT(p, IsOk());
  ASSERT_EQ(p->num_classes, 2u);
  ASSERT_EQ(p->probabilities.size(), 4u);
  EXPECT_NEAR(p->probabilities[0] + p->probabilities[1], 1.0, 1e-6);
  EXPECT_EQ(model->LabelText(*p, 0), "1");
  EXPECT_GT(p->probabilities[1], 0.9);
  EXPECT_EQ(model->LabelText(*p, 1), "0");
  EXPECT_LT(p->probabilities[3], 0.1);
}

TEST(LoadedModel, RowAloneEqualsRowInBatch) {
  auto model = TrainModel(ChurnCsv(300));
  ASSERT_TRUE(model);
  std::vector<std::vector<Cell>> rows;
  const char* countries[] = {"aa", "bb", "cc", "zz"};
  for (int i = 0; i < 40; ++i) {
    Cell tenure = i % 5 == 0 ? Cell(std::monostate{}) : Cell(static_cast<double>(i));
    rows.push_back({std::string_view(countries[i % 4]), static_cast<double>(i % 11), tenure});
  }
  auto batch = model->Predict(Rows(rows));
  ASSERT_TRUE(batch.ok());
  for (size_t r = 0; r < rows.size(); ++r) {
    auto alone = model->Predict(Rows({rows[r]}));
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ(alone->values[0], batch->values[r]) << "row " << r;
    EXPECT_EQ(alone->probabilities[1], batch->probabilities[2 * r + 1]) << "row " << r;
  }
}

TEST(LoadedModel, TextNumbersAndUnseenCategories) {
  auto model = TrainModel(ChurnCsv(200));
  ASSERT_TRUE(model);
  auto a = model->Predict(Rows({{std::string_view("bb"), std::string_view("7"), std::string_view("")}}));
  auto b = model->Predict(Rows({{std::string_view("bb"), 7.0, std::monostate{}}}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->probabilities, b->probabilities);
  auto unseen = model->Predict(Rows({{std::string_view("never-seen"), 1.0, 1.0}}));
  ASSERT_THAT(unseen, IsOk());
}

TEST(LoadedModel, ErrorsNameRowAndColumn) {
  auto model = TrainModel(ChurnCsv(100));
  ASSERT_TRUE(model);
  auto bad = model->Predict(Rows({{std::string_view("aa"), 1.0, 1.0},
                                  {std::string_view("aa"), 1.0, 1.0},
                                  {std::string_view("aa"), std::string_view("abc"), 1.0}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad, StatusIs(Code::kInvalidArgument, _));
  EXPECT_EQ(bad.status().message(), "row 2, column 'Count': expected a number, got \"abc\"");
  auto narrow = model->Predict(Rows({{std::string_view("aa"), 1.0}}));
  ASSERT_FALSE(narrow.ok());
  EXPECT_THAT(narrow, StatusIs(_, HasSubstr("each row must have 3 values")));
  EXPECT_THAT(narrow, StatusIs(_, HasSubstr("Country, Count, Tenure")));
  auto idx = model->ColumnIndex("Tenure");
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(*idx, 2u);
  EXPECT_FALSE(model->ColumnIndex("tenure").ok());
}

TEST(LoadedModel, MulticlassStringLabelsComeBackAsStrings) {
  std::string csv = "size,color,medal\n";
  for (int i = 0; i < 300; ++i) {
    int size = i % 30;
    const char* medal = size < 10 ? "bronze" : size < 20 ? "silver" : "gold";
    csv += fmt::format("{},{},{}\n", size, i % 2 ? "red" : "blue", medal);
  }
  auto model = TrainModel(csv);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->schema().task, TaskType::kMulticlass);
  EXPECT_FALSE(model->schema().labels_numeric);
  auto p = model->Predict(Rows({{2.0, std::string_view("red")}, {25.0, std::string_view("blue")},
                                {15.0, std::monostate{}}}));
  ASSERT_THAT(p, IsOk());
  ASSERT_EQ(p->num_classes, 3u);
  EXPECT_EQ(model->LabelText(*p, 0), "bronze");
  EXPECT_EQ(model->LabelText(*p, 1), "gold");
  EXPECT_EQ(model->LabelText(*p, 2), "silver");
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_NEAR(p->probabilities[3 * r] + p->probabilities[3 * r + 1] + p->probabilities[3 * r + 2], 1.0, 1e-5);
  }
}

TEST(LoadedModel, Regression) {
  std::string csv = "x,kind,price\n";
  for (int i = 0; i < 200; ++i) csv += fmt::format("{},{},{}\n", i % 40, i % 2 ? "a" : "b", (i % 40) * 2.5 + 0.25);
  auto model = TrainModel(csv, 50);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->schema().task, TaskType::kRegression);
  auto p = model->Predict(Rows({{10.0, std::string_view("a")}, {30.0, std::string_view("b")}}));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->num_classes, 0u);
  EXPECT_TRUE(p->probabilities.empty());
  EXPECT_NEAR(p->values[0], 25.25, 1.0);
  EXPECT_NEAR(p->values[1], 75.25, 1.0);
  EXPECT_NEAR(std::stod(model->LabelText(*p, 0)), p->values[0], 1e-6);
}

// Contributions (XGBoost's pred_contribs): one value per column plus the
// bias, per class group, summing to the margin that the objective's link
// turns into the prediction.
TEST(LoadedModel, BinaryContributionsSumToTheLogitAndThresholdMovesLabels) {
  auto model = TrainModel(ChurnCsv(400));
  ASSERT_TRUE(model);
  auto rows = Rows({{std::string_view("aa"), 2.0, 2.0}, {std::string_view("bb"), 7.0, std::monostate{}},
                    {std::string_view("cc"), 1.0, 30.0}, {std::monostate{}, 5.0, 3.0}});
  auto p = model->Predict(rows, {.threshold = std::nullopt, .contributions = true});
  ASSERT_THAT(p, IsOk());
  ASSERT_EQ(p->contribution_groups, 1u);
  ASSERT_EQ(p->contributions.size(), 4u * 4u);  // 3 columns + bias per row
  for (size_t r = 0; r < 4; ++r) {
    const float* c = &p->contributions[r * 4];
    const double margin = double(c[0]) + c[1] + c[2] + c[3];
    EXPECT_NEAR(1.0 / (1.0 + std::exp(-margin)), p->probabilities[2 * r + 1], 1e-5) << "row " << r;
  }
  // The same bias for every row (the expected margin over the training data).
  EXPECT_EQ(p->contributions[3], p->contributions[7]);
  // "Country" drives the "aa" row: its contribution is the largest there.
  EXPECT_GT(p->contributions[0], std::abs(p->contributions[2]));

  // A threshold moves labels only, never probabilities.
  auto plain = model->Predict(rows);
  auto all_ones = model->Predict(rows, {.threshold = 0.0});
  auto all_zeros = model->Predict(rows, {.threshold = 1.0});
  ASSERT_TRUE(plain.ok() && all_ones.ok() && all_zeros.ok());
  EXPECT_TRUE(plain->contributions.empty());
  EXPECT_EQ(all_ones->probabilities, plain->probabilities);
  for (size_t r = 0; r < 4; ++r) {
    EXPECT_EQ(all_ones->values[r], plain->probabilities[2 * r + 1] > 0 ? 1 : 0);
    EXPECT_EQ(all_zeros->values[r], 0);
    EXPECT_EQ(plain->values[r], plain->probabilities[2 * r + 1] > 0.5f ? 1 : 0);
  }
  auto bad = model->Predict(rows, {.threshold = 1.5});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "threshold must be a number from 0 to 1 (got 1.5)");
}

TEST(LoadedModel, MulticlassContributionsHaveOneGroupPerClass) {
  auto model = TrainModel(fixtures::MedalCsv(300));
  ASSERT_TRUE(model);
  ASSERT_EQ(model->schema().task, TaskType::kMulticlass);
  const size_t width = model->schema().features.size();
  CellMatrix rows;
  rows.rows = 3;
  rows.cols = width;
  for (size_t r = 0; r < 3; ++r) {
    for (size_t c = 0; c < width; ++c) {
      rows.cells.push_back(model->schema().features[c].type == FeatureType::kNumeric ? Cell(double(r * 9 + c))
                                                                                     : Cell(std::monostate{}));
    }
  }
  auto p = model->Predict(rows, {.contributions = true});
  ASSERT_THAT(p, IsOk());
  const size_t k = p->num_classes;
  ASSERT_EQ(p->contribution_groups, k);
  ASSERT_EQ(p->contributions.size(), 3 * k * (width + 1));
  for (size_t r = 0; r < 3; ++r) {
    // softmax(group margins) = the probabilities.
    std::vector<double> margin(k, 0.0);
    for (size_t g = 0; g < k; ++g) {
      for (size_t f = 0; f <= width; ++f) margin[g] += p->contributions[(r * k + g) * (width + 1) + f];
    }
    double total = 0;
    for (double m : margin) total += std::exp(m);
    for (size_t g = 0; g < k; ++g) {
      EXPECT_NEAR(std::exp(margin[g]) / total, p->probabilities[r * k + g], 1e-5) << "row " << r << " class " << g;
    }
  }
  auto bad = model->Predict(rows, {.threshold = 0.3});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad, StatusIs(_, HasSubstr("binary classifiers only")));
}

TEST(LoadedModel, RegressionContributionsSumToTheValue) {
  std::string csv = "x,kind,price\n";
  for (int i = 0; i < 200; ++i) csv += fmt::format("{},{},{}\n", i % 40, i % 2 ? "a" : "b", (i % 40) * 2.5 + 0.25);
  auto model = TrainModel(csv, 30);
  ASSERT_TRUE(model);
  auto p = model->Predict(Rows({{10.0, std::string_view("a")}, {33.0, std::monostate{}}}), {.contributions = true});
  ASSERT_THAT(p, IsOk());
  ASSERT_EQ(p->contributions.size(), 2u * 3u);
  for (size_t r = 0; r < 2; ++r) {
    const float* c = &p->contributions[r * 3];
    EXPECT_NEAR(double(c[0]) + c[1] + c[2], p->values[r], 1e-3) << "row " << r;
  }
}

TEST(LoadedModel, RejectsDamagedArtifacts) {
  auto model = TrainModel(ChurnCsv(50), 2);
  ASSERT_TRUE(model);
  std::string pre = model->preprocessor().ToJson();
  auto bad_model = LoadedModel::FromArtifacts(3, "{\"not\": \"a model\"}", pre, {});
  ASSERT_FALSE(bad_model.ok());
  EXPECT_THAT(bad_model, StatusIs(Code::kDataLoss, _));
  EXPECT_THAT(bad_model, StatusIs(_, HasSubstr("version 3 model.json")));
}

}  // namespace
}  // namespace modelbay
