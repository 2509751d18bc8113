// The schema of the sample data's churn model (Country-like categorical
// "plan", numeric "calls" and "months"), shared by the serve unit tests.
#pragma once

#include <string>
#include <vector>

#include "model/schema.h"

namespace modelbay::serve {

inline Schema ChurnSchema(std::vector<std::string> labels = {"0", "1"}, bool labels_numeric = true) {
  Schema s;
  s.features = {{"plan", FeatureType::kCategorical}, {"calls", FeatureType::kNumeric},
                {"months", FeatureType::kNumeric}};
  s.target = "churn";
  s.task = TaskType::kBinary;
  s.class_labels = std::move(labels);
  s.labels_numeric = labels_numeric;
  return s;
}

}  // namespace modelbay::serve
