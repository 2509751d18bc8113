// Baselines (model/baseline.h) and drift (monitor/drift.h, offline.h):
// figures against hand computations, hostile baseline.json refused with a
// reason, the live window bounded, and the offline path equal to the live one.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/baseline.h"
#include "model/loaded_model.h"
#include "monitor/drift.h"
#include "monitor/feedback.h"
#include "monitor/offline.h"
#include "results/row_format.h"
#include "store/local_store.h"
#include "model_fixtures.h"
#include "test_util.h"

namespace modelbay {
namespace {
using ::testing::HasSubstr;
using nlohmann::json;
using ::testing::_;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

struct Fixture {
  std::string csv = fixtures::ChurnCsv(600);
  fixtures::TrainedArtifacts artifacts = fixtures::TrainArtifacts(csv, 10);
  std::shared_ptr<const LoadedModel> plain;  // no baseline
  std::string baseline_json;

  Fixture() {
    auto m = LoadedModel::FromArtifacts(1, artifacts.model_json, artifacts.preprocessor_json, {});
    EXPECT_THAT(m, IsOk());
    plain = *m;
    auto table = ParseCsv(csv, "train.csv");
    TextColumns columns;
    for (size_t c = 0; c < 3; ++c) columns.push_back(&table->column(c));
    std::vector<uint32_t> rows(table->rows());
    for (uint32_t r = 0; r < rows.size(); ++r) rows[r] = r;
    std::vector<float> x(rows.size() * 3);
    plain->preprocessor().Transform(columns, rows, x.data());
    auto p = plain->PredictEncoded(x.data(), rows.size());
    EXPECT_TRUE(p.ok());
    baseline_json = BaselineToJson(ComputeBaseline(plain->preprocessor(), columns, rows, *p, "test rows"));
  }

  std::shared_ptr<const LoadedModel> WithBaseline(const std::string& text, std::string problem = "") const {
    auto m = LoadedModel::FromArtifacts(1, artifacts.model_json, artifacts.preprocessor_json, {},
                                        BaselineArtifact{true, text, std::move(problem)});
    EXPECT_THAT(m, IsOk());
    return *m;
  }
};

// Built once and never destroyed: a LoadedModel freed during static
// destruction would outlive XGBoost's own globals.
const Fixture& F() {
  static const Fixture* f = new Fixture;
  return *f;
}

TEST(Baseline, FiguresOfTheTrainingRows) {
  json b = json::parse(F().baseline_json);
  ASSERT_EQ(b["features"].size(), 3u);
  const json& country = b["features"][0];
  EXPECT_EQ(country["type"], "categorical");
  EXPECT_EQ(country["rows"], 600);
  EXPECT_EQ(country["missing"], 0);
  uint64_t total = 0;
  for (const auto& c : country["categories"]) total += c["count"].get<uint64_t>();
  EXPECT_EQ(total, 600u);
  const json& tenure = b["features"][2];  // every 7th missing
  EXPECT_EQ(tenure["missing"], 86);
  EXPECT_EQ(tenure["count"], 514);
  const json& count = b["features"][1];  // 0..9
  EXPECT_EQ(count["min"], 0.0);
  EXPECT_EQ(count["max"], 9.0);
  const auto edges = count["edges"].get<std::vector<double>>();
  for (size_t i = 1; i < edges.size(); ++i) EXPECT_LT(edges[i - 1], edges[i]);
  EXPECT_EQ(b["output"]["score"], "probability");
  EXPECT_EQ(b["output"]["rows"], 600);
}

TEST(Baseline, QuantileIsNumpysLinear) {
  std::vector<double> v = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 2.5);   // numpy.quantile([1,2,3,4], 0.5)
  EXPECT_DOUBLE_EQ(Quantile(v, 0.1), 1.3);   // numpy.quantile([1,2,3,4], 0.1)
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 4.0);
  NumericSummary constant = SummarizeNumeric({5, 5, 5});
  EXPECT_EQ(constant.histogram.edges, std::vector<double>{5});
  EXPECT_EQ(constant.histogram.counts, std::vector<uint64_t>{3});
}

