// Schema inference and the preprocessor: pure functions over in-memory tables.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "core/csv.h"
#include "model/preprocessor.h"
#include "model/schema_infer.h"
#include "model/values.h"
#include "test_util.h"

namespace modelbay {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

CsvTable Parse(std::string text) {
  auto t = ParseCsv(std::move(text), "train.csv");
  EXPECT_THAT(t, IsOk());
  return std::move(t).value();
}

std::vector<uint32_t> AllRows(size_t n) {
  std::vector<uint32_t> rows(n);
  std::iota(rows.begin(), rows.end(), 0u);
  return rows;
}

TEST(Values, MissingSpellingsAndNumbers) {
  for (auto s : {"", " ", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "<NA>", " NA "}) {
    EXPECT_TRUE(IsMissingText(s)) << s;
  }
  for (auto s : {"0", "na", "none", "NAN", "x"}) EXPECT_FALSE(IsMissingText(s)) << s;
  EXPECT_EQ(ParseNumber("2.5"), 2.5);
  EXPECT_EQ(ParseNumber(" -3e2 "), -300.0);
  EXPECT_EQ(ParseNumber("+7"), 7.0);
  EXPECT_FALSE(ParseNumber("abc"));
  EXPECT_FALSE(ParseNumber("inf"));
  EXPECT_FALSE(ParseNumber("1.5x"));
  EXPECT_FALSE(ParseNumber("0x10"));
  EXPECT_EQ(FormatNumber(2.0), "2");
  EXPECT_EQ(FormatNumber(0.1), "0.1");
}

TEST(Values, IntegersReadAsFromCharsReadsThem) {
  // Integers of up to 15 digits take a fast path; it must give the value
  // std::from_chars gives (longer ones take from_chars itself).
  for (std::string s : {"0", "7", "007", "-42", "+42", " 12 ", "999999999999999", "-123456789012345",
                        "1234567890123456", "99999999999999999999", "9007199254740993"}) {
    std::string_view t = TrimSpaces(s);
    if (t.front() == '+') t.remove_prefix(1);
    double expected = 0;
    std::from_chars(t.data(), t.data() + t.size(), expected);
    ASSERT_TRUE(ParseNumber(s).has_value()) << s;
    EXPECT_EQ(*ParseNumber(s), expected) << s;
  }
  EXPECT_TRUE(std::signbit(*ParseNumber("-0")));
  EXPECT_FALSE(ParseNumber("-"));
  EXPECT_FALSE(ParseNumber("1-2"));
  EXPECT_FALSE(ParseNumber("--1"));
}

// A table big enough that schema inference, the labels and the
// preprocessor's statistics are computed in row ranges on several cores:
// the result is the one row-by-row reading gives (first lines, tokens in
// order of appearance, ascending rows).
TEST(InferSchema, LargeTablesReadInRangesGiveTheRowByRowResult) {
  constexpr size_t kRows = 300000;
  std::string csv = "Count,Country,churn\n";
  for (size_t i = 0; i < kRows; ++i) {
    std::string count = std::to_string((i * 7) % 1000);
    if (i == 250000) count = "-";  // stray tokens: the later range's first
    if (i == 260000 || i == 100) count = "?";
    std::string target = (i == 200000 || i == 290000) ? "" : std::to_string(i % 3 == 0);
    csv += count + "," + (i % 2 ? "aa" : "bb") + "," + target + "\n";
  }
  auto t = Parse(std::move(csv));
  auto s = InferSchema(t, {});
  ASSERT_THAT(s, IsOk());
  ASSERT_EQ(s->stray.size(), 1u);
  EXPECT_EQ(s->stray[0].cells, 3u);
  EXPECT_EQ(s->stray[0].first_line, 102u);
  EXPECT_EQ(s->stray[0].tokens, (std::vector<std::string>{"?", "-"}));
  EXPECT_EQ(s->rows_without_target, 2u);
  EXPECT_EQ(s->first_line_without_target, 200002u);
  ASSERT_EQ(s->rows.size(), kRows - 2);
  EXPECT_TRUE(std::is_sorted(s->rows.begin(), s->rows.end()));
  EXPECT_EQ(s->rows[199999], 199999u);
  EXPECT_EQ(s->rows[200000], 200001u);
  EXPECT_EQ(s->labels[299997], 1.0f);  // 299997 % 3 == 0: class "1"
  EXPECT_EQ(s->labels[299999], 0.0f);
  EXPECT_TRUE(std::isnan(s->labels[290000]));
  auto facts = CollectSchemaFacts(t, {});
  ASSERT_THAT(facts, IsOk());
  EXPECT_EQ(facts->rows, kRows);
  EXPECT_EQ(facts->first_without_target, "line 200002 of train.csv");
  TextColumns cols = {&t.column(0), &t.column(1)};
  std::vector<uint32_t> late(s->rows.begin() + 150000, s->rows.end());
  auto stats = Preprocessor::CollectStats(s->schema, cols, late);
  EXPECT_EQ(stats[0].min, 0.0);
  EXPECT_EQ(stats[0].max, 999.0);
  EXPECT_EQ(stats[1].categories, (std::vector<std::string>{"aa", "bb"}));
}

TEST(InferSchema, TargetDefaultsToChurnThenLastColumn) {
  auto with_churn = Parse("churn,Country,Count\n1,aa,2\n0,bb,3\n");
  auto s = InferSchema(with_churn, {});
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->schema.target, "churn");
  ASSERT_EQ(s->schema.features.size(), 2u);
  EXPECT_EQ(s->schema.features[0].name, "Country");
  EXPECT_EQ(s->schema.features[0].type, FeatureType::kCategorical);
  EXPECT_EQ(s->schema.features[1].type, FeatureType::kNumeric);
  EXPECT_EQ(s->schema.task, TaskType::kBinary);
  EXPECT_EQ(s->schema.class_labels, (std::vector<std::string>{"0", "1"}));

