// Scorer micro-benchmark (issue 9): modelbay's forest scorer against
// XGBoost's C API on the model `modelbay train` makes on `modelbay
// sample-data` (trainer defaults: 100 rounds, depth 6, binary:logistic), for
// 1, 100 and 100,000 rows per call, one thread.
//   forest/N            PredictForest on pre-encoded rows (the widest walk
//                       the CPU has: AVX-512 or AVX2)
//   forest_avx2/N       the same with SetForestSimd(kAvx2): at most AVX2
//   forest_portable/N   PredictForest with SetForestSimd(kPortable): the
//                       complete layout walked without vector instructions
//   forest_nodes/N      PredictForest without the complete-tree layout
//                       (ForestLimits::max_complete_depth 0: the node-by-node
//                       walk, the scorer before the complete layout)
//   loaded_forest/N     LoadedModel::PredictEncoded (what /inference and
//                       predict call: forest + class post-processing)
//   xgb_dense/N         XGBoosterPredictFromDense, no proxy passed (XGBoost
//                       makes one per call)
//   loaded_xgb/N        LoadedModel's previous path: in-place prediction with
//                       a reused per-thread proxy DMatrix
//   tl2cgen/N           the same model compiled to C by tl2cgen (PyPI) and
//                       built into a shared library by run.sh; its generated
//                       `predict` called per row (how tl2cgen's own runtime
//                       drives it), rows converted to its Entry layout
//                       beforehand (not timed). Only when SCORER_BENCH_TL2CGEN
//                       names the library.
// Environment (run.sh sets both): SCORER_BENCH_MODEL=FILE reads the model
// from FILE, or trains it and writes it there when FILE does not exist
// (run.sh compiles that file with tl2cgen, so every scorer times the same
// trees), and SCORER_BENCH_TL2CGEN=LIB.so loads the compiled library with
// dlopen. SCORER_BENCH_DATA=CSV trains on and scores that file (at least
// kTrainRows + kMaxRows rows; the label as `modelbay train` infers it) instead of the
// sample data, e.g. a wider table. Benchmark-only:
// nothing from a model store is compiled or loaded.
// Run by benchmarks/scorer/run.sh.
#include <benchmark/benchmark.h>
#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
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
  XgbModel forest_nodes;  // without the complete layout
  BoosterPtr booster;
  size_t cols = 0;
  std::vector<float> rows;  // kMaxRows x cols, encoded

  Setup() {
    std::stringstream text;
    if (const char* data = std::getenv("SCORER_BENCH_DATA")) {
      text << std::ifstream(data).rdbuf();
    } else {
      auto path = std::filesystem::temp_directory_path() / "modelbay-scorer-bench.csv";
      SampleDataOptions opts;
      opts.rows = kTrainRows + kMaxRows;
      Check(WriteSampleData(path, opts));
      text << std::ifstream(path).rdbuf();
      std::filesystem::remove(path);
    }
    auto table = ParseCsv(text.str(), "sample.csv");
    Check(table.status());
    auto inferred = InferSchema(*table, {});
    Check(inferred.status());
    TextColumns columns;
    for (size_t c : inferred->feature_columns) columns.push_back(&table->column(c));
    std::span<const uint32_t> all(inferred->rows);
    if (all.size() < kTrainRows + kMaxRows) Check(InvalidArgument("SCORER_BENCH_DATA needs " + std::to_string(kTrainRows + kMaxRows) + " rows"));
    auto train = all.subspan(0, kTrainRows);
    auto pre = Preprocessor::Fit(inferred->schema, columns, train);
    cols = pre.num_features();
    std::vector<float> x(train.size() * cols);
    pre.Transform(columns, train, x.data());
    std::vector<float> y;
    for (uint32_t r : train) y.push_back(inferred->labels[r]);
    const char* model_file = std::getenv("SCORER_BENCH_MODEL");
    if (model_file != nullptr && std::filesystem::exists(model_file)) {
      std::stringstream saved;
      saved << std::ifstream(model_file).rdbuf();
      model_json = saved.str();
    } else {
      auto params = ResolveParams(inferred->schema, nlohmann::json::object());
      Check(params.status());
      auto fitted = FitBooster(std::move(x), y, cols, *params);
      Check(fitted.status());
      auto json = SaveModelJson(fitted->get());
      Check(json.status());
      model_json = *json;
      if (model_file != nullptr) std::ofstream(model_file) << model_json;
    }
    rows.resize(kMaxRows * cols);
    pre.Transform(columns, all.subspan(kTrainRows, kMaxRows), rows.data());

    auto loaded_or = LoadedModel::FromArtifacts(1, model_json, pre.ToJson(), {});
    Check(loaded_or.status());
    loaded = *loaded_or;
    auto parsed = ParseXgboostModel(model_json);
    Check(parsed.status());
    forest = std::move(*parsed);
    ForestLimits nodes_only;
    nodes_only.max_complete_depth = 0;
    auto parsed_nodes = ParseXgboostModel(model_json, "model.json", nodes_only);
    Check(parsed_nodes.status());
    forest_nodes = std::move(*parsed_nodes);
    BoosterHandle h = nullptr;
    XGBoosterCreate(nullptr, 0, &h);
    booster.reset(h);
    XGBoosterLoadModelFromBuffer(h, model_json.data(), model_json.size());
    XGBoosterSetParam(h, "nthread", "1");
    if (const char* lib = std::getenv("SCORER_BENCH_TL2CGEN")) LoadTl2cgen(lib);
  }

  // tl2cgen's generated entry point and its input layout (header.h of the
  // generated code): a missing value is `missing == -1`.
  union Tl2cgenEntry {
    int missing;
    float fvalue;
    int qvalue;
  };
  using Tl2cgenPredict = void (*)(Tl2cgenEntry* data, int pred_margin, float* result);
  Tl2cgenPredict tl2cgen_predict = nullptr;
  std::vector<Tl2cgenEntry> entries;  // rows in tl2cgen's layout

  void LoadTl2cgen(const char* lib) {
    void* handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      fprintf(stderr, "scorer_bench: dlopen %s: %s\n", lib, dlerror());
      std::exit(1);
    }
    tl2cgen_predict = reinterpret_cast<Tl2cgenPredict>(dlsym(handle, "predict"));
    if (tl2cgen_predict == nullptr) {
      fprintf(stderr, "scorer_bench: %s has no predict()\n", lib);
      std::exit(1);
    }
    entries.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      if (std::isnan(rows[i])) {
        entries[i].missing = -1;
      } else {
        entries[i].fvalue = rows[i];
      }
    }
    // The same model: its probabilities must be XGBoost's (float rounding apart).
    std::vector<float> ours(100);
    Check(PredictForest(forest, rows.data(), 100, cols, ours.data()));
    for (size_t r = 0; r < 100; ++r) {
      float p = 0;
      tl2cgen_predict(entries.data() + r * cols, 0, &p);
      if (std::fabs(p - ours[r]) > 1e-5f) {
        fprintf(stderr, "scorer_bench: tl2cgen's row %zu is %.7f, the forest's %.7f: not the same model\n", r, p,
                ours[r]);
        std::exit(1);
      }
    }
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