// SummarizeNumeric selects the quantile ranks instead of sorting: its edges,
// counts, min and max are those of a full sort, on sizes around the rank
// arithmetic's edge cases and with many ties.
TEST(Baseline, SummaryEqualsAFullSort) {
  uint64_t state = 42;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (size_t n : {1, 2, 3, 9, 10, 11, 12, 101, 1000, 4099}) {
    for (int ties : {0, 1}) {
      std::vector<double> v(n);
      for (auto& x : v) x = ties ? static_cast<double>(next() % 7) : static_cast<double>(next() % 100000) / 7.0;
      std::vector<double> sorted = v;
      std::sort(sorted.begin(), sorted.end());
      std::vector<double> edges;
      for (size_t i = 0; i <= kBaselineBins; ++i) {
        double e = Quantile(sorted, static_cast<double>(i) / kBaselineBins);
        if (edges.empty() || e > edges.back()) edges.push_back(e);
      }
      NumericSummary s = SummarizeNumeric(v);
      EXPECT_EQ(s.histogram.edges, edges) << n;
      EXPECT_EQ(s.min, sorted.front());
      EXPECT_EQ(s.max, sorted.back());
      uint64_t total = 0;
      for (uint64_t c : s.histogram.counts) total += c;
      EXPECT_EQ(total, n);
      NumericHistogram h{edges, std::vector<uint64_t>(std::max<size_t>(1, edges.size() - 1), 0)};
      for (double x : v) ++h.counts[h.Bin(x)];
      EXPECT_EQ(s.histogram.counts, h.counts) << n;
    }
  }
}

// A distributed training's edges come from the workers' quantile sketches:
// equal to one process's when every worker sends all its values, and within
// a small rank error of them when the sketches are summaries.
TEST(Baseline, EdgesFromSketchesMatchOneProcess) {
  uint64_t state = 7;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (size_t per_worker : {0, 1, 5, 700, 2049, 30000}) {
    std::vector<double> all;
    std::vector<QuantileSketch> sketches;
    for (int w = 0; w < 3; ++w) {
      // Workers with different ranges (a file split by rows, not shuffled).
      std::vector<double> mine(per_worker + static_cast<size_t>(w));
      for (auto& x : mine) x = static_cast<double>(next() % 100000) / 7.0 + 5000.0 * w;
      all.insert(all.end(), mine.begin(), mine.end());
      sketches.push_back(SketchValues(mine));
    }
    std::vector<double> edges = EdgesFromSketches(sketches);
    if (all.empty()) {
      EXPECT_EQ(edges, std::vector<double>{0.0});
      continue;
    }
    std::vector<double> want = SummarizeNumeric(all).histogram.edges;
    if (per_worker + 2 <= kSketchPoints) {
      EXPECT_EQ(edges, want) << per_worker;
      continue;
    }
    ASSERT_EQ(edges.size(), want.size()) << per_worker;
    std::sort(all.begin(), all.end());
    for (size_t i = 0; i < edges.size(); ++i) {
      // The share of values below the edge, against the quantile it stands for.
      const double below = static_cast<double>(std::lower_bound(all.begin(), all.end(), edges[i]) - all.begin()) /
                           static_cast<double>(all.size());
      EXPECT_NEAR(below, static_cast<double>(i) / kBaselineBins, 0.002) << per_worker << " edge " << i;
    }
  }
}

TEST(Baseline, BinIsSearchsortedRightOnInnerEdges) {
  NumericHistogram h{{0, 1, 2, 3}, {0, 0, 0}};
  EXPECT_EQ(h.Bin(-5), 0u);
  EXPECT_EQ(h.Bin(0.999), 0u);
  EXPECT_EQ(h.Bin(1), 1u);
  EXPECT_EQ(h.Bin(2), 2u);
  EXPECT_EQ(h.Bin(99), 2u);
}

TEST(Baseline, RoundTripsAndLoads) {
  auto model = F().WithBaseline(F().baseline_json);
  ASSERT_EQ(model->baseline().kind, BaselineState::Kind::kOk) << model->baseline().problem;
  EXPECT_EQ(BaselineToJson(*model->baseline().baseline), F().baseline_json);
  EXPECT_EQ(F().plain->baseline().kind, BaselineState::Kind::kMissing);
}

