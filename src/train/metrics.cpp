#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

namespace modelbay {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

size_t ArgMax(const float* row, size_t k) { return std::max_element(row, row + k) - row; }

// F1 of class c: 2TP / (2TP + FP + FN); NaN when c is neither true nor predicted.
double F1(std::span<const float> labels, const std::vector<size_t>& predicted, size_t c) {
  size_t tp = 0, fp = 0, fn = 0;
  for (size_t r = 0; r < labels.size(); ++r) {
    bool truth = static_cast<size_t>(labels[r]) == c;
    bool pred = predicted[r] == c;
    tp += truth && pred;
    fp += !truth && pred;
    fn += truth && !pred;
  }
  if (tp + fp + fn == 0) return kNaN;
  return 2.0 * tp / (2.0 * tp + fp + fn);
}

double MeanIgnoringNaN(const std::vector<double>& v) {
  double sum = 0;
  size_t n = 0;
  for (double x : v) {
    if (!std::isnan(x)) {
      sum += x;
      ++n;
    }
  }
  return n ? sum / n : kNaN;
}

}  // namespace

nlohmann::json MetricValue(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double RocAuc(std::span<const float> scores, std::span<const bool> positive) {
  const size_t n = scores.size();
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return scores[a] < scores[b]; });
  double rank_sum = 0;  // sum of the (1-based, tie-averaged) ranks of positives
  size_t positives = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    double avg_rank = (i + 1 + j) / 2.0;
    for (size_t t = i; t < j; ++t) {
      if (positive[order[t]]) {
        rank_sum += avg_rank;
        ++positives;
      }
    }
    i = j;
  }
  size_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  double u = rank_sum - positives * (positives + 1) / 2.0;
  return u / (static_cast<double>(positives) * negatives);
}

nlohmann::json ClassifierMetrics(std::span<const float> labels, std::span<const float> probabilities, size_t k) {
  const size_t n = labels.size();
  std::vector<size_t> predicted(n);
  size_t correct = 0;
  double log_loss = 0;
  for (size_t r = 0; r < n; ++r) {
    const float* row = probabilities.data() + r * k;
    predicted[r] = ArgMax(row, k);
    size_t truth = static_cast<size_t>(labels[r]);
    correct += predicted[r] == truth;
    log_loss -= std::log(std::clamp(static_cast<double>(row[truth]), 1e-15, 1.0 - 1e-15));
  }
  std::vector<double> aucs, f1s;
  std::vector<float> scores(n);
  std::unique_ptr<bool[]> positive(new bool[n]);
  for (size_t c = (k == 2 ? 1 : 0); c < k; ++c) {
    for (size_t r = 0; r < n; ++r) {
      scores[r] = probabilities[r * k + c];
      positive[r] = static_cast<size_t>(labels[r]) == c;
    }
    aucs.push_back(RocAuc(scores, std::span<const bool>(positive.get(), n)));
    f1s.push_back(F1(labels, predicted, c));
  }
  double f1 = k == 2 ? (std::isnan(f1s[0]) ? 0.0 : f1s[0]) : MeanIgnoringNaN(f1s);
  return {{"accuracy", MetricValue(n ? static_cast<double>(correct) / n : kNaN)},
          {"roc_auc", MetricValue(MeanIgnoringNaN(aucs))},
          {"log_loss", MetricValue(n ? log_loss / n : kNaN)},
          {"f1", MetricValue(f1)}};
}

nlohmann::json RegressorMetrics(std::span<const float> labels, std::span<const float> predictions) {
  const size_t n = labels.size();
  double se = 0, ae = 0, mean = 0;
  for (size_t r = 0; r < n; ++r) mean += labels[r];
  mean = n ? mean / n : kNaN;
  double total = 0;
  for (size_t r = 0; r < n; ++r) {
    double e = static_cast<double>(predictions[r]) - labels[r];
    se += e * e;
    ae += std::fabs(e);
    total += (labels[r] - mean) * (labels[r] - mean);
  }
  return {{"rmse", MetricValue(n ? std::sqrt(se / n) : kNaN)},
          {"mae", MetricValue(n ? ae / n : kNaN)},
          {"r2", MetricValue(total > 0 ? 1.0 - se / total : kNaN)}};
}

GateMetric GateMetricFor(size_t num_classes) {
  if (num_classes == 0) return {"rmse", false};
  if (num_classes == 2) return {"roc_auc", true};
  return {"log_loss", false};
}

}  // namespace modelbay