  auto last = Parse("a,b,label\n1,2,x\n3,4,y\n5,6,x\n");
  auto s2 = InferSchema(last, {});
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->schema.target, "label");
  EXPECT_FALSE(s2->schema.labels_numeric);
}

TEST(InferSchema, TaskRules) {
  auto task_of = [](std::string csv) {
    auto t = Parse(std::move(csv));
    auto s = InferSchema(t, {});
    EXPECT_THAT(s, IsOk());
    return s.ok() ? s->schema.task : TaskType::kBinary;
  };
  EXPECT_EQ(task_of("x,y\n1,0.5\n2,1.5\n3,0.5\n"), TaskType::kBinary);       // two numeric values
  EXPECT_EQ(task_of("x,y\n1,1\n2,2\n3,3\n"), TaskType::kMulticlass);          // few integers
  EXPECT_EQ(task_of("x,y\n1,gold\n2,silver\n3,bronze\n"), TaskType::kMulticlass);
  EXPECT_EQ(task_of("x,y\n1,1.5\n2,2.5\n3,3.25\n"), TaskType::kRegression);   // non-integers
  std::string many = "x,y\n";
  for (int i = 0; i < 25; ++i) many += std::to_string(i) + "," + std::to_string(i * 10) + "\n";
  EXPECT_EQ(task_of(many), TaskType::kRegression);                            // > 20 integers
}

TEST(InferSchema, MulticlassLabelsKeepTheirTextInSortedOrder) {
  auto t = Parse("x,medal\n1,silver\n2,gold\n3,bronze\n4,gold\n");
  auto s = InferSchema(t, {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->schema.class_labels, (std::vector<std::string>{"bronze", "gold", "silver"}));
  EXPECT_EQ(s->labels, (std::vector<float>{2, 1, 0, 1}));
}

TEST(InferSchema, RowsWithoutTargetAreSetAside) {
  auto t = Parse("x,churn\n1,1\n2,\n3,0\n4,NA\n");
  auto s = InferSchema(t, {});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->rows, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(s->rows_without_target, 2u);
  EXPECT_EQ(s->first_line_without_target, 3u);
}

TEST(InferSchema, ErrorsNameTheFileAndColumn) {
  auto t = Parse("Country,Count,churn\naa,1,1\nbb,,0\n");
  auto missing = InferSchema(t, {.target = "label"});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing, StatusIs(Code::kInvalidArgument, _));
  EXPECT_EQ(missing.status().message(),
            "target column 'label' not in train.csv; columns are: Country, Count, churn");

  auto drop = InferSchema(t, {.drop = {"Nope"}});
  ASSERT_FALSE(drop.ok());
  EXPECT_THAT(drop, StatusIs(_, HasSubstr("'Nope' not in train.csv")));

  auto none = InferSchema(t, {.drop = {"Country", "Count"}});
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(none, StatusIs(_, HasSubstr("no feature columns left")));

  auto single = Parse("a,churn\n1,1\n2,1\n3,1\n");
  auto s = InferSchema(single, {});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s, StatusIs(_, HasSubstr("single value (\"1\")")));

  auto empty = Parse("a,b,churn\n1,,1\n2,NA,0\n");
  auto e = InferSchema(empty, {});
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e, StatusIs(_, HasSubstr("column 'b' in train.csv is empty in every row")));
  EXPECT_THAT(e, StatusIs(_, HasSubstr("--drop b")));
  EXPECT_TRUE(InferSchema(empty, {.drop = {"b"}}).ok());
}