// Each hostile edit of a valid baseline.json is refused with its reason,
// and the version still loads.
TEST(Baseline, HostileDocumentsAreRefusedNotFatal) {
  const json good = json::parse(F().baseline_json);
  auto with = [&](auto edit) {
    json j = good;
    edit(j);
    return j.dump();
  };
  std::vector<std::pair<std::string, std::string>> cases = {
      {"not json {", "not valid JSON"},
      {R"({"format": 1, "features": [{"min": NaN}]})", "not valid JSON"},
      {"[]", "JSON object"},
      {with([](json& j) { j["format"] = 99; }), "format"},
      {with([](json& j) { j["features"][1]["edges"] = {3, 2, 1}; }), "does not increase"},
      {with([](json& j) { j["features"][1]["edges"][1] = 1e308 * 10; }), "finite"},
      {with([](json& j) { j["features"][1]["counts"][0] = 1u << 30; }), "add up"},
      {with([](json& j) { j["features"][1]["counts"] = std::vector<int>(5000, 0); }), "at most"},
      {with([](json& j) { j["features"][1]["count"] = -3; }), "count"},
      {with([](json& j) { j["features"][0]["name"] = "other"; }), "other"},
      {with([](json& j) { j["features"][0]["categories"][0]["value"] = "zz"; }), "vocabulary"},
      {with([](json& j) { j["features"][0]["categories"][0]["count"] = UINT64_MAX; }), "overflow"},
      {with([](json& j) { j["features"][0]["missing"] = 100000; }), "more than"},
      {with([](json& j) { j["features"].erase(2); }), "feature"},
      {with([](json& j) { j["output"]["labels"][0]["label"] = "x"; }), "labels[0]"},
      {with([](json& j) { j.erase("output"); }), "output"},
      {std::string(kBaselineMaxBytes + 1, ' '), "at most"},
  };
  for (const auto& [text, why] : cases) {
    auto model = F().WithBaseline(text);
    EXPECT_EQ(model->baseline().kind, BaselineState::Kind::kInvalid) << why;
    EXPECT_THAT(model->baseline().problem, HasSubstr(why));
    monitor::DriftTracker tracker(1000);
    CellMatrix cells{1, 3, {Cell(std::string_view("aa")), Cell(2.0), Cell()}};
    auto p = model->Predict(cells);
    ASSERT_TRUE(p.ok());  // still serves
    tracker.Observe(model, cells, *p);
    EXPECT_EQ(tracker.Report(*model)["baseline"], "invalid");
  }
  auto damaged = F().WithBaseline("", "1/baseline.json: checksum mismatch");
  EXPECT_THAT(damaged->baseline().problem, HasSubstr("checksum"));
}

TEST(Drift, PsiAndJsByHand) {
  std::vector<double> p = {50, 50, 0}, q = {25, 75, 0};
  // (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5); the empty bin adds 0
  EXPECT_NEAR(*monitor::Psi(p, q), -0.25 * std::log(0.5) + 0.25 * std::log(1.5), 1e-12);
  // empty baseline bin: epsilon 1e-4
  std::vector<double> a = {100, 0}, b = {50, 50};
  EXPECT_NEAR(*monitor::Psi(a, b), (0.5 - 1) * std::log(0.5) + (0.5 - 1e-4) * std::log(0.5 / 1e-4), 1e-12);
  EXPECT_NEAR(*monitor::JsDistance(p, p), 0.0, 1e-12);
  std::vector<double> x = {1, 0}, y = {0, 1};
  EXPECT_NEAR(*monitor::JsDistance(x, y), 1.0, 1e-12);
  std::vector<double> none = {0, 0};
  EXPECT_FALSE(monitor::Psi(x, none).has_value());
}

TEST(Drift, WindowIsBoundedAndSlides) {
  auto model = F().WithBaseline(F().baseline_json);
  monitor::DriftTracker tracker(800);  // 8 sub-windows of 100 rows
  CellMatrix aa{1, 3, {Cell(std::string_view("aa")), Cell(1.0), Cell(3.0)}};
  CellMatrix unseen{1, 3, {Cell(std::string_view("zz")), Cell(1.0), Cell()}};
  auto pa = model->Predict(aa), pu = model->Predict(unseen);
  for (int i = 0; i < 3000; ++i) tracker.Observe(model, aa, *pa);
  json r = tracker.Report(*model);
  EXPECT_LE(r["window"]["rows"].get<uint64_t>(), 800u);
  EXPECT_GE(r["window"]["rows"].get<uint64_t>(), 700u);
  for (int i = 0; i < 800; ++i) tracker.Observe(model, unseen, *pu);
  r = tracker.Report(*model);
  const json& country = r["features"][0];
  EXPECT_DOUBLE_EQ(country["unseen_rate"].get<double>(), 1.0);  // the "aa" rows slid out
  EXPECT_DOUBLE_EQ(r["features"][2]["missing_rate"].get<double>(), 1.0);
  EXPECT_GT(country["psi"].get<double>(), 0.25);
  std::string prom = tracker.Prometheus();
  EXPECT_THAT(prom, HasSubstr("modelbay_feature_psi{model=\"default\",version=\"1\",feature=\"Country\"}"));
  EXPECT_THAT(prom, HasSubstr("modelbay_feature_unseen_category_rate{model=\"default\",version=\"1\",feature=\"Country\"} 1"));
}

