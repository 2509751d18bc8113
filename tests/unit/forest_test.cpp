// The XGBoost model parser/validator (model/forest.h), the artifact checks
// (model/artifacts.h) and our scorer (model/forest_scorer.h), on real models
// trained here with XGBoost and on crafted mutations of them.
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "model/artifacts.h"
#include "model/forest.h"
#include "model/forest_scorer.h"
#include "model/loaded_model.h"
#include "model/xgboost_util.h"
#include "model_fixtures.h"
#include "registry/registry.h"
#include "store/local_store.h"
#include "test_util.h"

namespace modelbay {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds
using nlohmann::json;
namespace fs = std::filesystem;

const fixtures::TrainedArtifacts& BinaryModel() {
  static const auto a = fixtures::TrainArtifacts(fixtures::ChurnCsv(2000), 30);
  return a;
}
const fixtures::TrainedArtifacts& MulticlassModel() {
  static const auto a = fixtures::TrainArtifacts(fixtures::MedalCsv(2000), 20);
  return a;
}
const fixtures::TrainedArtifacts& RegressionModel() {
  static const auto a = fixtures::TrainArtifacts(fixtures::PriceCsv(2000), 40);
  return a;
}
const fixtures::TrainedArtifacts& GammaModel() {
  static const auto a = fixtures::TrainArtifacts(fixtures::PriceCsv(2000), 30, {{"objective", "reg:gamma"}});
  return a;
}

// Narrow rows pick split values by blends, wider ones gather them
// (forest_scorer.cpp: up to 4 columns with AVX-512, 3 with AVX2): a 4-column
// model is at the AVX-512 limit (and past AVX2's), a 7-column one past both.
const fixtures::TrainedArtifacts& FourColumnModel() {
  static const auto a = fixtures::TrainArtifacts(fixtures::WideCsv(3000, 4), 30);
  return a;
}
const fixtures::TrainedArtifacts& SevenColumnModel() {
  static const auto a = fixtures::TrainArtifacts(fixtures::WideCsv(3000, 7), 30);
  return a;
}

json& Tree(json& doc, size_t t) { return doc["learner"]["gradient_booster"]["model"]["trees"][t]; }

// The first internal node after the root of tree 0.
size_t InnerNode(const json& tree) {
  const auto& lefts = tree["left_children"];
  for (size_t i = 1; i < lefts.size(); ++i) {
    if (lefts[i].get<int>() != -1) return i;
  }
  ADD_FAILURE() << "tree 0 has no internal node below the root";
  return 0;
}
size_t LeafNode(const json& tree) {
  const auto& lefts = tree["left_children"];
  for (size_t i = 0; i < lefts.size(); ++i) {
    if (lefts[i].get<int>() == -1) return i;
  }
  return 0;
}

TEST(ForestParse, ModelsTrainedByXgboostPass) {
  for (const auto* a : {&BinaryModel(), &MulticlassModel(), &RegressionModel(), &GammaModel()}) {
    auto m = ParseXgboostModel(a->model_json);
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_TRUE(m->fallback_reason.empty());
    EXPECT_FALSE(m->forest.roots.empty());
    EXPECT_TRUE(CheckArtifacts(a->model_json, a->preprocessor_json, "test").ok());
  }
  auto multi = ParseXgboostModel(MulticlassModel().model_json);
  EXPECT_EQ(multi->num_class, 3u);
  EXPECT_EQ(multi->transform, OutputTransform::kSoftmax);
  EXPECT_EQ(multi->forest.roots.size(), 60u);  // 20 rounds x 3 classes
}

struct Mutation {
  std::string name;
  std::function<void(json&)> edit;
  std::string expect;  // in the error message
};

// Each crafted model must be refused by the parser, by the registry (before a
// version number is claimed) and by LoadedModel (before XGBoost sees it).
TEST(ForestParse, CraftedModelsAreRefusedNamingTreeNodeAndProblem) {
  const json real = json::parse(BinaryModel().model_json);
  const size_t inner = InnerNode(Tree(const_cast<json&>(real), 0));
  const size_t leaf = LeafNode(Tree(const_cast<json&>(real), 0));
  const size_t real_tree0_nodes = Tree(const_cast<json&>(real), 0)["left_children"].size();
  std::vector<Mutation> cases = {
      {"split index 1,000,000", [](json& d) { Tree(d, 0)["split_indices"][0] = 1000000; },
       "tree 0, node 0: split index 1000000 is not a feature (the model has 3 features)"},
      {"child back to the root (cycle)", [&](json& d) { Tree(d, 0)["left_children"][inner] = 0; },
       fmt::format("tree 0, node {}: left child 0 does not come after the node", inner)},
      {"child out of range", [](json& d) { Tree(d, 0)["right_children"][0] = 123456; },
       "tree 0, node 0: right child 123456 is out of range"},
      {"child on one side only", [](json& d) { Tree(d, 2)["right_children"][0] = -1; },
       "tree 2, node 0: right child -1 is out of range"},
      {"both children the same node", [](json& d) { Tree(d, 0)["right_children"][0] = Tree(d, 0)["left_children"][0]; },
       "tree 0, node 0: both children are node"},
      {"node arrays of different lengths", [](json& d) { Tree(d, 1)["split_conditions"].erase(0); },
       "tree 1: \"split_conditions\" has"},
      {"parent out of range", [&](json& d) { Tree(d, 0)["parents"][inner] = 99999999; },
       fmt::format("tree 0, node {}: parent 99999999 is out of range", inner)},
      {"leaf value not a finite float", [&](json& d) { Tree(d, 0)["split_conditions"][leaf] = 1e39; },
       fmt::format("tree 0, node {}: split condition 1e+39 is not a finite 32-bit float", leaf)},
      {"categorical split", [](json& d) { Tree(d, 0)["split_type"][0] = 1; }, "tree 0, node 0: is a categorical split"},
      {"tree_info beyond the outputs", [](json& d) { d["learner"]["gradient_booster"]["model"]["tree_info"][4] = 7; },
       "tree 4: tree_info 7 is not an output of this model"},
      {"duplicate tree id", [](json& d) { Tree(d, 3)["id"] = 2; }, "tree 3: \"id\" is 2, expected 3"},
      {"fewer trees than num_trees", [](json& d) { d["learner"]["gradient_booster"]["model"]["trees"].erase(5); },
       "num_trees is 30 but there are 29 trees"},
      {"num_nodes disagrees",
       [](json& d) { Tree(d, 0)["tree_param"]["num_nodes"] = std::to_string(Tree(d, 0)["left_children"].size() + 1); },
       fmt::format("entries but the tree has {} nodes", real_tree0_nodes + 1)},
      {"base_score outside (0,1) for logistic",
       [](json& d) { d["learner"]["learner_model_param"]["base_score"] = "2"; }, "must be in (0, 1)"},
      {"multi-class objective without classes",
       [](json& d) { d["learner"]["objective"]["name"] = "multi:softprob"; }, "multi-class objectives need"},
      {"unknown booster", [](json& d) { d["learner"]["gradient_booster"]["name"] = "gbforest"; }, "unknown booster"},
      {"feature count differs from the schema",
       [](json& d) { d["learner"]["learner_model_param"]["num_feature"] = "4"; },
       "the model takes 4 features, the schema lists 3"},
      {"binary schema, regression objective", [](json& d) { d["learner"]["objective"]["name"] = "reg:squarederror"; },
       "does not fit the binary target 'churn'"},
  };
  ScopedTempDir tmp("mb-forest");
  Registry registry(std::make_shared<LocalStore>(tmp.path() / "models"));
  for (const auto& c : cases) {
    json doc = real;
    c.edit(doc);
    const std::string bytes = doc.dump();
    auto checked = CheckArtifacts(bytes, BinaryModel().preprocessor_json, "version 4");
    ASSERT_FALSE(checked.ok()) << c.name;
    EXPECT_EQ(checked.status().code(), Code::kInvalidArgument) << c.name;
    EXPECT_THAT(checked, StatusIs(_, HasSubstr(c.expect)));

    auto loaded = LoadedModel::FromArtifacts(4, bytes, BinaryModel().preprocessor_json, {});
    ASSERT_FALSE(loaded.ok()) << c.name;
    EXPECT_EQ(loaded.status().code(), Code::kDataLoss) << c.name;
    EXPECT_THAT(loaded, StatusIs(_, HasSubstr("version 4")));

    auto published = registry.Publish(bytes, BinaryModel().preprocessor_json, json::object());
    EXPECT_EQ(published.status().code(), Code::kInvalidArgument) << c.name;
  }
  EXPECT_TRUE(registry.store().List("")->empty()) << "a refused model must not claim a version";
}

TEST(ForestParse, MalformedDocumentsAndLimits) {
  const std::string& real = BinaryModel().model_json;
  EXPECT_THAT(ParseXgboostModel(" " + real), StatusIs(_, HasSubstr("first byte must be '{'")));
  EXPECT_THAT(ParseXgboostModel(real.substr(0, real.size() / 2)), StatusIs(_, HasSubstr("not valid JSON")));
  EXPECT_THAT(ParseXgboostModel("{}"), StatusIs(_, HasSubstr("has no \"learner\"")));
  EXPECT_THAT(ParseXgboostModel(std::string(100, '[')), StatusIs(_, HasSubstr("first byte")));
  EXPECT_THAT(ParseXgboostModel("{" + std::string(100000, '[')), StatusIs(_, HasSubstr("not valid JSON")));
  ForestLimits shallow;
  shallow.max_depth = 1;
  auto deep = ParseXgboostModel(real, "model.json", shallow);
  EXPECT_THAT(deep, StatusIs(_, HasSubstr("is deeper than 1 levels")));
  ForestLimits few;
  few.max_trees = 10;
  EXPECT_THAT(ParseXgboostModel(real, "model.json", few), StatusIs(_, HasSubstr("expected an integer from 0 to 10")));
  ForestLimits small;
  small.max_model_bytes = 100;
  EXPECT_THAT(ParseXgboostModel(real, "model.json", small), StatusIs(_, HasSubstr("over the limit")));
}

TEST(ForestParse, PreprocessorWithARepeatedColumnIsRefused) {
  json pre = json::parse(BinaryModel().preprocessor_json);
  pre["features"][2]["name"] = pre["features"][0]["name"];
  auto checked = CheckArtifacts(BinaryModel().model_json, pre.dump(), "version 2");
  ASSERT_FALSE(checked.ok());
  EXPECT_THAT(checked, StatusIs(_, HasSubstr("features[2].name' repeats the column name 'Country'")));
}

// Random encoded rows that reach every branch: NaN (missing), values exactly
// on a threshold, just below it, values far outside what the preprocessor
// produces (unseen categories map to NaN; out-of-range numbers scale beyond
// [0,1]), infinities.
std::vector<float> RandomRows(const XgbModel& m, size_t rows, uint32_t seed) {
  std::vector<std::vector<float>> thresholds(m.num_feature);
  for (const auto& n : m.forest.nodes) {
    if (!n.is_leaf()) thresholds[n.info & ForestNode::kFeatureMask].push_back(n.value);
  }
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-0.5f, 3.0f);
  std::vector<float> x(rows * m.num_feature);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < m.num_feature; ++c) {
      float& v = x[r * m.num_feature + c];
      const uint32_t pick = rng() % 100;
      const auto& th = thresholds[c];
      if (pick < 15) {
        v = std::numeric_limits<float>::quiet_NaN();
      } else if (pick < 35 && !th.empty()) {
        v = th[rng() % th.size()];
      } else if (pick < 45 && !th.empty()) {
        v = std::nextafter(th[rng() % th.size()], -1e30f);
      } else if (pick < 48) {
        v = (rng() % 2 ? 1 : -1) * std::numeric_limits<float>::infinity();
      } else if (pick < 55) {
        v = static_cast<float>(rng() % 1000) * 10.0f - 5000.0f;
      } else {
        v = uniform(rng);
      }
    }
  }
  return x;
}