// Issue 12 §3: categorical values that look numeric match by value. Before,
// "5.0" and 5.0 scored as missing while "5" did not.
TEST(PreprocessorNumericCategories, MatchByValueNotText) {
  auto t = Parse("Code,x,churn\n5,1,0\n10,2,1\nabc,3,0\n05,4,1\n7.5,5,0\n");
  auto s = InferSchema(t, {.column_types = {{"Code", FeatureType::kCategorical}}});
  ASSERT_THAT(s, IsOk());
  ASSERT_EQ(s->schema.features[0].type, FeatureType::kCategorical);
  TextColumns cols;
  for (size_t c : s->feature_columns) cols.push_back(&t.column(c));
  Preprocessor pre = Preprocessor::Fit(s->schema, cols, AllRows(t.rows()));
  ASSERT_EQ(pre.categories(0), (std::vector<std::string>{"05", "10", "5", "7.5", "abc"}));
  auto code = [&](Cell c) {
    float out = -1;
    EXPECT_TRUE(pre.Encode(0, c, &out));
    return out;
  };
  // As written first ("05" is its own category) ...
  EXPECT_EQ(code(std::string_view("05")), 0.0f);
  EXPECT_EQ(code(std::string_view("5")), 2.0f);
  // ... else by value, the shortest spelling winning among equal values.
  EXPECT_EQ(code(std::string_view("5.0")), 2.0f);
  EXPECT_EQ(code(std::string_view(" 5e0 ")), 2.0f);
  EXPECT_EQ(code(5.0), 2.0f);
  EXPECT_EQ(code(10.0), 1.0f);
  EXPECT_EQ(code(std::string_view("1e1")), 1.0f);
  EXPECT_EQ(code(7.5), 3.0f);
  EXPECT_TRUE(std::isnan(code(6.0)));
  EXPECT_TRUE(std::isnan(code(std::string_view("ABC"))));
  EXPECT_EQ(code(std::string_view("abc")), 4.0f);

  // A preprocessor.json written before this rule (no new field) reads back
  // with the same matching: the index is rebuilt on load.
  auto back = Preprocessor::FromJson(pre.ToJson());
  ASSERT_THAT(back, IsOk());
  float out = -1;
  ASSERT_TRUE(back->Encode(0, std::string_view("5.0"), &out));
  EXPECT_EQ(out, 2.0f);
  ASSERT_TRUE(back->Encode(0, 10.0, &out));
  EXPECT_EQ(out, 1.0f);
}

// Issue 12 §3: one stray token among numbers made the column categorical.
std::string NumbersWith(const std::vector<std::string>& stray, size_t numbers) {
  std::string csv = "Count,churn\n";
  for (size_t i = 0; i < numbers; ++i) csv += std::to_string(i % 100) + "," + std::to_string(i % 2) + "\n";
  for (const auto& t : stray) csv += "\"" + t + "\",1\n";
  return csv;
}