TEST(Drift, NoBaselineSaysSo) {
  monitor::DriftTracker tracker;
  json r = tracker.Report(*F().plain);
  EXPECT_EQ(r["baseline"], "missing");
  EXPECT_THAT(r["message"].get<std::string>(), HasSubstr("no baseline"));
  EXPECT_EQ(tracker.Prometheus(), "");
}

// The rows the server counted, logged as the server logs them and read back
// offline, give the same document.
TEST(Drift, OfflineFromTheLogEqualsLive) {
  auto model = F().WithBaseline(F().baseline_json);
  monitor::DriftTracker tracker(100000);
  ScopedTempDir dir("mb-monitor");  // not a fixed name: parallel runs must not share it
  const auto path = dir.path() / "log.csv";
  std::string log = results::HeaderLine(model->schema());
  std::mt19937 rng(5);
  const char* countries[] = {"aa", "bb", "cc", "dd"};
  for (int i = 0; i < 300; ++i) {
    CellMatrix cells{1, 3, {Cell(std::string_view(countries[rng() % 4])), Cell(double(rng() % 20) / 3),
                            i % 5 == 0 ? Cell() : Cell(double(rng() % 50))}};
    auto p = model->Predict(cells);
    ASSERT_TRUE(p.ok());
    tracker.Observe(model, cells, *p);
    log += results::FormatRows(model->schema(), 1, "req" + std::to_string(i), cells, {model->LabelText(*p, 0)}, *p,
                               std::chrono::system_clock::now());
  }
  std::ofstream(path) << log;
  auto offline = monitor::DriftFromLog(*model, path, {});
  ASSERT_THAT(offline, IsOk());
  json live = tracker.Report(*model);
  EXPECT_EQ((*offline)["features"], live["features"]);
  EXPECT_EQ((*offline)["output"], live["output"]);
  EXPECT_EQ((*offline)["window"]["rows"], 300);
}

// Threads counting at once (more threads than shards, so some share one)
// lose no row and count none twice: the window equals one thread's counts of
// the same rows; a small window still holds only its newest rows.
TEST(Drift, ConcurrentObserversCountEveryRowOnce) {
  auto model = F().WithBaseline(F().baseline_json);
  CellMatrix aa{1, 3, {Cell(std::string_view("aa")), Cell(1.0), Cell(3.0)}};
  CellMatrix bb{2, 3, {Cell(std::string_view("bb")), Cell(7.0), Cell(), Cell(std::string_view("zz")), Cell(2.0), Cell(9.0)}};
  auto pa = model->Predict(aa), pb = model->Predict(bb);
  ASSERT_TRUE(pa.ok() && pb.ok());
  const int threads = static_cast<int>(monitor::kWindowShards) + 3, per_thread = 500;
  monitor::DriftTracker wide(1000000), narrow(800), serial(1000000);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const bool a = (i + t) % 3 != 0;
        wide.Observe(model, a ? aa : bb, a ? *pa : *pb);
        narrow.Observe(model, a ? aa : bb, a ? *pa : *pb, "churn");
      }
    });
  }
  for (auto& th : pool) th.join();
  for (int t = 0; t < threads; ++t) {
    for (int i = 0; i < per_thread; ++i) {
      const bool a = (i + t) % 3 != 0;
      serial.Observe(model, a ? aa : bb, a ? *pa : *pb);
    }
  }
  const json together = wide.Report(*model), alone = serial.Report(*model);
  EXPECT_EQ(together["window"]["rows"], alone["window"]["rows"]);
  EXPECT_EQ(together["features"], alone["features"]);
  EXPECT_EQ(together["output"], alone["output"]);
  const json small = narrow.Report(*model, "churn");
  EXPECT_LE(small["window"]["rows"].get<uint64_t>(), 800u);
  EXPECT_GE(small["window"]["rows"].get<uint64_t>(), 700u);
  EXPECT_EQ(narrow.Report(*model)["window"]["rows"], 0);  // the unnamed model saw nothing here
}