// Our scorer against XGBoost's own C API prediction (a booster loaded from the
// same model.json) on 100k rows: equal within 1e-6 absolute.
void ExpectSameAsXgboost(const fixtures::TrainedArtifacts& a, uint32_t seed) {
  auto m = ParseXgboostModel(a.model_json);
  ASSERT_TRUE(m.ok()) << m.status().message();
  constexpr size_t kRows = 100000;
  std::vector<float> x = RandomRows(*m, kRows, seed);

  BoosterHandle handle = nullptr;
  ASSERT_EQ(XGBoosterCreate(nullptr, 0, &handle), 0);
  BoosterPtr booster(handle);
  ASSERT_EQ(XGBoosterLoadModelFromBuffer(handle, a.model_json.data(), a.model_json.size()), 0);
  std::string array = DenseArrayInterface(x.data(), kRows, m->num_feature);
  const char* config =
      R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"cache_id":0,"missing":NaN})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* want = nullptr;
  ASSERT_EQ(XGBoosterPredictFromDense(handle, array.c_str(), config, nullptr, &shape, &dim, &want), 0)
      << XGBGetLastError();
  size_t n = 1;
  for (bst_ulong d = 0; d < dim; ++d) n *= shape[d];
  ASSERT_EQ(n, kRows * m->outputs_per_row());

  // Both layouts (complete trees, and node by node as for deep sparse
  // forests), all rows in one call (blocks of rows across each tree), and the
  // first rows one call each and in calls of 13 and 21.
  ForestLimits nodes_only;
  nodes_only.max_complete_depth = 0;
  auto by_node = ParseXgboostModel(a.model_json, "model.json", nodes_only);
  ASSERT_TRUE(by_node.ok()) << by_node.status().message();
  ASSERT_TRUE(m->forest.complete.built()) << "a depth-6 trained model gets the complete layout";
  ASSERT_FALSE(by_node->forest.complete.built());
  const size_t complete_nodes = m->forest.roots.size() * ((size_t{2} << m->forest.complete.depth) - 1);
  ASSERT_LT(m->forest.nodes.size(), complete_nodes) << "some leaves sit above the bottom level (padded splits)";
  const size_t per_row = m->outputs_per_row();
  struct Config {
    const char* layout;
    const XgbModel* model;
    ForestSimd simd;
  };
  for (const Config& config : {Config{"complete, AVX-512", &*m, ForestSimd::kAvx512},
                               Config{"complete, AVX2", &*m, ForestSimd::kAvx2},
                               Config{"complete, portable", &*m, ForestSimd::kPortable},
                               Config{"nodes", &*by_node, ForestSimd::kAvx512}}) {
    const XgbModel* model = config.model;
    SetForestSimd(config.simd);
    // A CPU without the instructions walks with the widest it has: say so.
    const std::string layout = ForestSimdInUse() == config.simd || config.model == &*by_node
                                   ? config.layout
                                   : fmt::format("{} (not on this CPU: {})", config.layout,
                                                 ForestSimdInUse() == ForestSimd::kAvx2 ? "AVX2" : "portable");
    std::vector<float> got(n);
    ASSERT_TRUE(PredictForest(*model, x.data(), kRows, model->num_feature, got.data()).ok());
    constexpr size_t kSmallCalls = 2600;
    std::vector<float> small(kSmallCalls * per_row);
    for (size_t r = 0; r < kSmallCalls / 2; ++r) {
      ASSERT_TRUE(PredictForest(*model, x.data() + r * model->num_feature, 1, model->num_feature,
                                small.data() + r * per_row)
                      .ok());
    }
    // Calls of 13 rows (one full group of 8, 5 rows walked across trees) and
    // 21 (two full groups and a partial one the vector walk takes along).
    for (size_t r = kSmallCalls / 2, k = 13; r < kSmallCalls; r += k, k = k == 13 ? 21 : 13) {
      k = std::min(k, kSmallCalls - r);
      ASSERT_TRUE(PredictForest(*model, x.data() + r * model->num_feature, k, model->num_feature,
                                small.data() + r * per_row)
                      .ok());
    }
    for (size_t i = 0; i < small.size(); ++i) {
      ASSERT_EQ(small[i], got[i]) << layout << ": output " << i << " differs between one call and small calls";
    }
    double worst = 0;
    size_t worst_at = 0, exact = 0;
    for (size_t i = 0; i < n; ++i) {
      double diff = std::abs(static_cast<double>(got[i]) - want[i]);
      if (diff > worst) worst = diff, worst_at = i;
      exact += got[i] == want[i];
    }
    EXPECT_LE(worst, 1e-6) << m->objective << " (" << layout << "): output " << worst_at << " ours "
                           << got[worst_at] << " XGBoost " << want[worst_at];
    ::testing::Test::RecordProperty(fmt::format("bit_identical_outputs ({})", layout),
                                    fmt::format("{} of {}", exact, n));
    std::cout << m->objective << ", " << m->num_feature << " columns, depth " << m->forest.complete.depth << " (" << layout << "): " << exact << " of " << n
              << " outputs bit-identical to XGBoost, max |diff| " << worst << "\n";
  }
  SetForestSimd(ForestSimd::kAvx512);
}