TEST(InferSchema, StrayTokensInANumericColumnAreMissingAndReported) {
  for (std::string token : {"?", "-", "inf", "1e400", "1,5", "0x10"}) {
    auto t = Parse(NumbersWith({token}, 2000));
    auto s = InferSchema(t, {});
    ASSERT_THAT(s, IsOk());
    EXPECT_EQ(s->schema.features[0].type, FeatureType::kNumeric) << token;
    ASSERT_EQ(s->stray.size(), 1u) << token;
    EXPECT_EQ(s->stray[0].column, "Count");
    EXPECT_EQ(s->stray[0].cells, 1u);
    EXPECT_EQ(s->stray[0].first_line, 2002u);
    EXPECT_EQ(s->stray[0].tokens, (std::vector<std::string>{token}));
    EXPECT_FALSE(s->stray[0].forced);
  }
  // Several tokens, several times each: counted, listed once each in order.
  auto t = Parse(NumbersWith({"?", "-", "?"}, 500));
  auto s = InferSchema(t, {});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->stray.size(), 1u);
  EXPECT_EQ(s->stray[0].cells, 3u);
  EXPECT_EQ(s->stray[0].tokens, (std::vector<std::string>{"?", "-"}));
  // The stray cells are missing values to the preprocessor.
  TextColumns cols = {&t.column(0)};
  Preprocessor pre = Preprocessor::Fit(s->schema, cols, AllRows(t.rows()));
  EXPECT_EQ(pre.max(0), 99.0);
  std::vector<float> x(t.rows());
  pre.Transform(cols, AllRows(t.rows()), x.data());
  EXPECT_TRUE(std::isnan(x.back()));
}

TEST(InferSchema, MostlyTextOrManyTokensStaysCategorical) {
  // 10% text: categorical.
  auto ten = Parse(NumbersWith(std::vector<std::string>(20, "x"), 180));
  EXPECT_EQ(InferSchema(ten, {})->schema.features[0].type, FeatureType::kCategorical);
  // Under 5% of the cells but more than kMaxStrayTokens distinct texts.
  auto many = Parse(NumbersWith({"a", "b", "c", "d", "e", "f"}, 2000));
  auto s = InferSchema(many, {});
  EXPECT_EQ(s->schema.features[0].type, FeatureType::kCategorical);
  EXPECT_TRUE(s->stray.empty());
  // Text columns are untouched.
  auto text = Parse("Country,churn\naa,1\nbb,0\n");
  EXPECT_EQ(InferSchema(text, {})->schema.features[0].type, FeatureType::kCategorical);
}