TEST(Drift, SinceIsChecked) {
  EXPECT_EQ(*monitor::ParseSince("2026-12-02T01:30:00Z"), "2026-12-02T01:30:00");
  EXPECT_EQ(*monitor::ParseSince("2026-12-02"), "2026-12-02");
  EXPECT_EQ(*monitor::ParseSince("2026-12-02T01:30:00.123Z"), "2026-12-02T01:30:00.123");
  for (const char* bad : {"yesterday", "2026-12-2", "2026-12-02 01:30", "2026-12-02T1", ""}) {
    EXPECT_FALSE(monitor::ParseSince(bad).ok()) << bad;
  }
}

// The feedback join by hand: row positions within a request, a corrected
// label, a reused request id, an unknown id, and AUC with a tie.
class FeedbackJoinTest : public testutil::TempDirTest {};

TEST_F(FeedbackJoinTest, JoinsByRequestIdAndRowAndComputesTheFigures) {
  const LoadedModel& model = *F().plain;
  ASSERT_EQ(model.schema().class_labels, (std::vector<std::string>{"0", "1"}));
  auto store = std::make_shared<LocalStore>(tmp());
  const std::string header = results::HeaderLine(model.schema());
  auto row = [](std::string_view id, std::string_view predicted, std::string_view p0, std::string_view p1) {
    return fmt::format("2026-12-02T01:00:00.000Z,{},1,aa,1,2,{},{},{}\n", id, predicted, p0, p1);
  };
  // Request A has three rows, B one; a later request reusing A's id keeps nothing.
  ASSERT_TRUE(store->Put("logs/v1/w/r-0000000001-0000000004.csv",
                         header + row("A", "1", "0.1", "0.9") + row("A", "0", "0.8", "0.2") +
                             row("A", "1", "0.4", "0.6") + row("B", "1", "0.4", "0.6")).ok());
  ASSERT_TRUE(store->Put("logs/v1/w/r-0000000005-0000000005.csv", header + row("A", "0", "0.9", "0.1")).ok());
  const std::string fb = monitor::FeedbackHeaderLine();
  ASSERT_TRUE(store->Put("feedback/w/r-0000000001-0000000004.csv",
                         fb + "2026-12-02T01:00:01.000Z,A,0,1\n2026-12-02T01:00:01.000Z,A,1,0\n"
                              "2026-12-02T01:00:01.000Z,A,2,1\n2026-12-02T01:00:01.000Z,ghost,0,1\n").ok());
  // Later: A row 2 corrected to 0, B labelled.
  ASSERT_TRUE(store->Put("feedback/w/r-0000000005-0000000006.csv",
                         fb + "2026-12-02T01:00:02.000Z,A,2,0\n2026-12-02T01:00:02.000Z,B,0,1\n").ok());
  monitor::FeedbackJoin join(store);
  auto m = join.Compute(model);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->logged_rows, 4u);
  EXPECT_EQ(m->labelled_rows, 4u);
  EXPECT_EQ(m->feedback_keys, 5u);
  EXPECT_EQ(m->unknown, 1u);
  EXPECT_EQ(m->unknown_examples, (std::vector<std::string>{"ghost"}));
  // Positives score 0.9 and 0.6, negatives 0.2 and 0.6: 3 wins and a tie in 4 pairs.
  ASSERT_TRUE(m->auc);
  EXPECT_DOUBLE_EQ(*m->auc, 0.875);
  ASSERT_TRUE(m->accuracy);
  EXPECT_DOUBLE_EQ(*m->accuracy, 0.75);  // A row 2 predicted 1, labelled 0
  ASSERT_TRUE(m->log_loss);
  EXPECT_NEAR(*m->log_loss, -(std::log(0.9) + std::log(0.8) + std::log(0.4) + std::log(0.6)) / 4, 1e-12);
  EXPECT_FALSE(m->rmse);
  // Incremental: a new feedback object is read on the next call.
  ASSERT_TRUE(store->Put("feedback/w/r-0000000007-0000000007.csv", fb + "2026-12-02T01:00:03.000Z,ghost2,0,0\n").ok());
  auto again = join.Compute(model);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unknown, 2u);
  EXPECT_EQ(again->labelled_rows, 4u);
}

