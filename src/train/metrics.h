// Holdout metrics (pure functions). Undefined values (AUC with one class in
// the holdout, R² of a constant target) are NaN and recorded as null.
#pragma once

#include <cstddef>
#include <span>

#include <nlohmann/json.hpp>

namespace modelbay {

// ROC AUC of `scores` for `positive` (Mann-Whitney U, ties count half).
double RocAuc(std::span<const float> scores, std::span<const bool> positive);

// labels: class indices; probabilities: rows x k, row-major (k >= 2).
// {"accuracy", "roc_auc", "log_loss", "f1"}: AUC and F1 of class 1 when k == 2,
// else macro averages (one-vs-rest AUC over classes present in the holdout;
// F1 over classes that are true or predicted at least once).
nlohmann::json ClassifierMetrics(std::span<const float> labels, std::span<const float> probabilities, size_t k);
// {"rmse", "mae", "r2"}
nlohmann::json RegressorMetrics(std::span<const float> labels, std::span<const float> predictions);

// The metric the promotion gate compares, by task: "roc_auc" (binary),
// "log_loss" (multi-class), "rmse" (regression).
struct GateMetric {
  const char* name;
  bool higher_is_better;
};
GateMetric GateMetricFor(size_t num_classes);

// NaN -> null, else the number.
nlohmann::json MetricValue(double v);

}  // namespace modelbay