TEST(ForestScorer, BinaryEqualsXgboost) { ExpectSameAsXgboost(BinaryModel(), 11); }
TEST(ForestScorer, MulticlassStringLabelsEqualsXgboost) { ExpectSameAsXgboost(MulticlassModel(), 12); }
TEST(ForestScorer, RegressionEqualsXgboost) { ExpectSameAsXgboost(RegressionModel(), 13); }
TEST(ForestScorer, GammaRegressionEqualsXgboost) { ExpectSameAsXgboost(GammaModel(), 14); }
TEST(ForestScorer, FourColumnsEqualsXgboost) { ExpectSameAsXgboost(FourColumnModel(), 15); }
TEST(ForestScorer, SevenColumnsEqualsXgboost) { ExpectSameAsXgboost(SevenColumnModel(), 16); }

// LoadedModel scores with our forest by default; both of its paths agree.
TEST(ForestScorer, LoadedModelUsesTheForestAndAgreesWithItsXgboostPath) {
  for (const auto* a : {&BinaryModel(), &MulticlassModel(), &RegressionModel()}) {
    auto model = LoadedModel::FromArtifacts(1, a->model_json, a->preprocessor_json, {});
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_TRUE((*model)->uses_forest_scorer());
    auto m = ParseXgboostModel(a->model_json);
    std::vector<float> x = RandomRows(*m, 1000, 5);
    auto ours = (*model)->PredictEncodedWith(LoadedModel::Scorer::kForest, x.data(), 1000);
    auto theirs = (*model)->PredictEncodedWith(LoadedModel::Scorer::kXgboost, x.data(), 1000);
    ASSERT_TRUE(ours.ok() && theirs.ok());
    EXPECT_EQ(ours->values, theirs->values);
    ASSERT_EQ(ours->probabilities.size(), theirs->probabilities.size());
    for (size_t i = 0; i < ours->probabilities.size(); ++i) {
      EXPECT_NEAR(ours->probabilities[i], theirs->probabilities[i], 1e-6);
    }
  }
}