TEST(Feedback, BadRecordsNameTheField) {
  const Schema& schema = F().plain->schema();
  auto message = [&](std::string_view body) {
    auto r = monitor::ParseFeedbackJson(body, schema, 10);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_THAT(r, StatusIs(Code::kInvalidArgument, _)) << body;
    return r.status().message();
  };
  EXPECT_THAT(message("{"), HasSubstr("body"));
  EXPECT_THAT(message(R"({"label": "1"})"), HasSubstr("request_id: missing"));
  EXPECT_THAT(message(R"({"request_id": "a", "label": "2"})"), HasSubstr("label: \"2\" is not a class"));
  EXPECT_THAT(message(R"([{"request_id": "a", "label": 1}, {"request_id": "a", "label": 1, "row": 1.5}])"),
              HasSubstr("[1].row"));
  EXPECT_THAT(message(R"({"request_id": "a", "label": "1", "rows": 1})"), HasSubstr("rows: unknown field"));
  EXPECT_THAT(message(R"([{"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}, {"request_id": "a", "label": "1"}])"),
              HasSubstr("more than 10"));
  auto ok = monitor::ParseFeedbackJson(R"([{"request_id": "a", "label": 1, "row": 3}])", schema, 10);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0].label, "1");
  EXPECT_EQ((*ok)[0].row, 3u);
  EXPECT_EQ(monitor::FormatFeedback(*ok, std::chrono::system_clock::time_point{}),
            "1970-01-01T00:00:00.000Z,a,3,1\n");
}


// The join's window (FeedbackJoinOptions): past max_logged_rows the oldest
// object's rows leave it, past max_labels the oldest labels; both counted,
// and a label whose row left counts as unknown, never silently dropped.
TEST_F(FeedbackJoinTest, TheWindowBoundsRowsAndLabelsAndCountsWhatLeft) {
  const LoadedModel& model = *F().plain;
  auto store = std::make_shared<LocalStore>(tmp());
  const std::string header = results::HeaderLine(model.schema());
  auto rows = [&](std::string_view prefix, int n) {
    std::string out = header;
    for (int i = 0; i < n; ++i) {
      out += fmt::format("2026-12-02T01:00:00.000Z,{}{},1,aa,1,2,1,0.3,0.7\n", prefix, i);
    }
    return out;
  };
  const std::string fb = monitor::FeedbackHeaderLine();
  monitor::FeedbackJoinOptions options;
  options.model = "churn";
  options.max_logged_rows = 5;
  options.max_labels = 4;
  monitor::FeedbackJoin join(store, options);
  ASSERT_THAT(store->Put("logs/v1/w/r-0000000001-0000000003.csv", rows("a", 3)), testutil::IsOk());
  ASSERT_THAT(store->Put("feedback/w/r-0000000001-0000000002.csv",
                         fb + "2026-12-02T01:00:01.000Z,a0,0,1\n2026-12-02T01:00:01.000Z,a1,0,0\n"),
              testutil::IsOk());
  auto m = join.Compute(model);
  ASSERT_THAT(m, testutil::IsOk());
  EXPECT_EQ(m->model, "churn");
  EXPECT_EQ(m->logged_rows, 3u);
  EXPECT_EQ(m->labelled_rows, 2u);
  EXPECT_EQ(m->evicted_logged_rows, 0u);

  // A second object of 3 rows: 6 > 5, so the first object's 3 rows leave.
  ASSERT_THAT(store->Put("logs/v1/w/r-0000000004-0000000006.csv", rows("b", 3)), testutil::IsOk());
  m = join.Compute(model);
  ASSERT_THAT(m, testutil::IsOk());
  EXPECT_EQ(m->logged_rows, 3u);
  EXPECT_EQ(m->evicted_logged_rows, 3u);
  EXPECT_EQ(m->labelled_rows, 0u);
  EXPECT_EQ(m->unknown, 2u);  // a0 and a1's rows left the window: counted, not dropped
  EXPECT_EQ(m->unknown_examples, (std::vector<std::string>{"a0", "a1"}));

  // Labels: 2 + 3 = 5 > 4, so the oldest (a0) leaves.
  ASSERT_THAT(store->Put("feedback/w/r-0000000003-0000000005.csv",
                         fb + "2026-12-02T01:00:02.000Z,b0,0,1\n2026-12-02T01:00:02.000Z,b1,0,1\n"
                              "2026-12-02T01:00:02.000Z,b2,0,0\n"),
              testutil::IsOk());
  m = join.Compute(model);
  ASSERT_THAT(m, testutil::IsOk());
  EXPECT_EQ(m->feedback_keys, 4u);
  EXPECT_EQ(m->evicted_labels, 1u);
  EXPECT_EQ(m->labelled_rows, 3u);
  EXPECT_EQ(m->unknown_examples, (std::vector<std::string>{"a1"}));
  const json doc = monitor::FeedbackJson(*m);
  EXPECT_EQ(doc["window"]["evicted_logged_rows"], 3);
  EXPECT_EQ(doc["window"]["max_labels"], 4);
  const std::string prom = monitor::FeedbackPrometheus({*m});
  EXPECT_THAT(prom, HasSubstr("modelbay_feedback_evicted_total{model=\"churn\",kind=\"logged_rows\"} 3\n"));
  EXPECT_THAT(prom, HasSubstr("modelbay_feedback_evicted_total{model=\"churn\",kind=\"labels\"} 1\n"));
  EXPECT_THAT(prom, HasSubstr("modelbay_feedback_labelled_rows{model=\"churn\",version=\"1\"} 3\n"));
}

