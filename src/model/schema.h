// The model's schema: its feature columns in order, their types, the target
// and the task. Inferred at training time and stored in preprocessor.json.
#pragma once

#include <string>
#include <vector>

namespace modelbay {

enum class FeatureType { kNumeric, kCategorical };
enum class TaskType { kBinary, kMulticlass, kRegression };

struct Feature {
  std::string name;
  FeatureType type = FeatureType::kNumeric;
};

struct Schema {
  std::vector<Feature> features;  // in the model's column order
  std::string target;
  TaskType task = TaskType::kBinary;
  // Classifiers: the target's labels in class-index order, as written in the
  // training CSV (e.g. {"0","1"} or {"gold","silver","bronze"}).
  std::vector<std::string> class_labels;
  // True when every label parses as a number: predictions are then JSON
  // numbers, else strings.
  bool labels_numeric = true;

  bool is_classifier() const { return task != TaskType::kRegression; }
};

}  // namespace modelbay
