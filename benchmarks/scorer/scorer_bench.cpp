// Scorer micro-benchmark (issue 9): modelbay's forest scorer against
// XGBoost's C API on the model `modelbay train` makes on `modelbay
// sample-data` (trainer defaults: 100 rounds, depth 6, binary:logistic), for
// 1, 100 and 100,000 rows per call, one thread.
//   forest/N            PredictForest on pre-encoded rows
//   loaded_forest/N     LoadedModel::PredictEncoded (what /inference and
//                       predict call: forest + class post-processing)
//   xgb_dense/N         XGBoosterPredictFromDense, no proxy passed (XGBoost
//                       makes one per call)
//   loaded_xgb/N        LoadedModel's previous path: in-place prediction with
//                       a reused per-thread proxy DMatrix
// Run by benchmarks/scorer/run.sh.
#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/csv.h"
#include "data/sample_data.h"
#include "model/forest.h"
#include "model/forest_scorer.h"
#include "model/loaded_model.h"
#include "model/preprocessor.h"
#include "model/schema_infer.h"
#include "model/xgboost_util.h"
#include "train/booster.h"

namespace modelbay {
namespace {

constexpr size_t kTrainRows = 20000;
constexpr size_t kMaxRows = 100000;

struct Setup {
  std::string model_json;
  std::shared_ptr<const LoadedModel> loaded;
  XgbModel forest;
  BoosterPtr booster;
  size_t cols = 0;
  std::vector<float> rows;  // kMaxRows x cols, encoded

  Setup() {
    auto path = std::filesystem::temp_directory_path() / "modelbay-scorer-bench.csv";
    SampleDataOptions opts;
    opts.rows = kTrainRows + kMaxRows;
    Check(WriteSampleData(path, opts));
    std::stringstream text;
    text << std::ifstream(path).rdbuf();
    std::filesystem::remove(path);
    auto table = ParseCsv(text.str(), "sample.csv");
    Check(table.status());
    auto inferred = InferSchema(*table, {});
    Check(inferred.status());
    TextColumns columns;
    for (size_t c : inferred->feature_columns) columns.push_back(&table->column(c));
    std::span<const uint32_t> all(inferred->rows);
    auto train = all.subspan(0, kTrainRows);
    auto pre = Preprocessor::Fit(inferred->schema, columns, train);
    cols = pre.num_features();
    std::vector<float> x(train.size() * cols);
    pre.Transform(columns, train, x.data());
    std::vector<float> y;
    for (uint32_t r : train) y.push_back(inferred->labels[r]);
    auto params = ResolveParams(inferred->schema, nlohmann::json::object());
    Check(params.status());
    auto fitted = FitBooster(std::move(x), y, cols, *params);
    Check(fitted.status());
    auto json = SaveModelJson(fitted->get());
    Check(json.status());
    model_json = *json;
    rows.resize(kMaxRows * cols);
    pre.Transform(columns, all.subspan(kTrainRows, kMaxRows), rows.data());

    auto loaded_or = LoadedModel::FromArtifacts(1, model_json, pre.ToJson(), {});
    Check(loaded_or.status());
    loaded = *loaded_or;
    auto parsed = ParseXgboostModel(model_json);
    Check(parsed.status());
    forest = std::move(*parsed);
    BoosterHandle h = nullptr;
    XGBoosterCreate(nullptr, 0, &h);
    booster.reset(h);
    XGBoosterLoadModelFromBuffer(h, model_json.data(), model_json.size());
    XGBoosterSetParam(h, "nthread", "1");
  }
  static void Check(const Status& st) {
    if (!st.ok()) {
      fprintf(stderr, "scorer_bench setup: %s\n", st.ToString().c_str());
      std::exit(1);
    }
  }
};

// Never destroyed: XGBoost's own globals may be gone by exit time.
Setup& S() {
  static Setup* s = new Setup;
  return *s;
}

void Forest(benchmark::State& state) {
  Setup& s = S();
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<float> out(n);
  for (auto _ : state) {
    (void)PredictForest(s.forest, s.rows.data(), n, s.cols, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

void LoadedForest(benchmark::State& state) {
  Setup& s = S();
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    auto p = s.loaded->PredictEncoded(s.rows.data(), n);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

void LoadedXgb(benchmark::State& state) {
  Setup& s = S();
  const size_t n = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    auto p = s.loaded->PredictEncodedWith(LoadedModel::Scorer::kXgboost, s.rows.data(), n);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

void XgbDense(benchmark::State& state) {
  Setup& s = S();
  const size_t n = static_cast<size_t>(state.range(0));
  static constexpr char kConfig[] =
      R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"cache_id":0,"missing":NaN})";
  for (auto _ : state) {
    std::string array = DenseArrayInterface(s.rows.data(), n, s.cols);
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* result = nullptr;
    XGBoosterPredictFromDense(s.booster.get(), array.c_str(), kConfig, nullptr, &shape, &dim, &result);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

BENCHMARK(Forest)->Name("forest")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(LoadedForest)->Name("loaded_forest")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(XgbDense)->Name("xgb_dense")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(LoadedXgb)->Name("loaded_xgb")->Arg(1)->Arg(100)->Arg(100000);

}  // namespace
}  // namespace modelbay

BENCHMARK_MAIN();