// The figures are computed once per new object, not once per call (a
// /metrics scrape with nothing new shipped redoes no join).
TEST_F(FeedbackJoinTest, FiguresAreCachedUntilSomethingNewShips) {
  const LoadedModel& model = *F().plain;
  auto store = std::make_shared<LocalStore>(tmp());
  const std::string header = results::HeaderLine(model.schema());
  ASSERT_THAT(store->Put("logs/v1/w/r-0000000001-0000000001.csv",
                         header + "2026-12-02T01:00:00.000Z,A,1,aa,1,2,1,0.3,0.7\n"),
              testutil::IsOk());
  monitor::FeedbackJoin join(store);
  for (int i = 0; i < 5; ++i) ASSERT_THAT(join.Compute(model), testutil::IsOk());
  EXPECT_EQ(join.computations(), 1u);
  ASSERT_THAT(store->Put("feedback/w/r-0000000001-0000000001.csv",
                         monitor::FeedbackHeaderLine() + "2026-12-02T01:00:01.000Z,A,0,1\n"),
              testutil::IsOk());
  auto m = join.Compute(model);
  ASSERT_THAT(m, testutil::IsOk());
  EXPECT_EQ(m->labelled_rows, 1u);
  EXPECT_EQ(join.computations(), 2u);
  ASSERT_THAT(join.Compute(model), testutil::IsOk());
  EXPECT_EQ(join.computations(), 2u);
}

// Two models' windows are apart: version 1 of "default" and of "churn".
TEST(Drift, WindowsArePerModel) {
  auto model = F().WithBaseline(F().baseline_json);
  monitor::DriftTracker tracker(800);
  CellMatrix aa{1, 3, {Cell(std::string_view("aa")), Cell(1.0), Cell(3.0)}};
  auto pa = model->Predict(aa);
  for (int i = 0; i < 30; ++i) tracker.Observe(model, aa, *pa, "churn");
  for (int i = 0; i < 10; ++i) tracker.Observe(model, aa, *pa);
  EXPECT_EQ(tracker.Report(*model, "churn")["window"]["rows"], 30);
  EXPECT_EQ(tracker.Report(*model, "churn")["model"], "churn");
  EXPECT_EQ(tracker.Report(*model)["window"]["rows"], 10);
  EXPECT_EQ(tracker.Report(*model, "other")["window"]["rows"], 0);
  const std::string prom = tracker.Prometheus();
  EXPECT_THAT(prom, HasSubstr("modelbay_drift_window_rows{model=\"churn\",version=\"1\"} 30\n"));
  EXPECT_THAT(prom, HasSubstr("modelbay_drift_window_rows{model=\"default\",version=\"1\"} 10\n"));
  // One HELP/TYPE per family whatever the number of models (promtool's rule).
  size_t helps = 0;
  for (size_t at = prom.find("# HELP modelbay_drift_window_rows"); at != std::string::npos;
       at = prom.find("# HELP modelbay_drift_window_rows", at + 1)) {
    ++helps;
  }
  EXPECT_EQ(helps, 1u);
}

}  // namespace
}  // namespace modelbay

