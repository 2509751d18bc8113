// Models for unit tests: real ones trained with XGBoost on small in-memory
// CSV text, and a hand-written minimal one for tests that only need a valid
// version to exist.
#pragma once

#include <random>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "model/preprocessor.h"
#include "model/schema_infer.h"
#include "train/booster.h"

namespace modelbay::fixtures {

struct TrainedArtifacts {
  std::string model_json;         // XGBoost's JSON, as `modelbay train` saves it
  std::string preprocessor_json;  // the fitted preprocessor
};

// Fits on every row of `csv` (last column the target) with the trainer's
// defaults, one thread, `rounds` rounds and `params` overrides.
inline TrainedArtifacts TrainArtifacts(std::string csv, int rounds = 20,
                                       nlohmann::json params = nlohmann::json::object()) {
  auto table = ParseCsv(std::move(csv), "train.csv");
  EXPECT_TRUE(table.ok()) << table.status().message();
  auto inferred = InferSchema(*table, {});
  EXPECT_TRUE(inferred.ok()) << inferred.status().message();
  TextColumns columns;
  for (size_t c : inferred->feature_columns) columns.push_back(&table->column(c));
  auto pre = Preprocessor::Fit(inferred->schema, columns, inferred->rows);
  std::vector<float> x(inferred->rows.size() * pre.num_features());
  pre.Transform(columns, inferred->rows, x.data());
  std::vector<float> y;
  for (uint32_t r : inferred->rows) y.push_back(inferred->labels[r]);
  params["num_boost_round"] = rounds;
  params["nthread"] = 1;
  auto resolved = ResolveParams(inferred->schema, params);
  EXPECT_TRUE(resolved.ok()) << resolved.status().message();
  auto booster = FitBooster(std::move(x), y, pre.num_features(), *resolved);
  EXPECT_TRUE(booster.ok()) << booster.status().message();
  auto json = SaveModelJson(booster->get());
  EXPECT_TRUE(json.ok());
  return {json.ok() ? *json : "", pre.ToJson()};
}

// churn depends on Country and Count: "aa" churns, others churn when Count > 5.
// Every 7th Tenure is missing.
inline std::string ChurnCsv(int rows) {
  std::string csv = "Country,Count,Tenure,churn\n";
  std::mt19937 rng(1);
  const char* countries[] = {"aa", "bb", "cc"};
  for (int i = 0; i < rows; ++i) {
    std::string country = countries[rng() % 3];
    int count = rng() % 10;
    int churn = country == "aa" || count > 5;
    std::string tenure = i % 7 == 0 ? "" : std::to_string(rng() % 50);
    csv += fmt::format("{},{},{},{}\n", country, count, tenure, churn);
  }
  return csv;
}

// Three classes with string labels; size decides, color is noise, some sizes missing.
inline std::string MedalCsv(int rows) {
  std::string csv = "size,color,weight,medal\n";
  std::mt19937 rng(2);
  for (int i = 0; i < rows; ++i) {
    int size = static_cast<int>(rng() % 30);
    const char* medal = size < 10 ? "bronze" : size < 20 ? "silver" : "gold";
    if (rng() % 10 == 0) medal = "silver";  // noise, so trees keep splitting
    std::string size_text = i % 11 == 0 ? "" : std::to_string(size);
    csv += fmt::format("{},{},{},{}\n", size_text, rng() % 2 ? "red" : "blue", rng() % 100 / 10.0, medal);
  }
  return csv;
}

// A positive numeric target: price = 2.5 x + kind offset + noise.
inline std::string PriceCsv(int rows) {
  std::string csv = "x,kind,age,price\n";
  std::mt19937 rng(3);
  for (int i = 0; i < rows; ++i) {
    int x = static_cast<int>(rng() % 40);
    bool a = rng() % 2;
    std::string age = i % 5 == 0 ? "" : std::to_string(rng() % 80);
    csv += fmt::format("{},{},{},{}\n", x, a ? "a" : "b", age, x * 2.5 + (a ? 3.0 : 0.25) + (rng() % 100) / 100.0);
  }
  return csv;
}

// `columns` numeric features (every 9th value missing) and a binary label
// that depends on all of them, so trees split on every column.
inline std::string WideCsv(int rows, int columns) {
  std::string csv;
  for (int c = 0; c < columns; ++c) csv += fmt::format("f{},", c);
  csv += "label\n";
  std::mt19937 rng(4);
  for (int i = 0; i < rows; ++i) {
    int score = 0;
    for (int c = 0; c < columns; ++c) {
      const int v = static_cast<int>(rng() % 100);
      score += (c % 2 ? v : 100 - v) * (c + 1);
      csv += (i + c) % 9 == 0 ? std::string(",") : fmt::format("{},", v);
    }
    const int noise = static_cast<int>(rng() % 1000);
    csv += fmt::format("{}\n", score + noise > 50 * columns * (columns + 1) / 2 + 500 ? 1 : 0);
  }
  return csv;
}

// The smallest valid pair: binary:logistic on two numeric features, one
// tree splitting feature 0 at 0.5 with leaves -leaf / +leaf.
inline std::string TinyModelJson(float leaf = 0.5f) {
  return fmt::format(
      R"({{"learner":{{"attributes":{{}},"feature_names":[],"feature_types":[],"gradient_booster":{{"model":{{)"
      R"("gbtree_model_param":{{"num_parallel_tree":"1","num_trees":"1","size_leaf_vector":"0"}},"tree_info":[0],)"
      R"("trees":[{{"base_weights":[0,{0},{1}],"categories":[],"categories_nodes":[],"categories_segments":[],)"
      R"("categories_sizes":[],"default_left":[0,0,0],"id":0,"left_children":[1,-1,-1],"loss_changes":[1,0,0],)"
      R"("parents":[2147483647,0,0],"right_children":[2,-1,-1],"split_conditions":[0.5,{0},{1}],)"
      R"("split_indices":[0,0,0],"split_type":[0,0,0],"sum_hessian":[10,5,5],"tree_param":{{"num_deleted":"0",)"
      R"("num_feature":"2","num_nodes":"3","size_leaf_vector":"0"}}}}]}},"name":"gbtree"}},)"
      R"("learner_model_param":{{"base_score":"5E-1","boost_from_average":"1","num_class":"0","num_feature":"2",)"
      R"("num_target":"1"}},"objective":{{"name":"binary:logistic","reg_loss_param":{{"scale_pos_weight":"1"}}}}}},)"
      R"("version":[1,7,4]}})",
      -leaf, leaf);
}

inline std::string TinyPreprocessorJson() {
  return R"({"format":"modelbay-preprocessor","format_version":1,"target":"churn","task":"binary",)"
         R"("class_labels":["0","1"],"labels_numeric":true,"features":[{"name":"a","type":"numeric","min":0,"max":1},)"
         R"({"name":"b","type":"numeric","min":0,"max":1}]})";
}

}  // namespace modelbay::fixtures