// dart passes validation and is scored by XGBoost; gblinear (which XGBoost
// 1.7 cannot predict in place, so it could never be served) is refused.
TEST(ForestScorer, DartFallsBackToXgboostAndGblinearIsRefused) {
  auto a = fixtures::TrainArtifacts(fixtures::ChurnCsv(300), 5, {{"booster", "dart"}});
  auto m = ParseXgboostModel(a.model_json);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->fallback_reason, "the dart booster");
  auto model = LoadedModel::FromArtifacts(1, a.model_json, a.preprocessor_json, {});
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_FALSE((*model)->uses_forest_scorer());
  std::vector<float> row = {0.0f, 0.5f, std::nanf("")};
  auto p = (*model)->PredictEncoded(row.data(), 1);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_NEAR(p->probabilities[0] + p->probabilities[1], 1.0, 1e-6);
  EXPECT_EQ(PredictForest(*m, row.data(), 1, 3, row.data()).code(), Code::kFailedPrecondition);

  auto linear = fixtures::TrainArtifacts(fixtures::ChurnCsv(300), 5, {{"booster", "gblinear"}});
  auto refused = ParseXgboostModel(linear.model_json);
  EXPECT_THAT(refused, StatusIs(_, HasSubstr("gblinear booster is not supported")));
}

}  // namespace
}  // namespace modelbay