// PredictForest on `model` (the complete layout, or node by node), with the
// walks `simd` allows.
void ScoreForest(benchmark::State& state, const XgbModel& model, ForestSimd simd) {
  Setup& s = S();
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<float> out(n);
  SetForestSimd(simd);
  for (auto _ : state) {
    (void)PredictForest(model, s.rows.data(), n, s.cols, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  SetForestSimd(ForestSimd::kAvx512);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

void Forest(benchmark::State& state) { ScoreForest(state, S().forest, ForestSimd::kAvx512); }
void ForestAvx2(benchmark::State& state) { ScoreForest(state, S().forest, ForestSimd::kAvx2); }
void ForestPortable(benchmark::State& state) { ScoreForest(state, S().forest, ForestSimd::kPortable); }
void ForestNodes(benchmark::State& state) { ScoreForest(state, S().forest_nodes, ForestSimd::kAvx512); }

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

void Tl2cgen(benchmark::State& state) {
  Setup& s = S();
  if (s.tl2cgen_predict == nullptr) {
    state.SkipWithError("SCORER_BENCH_TL2CGEN not set");
    return;
  }
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<float> out(n);
  for (auto _ : state) {
    for (size_t r = 0; r < n; ++r) {
      out[r] = 0.0f;  // predict adds each tree's leaf to the result
      s.tl2cgen_predict(s.entries.data() + r * s.cols, 0, &out[r]);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}

BENCHMARK(Forest)->Name("forest")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(ForestAvx2)->Name("forest_avx2")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(ForestPortable)->Name("forest_portable")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(ForestNodes)->Name("forest_nodes")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(LoadedForest)->Name("loaded_forest")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(XgbDense)->Name("xgb_dense")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(LoadedXgb)->Name("loaded_xgb")->Arg(1)->Arg(100)->Arg(100000);
BENCHMARK(Tl2cgen)->Name("tl2cgen")->Arg(1)->Arg(100)->Arg(100000);

}  // namespace
}  // namespace modelbay

int main(int argc, char** argv) {
  // Which walk `forest` uses on this CPU (run.sh prints it with the table).
  using modelbay::ForestSimd;
  const ForestSimd simd = modelbay::ForestSimdInUse();
  benchmark::AddCustomContext("forest_simd", simd == ForestSimd::kAvx512 ? "AVX-512"
                                             : simd == ForestSimd::kAvx2 ? "AVX2"
                                                                         : "portable");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