TEST(InferSchema, ColumnTypesForceAType) {
  auto many = Parse(NumbersWith({"a", "b", "c", "d", "e", "f"}, 2000));
  auto s = InferSchema(many, {.column_types = {{"Count", FeatureType::kNumeric}}});
  ASSERT_THAT(s, IsOk());
  EXPECT_EQ(s->schema.features[0].type, FeatureType::kNumeric);
  ASSERT_EQ(s->stray.size(), 1u);
  EXPECT_EQ(s->stray[0].cells, 6u);
  EXPECT_TRUE(s->stray[0].forced);

  auto numbers = Parse("Count,churn\n1,0\n2,1\n");
  auto c = InferSchema(numbers, {.column_types = {{"Count", FeatureType::kCategorical}}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->schema.features[0].type, FeatureType::kCategorical);

  auto unknown = InferSchema(numbers, {.column_types = {{"Nope", FeatureType::kNumeric}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown, StatusIs(_, HasSubstr("--column-type Nope")));
  auto target = InferSchema(numbers, {.column_types = {{"churn", FeatureType::kNumeric}}});
  ASSERT_FALSE(target.ok());
  EXPECT_THAT(target, StatusIs(_, HasSubstr("target")));
  auto text = Parse("Country,churn\naa,1\nbb,0\n");
  auto no_number = InferSchema(text, {.column_types = {{"Country", FeatureType::kNumeric}}});
  ASSERT_FALSE(no_number.ok());
  EXPECT_THAT(no_number, StatusIs(_, HasSubstr("no number")));
}

class PreprocessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = Parse("Country,Count,Flat,Missing,churn\nbb,2,5,,1\naa,4,5,1,0\ncc,,5,3,1\naa,10,5,NA,0\n");
    auto s = InferSchema(table_, {});
    ASSERT_THAT(s, IsOk());
    for (size_t c : s->feature_columns) columns_.push_back(&table_.column(c));
    pre_ = Preprocessor::Fit(s->schema, columns_, AllRows(table_.rows()));
  }
  float Enc(size_t f, Cell c) {
    float out = -1;
    EXPECT_TRUE(pre_.Encode(f, c, &out));
    return out;
  }
  CsvTable table_;
  TextColumns columns_;
  Preprocessor pre_;
};

TEST_F(PreprocessorTest, VocabularyIsSortedAndUnseenIsMissing) {
  EXPECT_EQ(pre_.categories(0), (std::vector<std::string>{"aa", "bb", "cc"}));
  EXPECT_EQ(Enc(0, std::string_view("aa")), 0.0f);
  EXPECT_EQ(Enc(0, std::string_view("cc")), 2.0f);
  EXPECT_TRUE(std::isnan(Enc(0, std::string_view("zz"))));
  EXPECT_TRUE(std::isnan(Enc(0, std::monostate{})));
  EXPECT_TRUE(std::isnan(Enc(0, 3.0)));  // no category has the value 3
}

TEST_F(PreprocessorTest, MinMaxScalerAndConstantColumn) {
  EXPECT_EQ(pre_.min(1), 2.0);
  EXPECT_EQ(pre_.max(1), 10.0);
  EXPECT_FLOAT_EQ(Enc(1, 2.0), 0.0f);
  EXPECT_FLOAT_EQ(Enc(1, 6.0), 0.5f);
  EXPECT_FLOAT_EQ(Enc(1, std::string_view("10")), 1.0f);
  EXPECT_FLOAT_EQ(Enc(1, 14.0), 1.5f);  // outside the training range: extrapolated
  EXPECT_EQ(Enc(2, 5.0), 0.0f);         // constant column
  EXPECT_EQ(Enc(2, 99.0), 0.0f);
  EXPECT_TRUE(std::isnan(Enc(1, std::string_view("NA"))));
  float out;
  EXPECT_FALSE(pre_.Encode(1, std::string_view("abc"), &out));
}

TEST_F(PreprocessorTest, TransformMatchesEncodeRowMajor) {
  std::vector<uint32_t> rows = {3, 0};
  std::vector<float> m(rows.size() * pre_.num_features());
  pre_.Transform(columns_, rows, m.data());
  EXPECT_EQ(m[0], 0.0f);                // row 3: aa
  EXPECT_FLOAT_EQ(m[1], 1.0f);          // 10
  EXPECT_TRUE(std::isnan(m[3]));        // NA
  EXPECT_EQ(m[4 + 0], 1.0f);            // row 0: bb
  EXPECT_FLOAT_EQ(m[4 + 1], 0.0f);      // 2
}

TEST_F(PreprocessorTest, JsonRoundTrip) {
  std::string json = pre_.ToJson();
  auto back = Preprocessor::FromJson(json);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->ToJson(), json);
  EXPECT_EQ(back->schema().target, "churn");
  EXPECT_EQ(back->schema().class_labels, (std::vector<std::string>{"0", "1"}));
  float a, b;
  for (Cell c : {Cell(std::string_view("bb")), Cell(std::string_view("zz"))}) {
    ASSERT_TRUE(pre_.Encode(0, c, &a));
    ASSERT_TRUE(back->Encode(0, c, &b));
    EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b)));
  }
}

TEST_F(PreprocessorTest, StrictParsing) {
  auto bad = [](std::string text) {
    auto r = Preprocessor::FromJson(text, "v3/preprocessor.json");
    EXPECT_FALSE(r.ok());
    EXPECT_THAT(r, StatusIs(Code::kDataLoss, _));
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_THAT(bad("{not json"), HasSubstr("v3/preprocessor.json: not a JSON object"));
  auto doc = nlohmann::json::parse(pre_.ToJson());
  auto without = doc;
  without.erase("target");
  EXPECT_THAT(bad(without.dump()), HasSubstr("field 'target' is missing"));
  auto future = doc;
  future["format_version"] = 99;
  EXPECT_THAT(bad(future.dump()), HasSubstr("upgrade modelbay"));
  auto unsorted = doc;
  unsorted["features"][0]["categories"] = {"bb", "aa"};
  EXPECT_THAT(bad(unsorted.dump()), HasSubstr("features[0].categories"));
  auto labels = doc;
  labels["class_labels"] = {"0"};
  EXPECT_THAT(bad(labels.dump()), HasSubstr("class_labels"));
}

}  // namespace
}  // namespace modelbay
