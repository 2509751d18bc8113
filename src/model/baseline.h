// The baseline of a version (baseline.json): what its training data and its
// model's output looked like, so that live traffic can be compared with it
// (src/monitor, docs/monitoring.md).
//
//   numeric feature      count, missing, min, max, mean, and a histogram over
//                        the quantile edges of its values (kBaselineBins
//                        bins; repeated edges merged, so a column with few
//                        distinct values has fewer bins)
//   categorical feature  count, missing, the kBaselineMaxCategories most
//                        frequent categories with their counts, and `rare`:
//                        the rows holding any other category of the
//                        preprocessor's vocabulary
//   output               the score (binary: P(second class); multi-class:
//                        the highest probability; regression: the
//                        predicted value) as a numeric histogram, and the
//                        count of each predicted class label (classifiers)
//
// A value falls in bin i of edges e[0..n] when e[i] <= v < e[i+1], with
// values below e[1] in bin 0 and values at or above e[n-1] in the last bin:
// numpy's searchsorted(e[1:-1], v, side="right").
//
// baseline.json is read from a store: untrusted. ParseBaseline refuses
// anything malformed, inconsistent with the model's schema, non-finite,
// oversized or with edges that do not increase, with a message naming the
// field; it never throws.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "model/loaded_model.h"
#include "model/preprocessor.h"
#include "model/schema.h"

namespace modelbay {

inline constexpr int kBaselineFormatVersion = 1;
inline constexpr size_t kBaselineBins = 10;
inline constexpr size_t kBaselineMaxCategories = 50;
// Limits on what ParseBaseline accepts (hostile sizes).
inline constexpr size_t kBaselineMaxBytes = 16 << 20;
inline constexpr size_t kBaselineMaxEdges = 1001;
inline constexpr size_t kBaselineMaxCategoryBytes = 4096;

struct NumericHistogram {
  std::vector<double> edges;     // strictly increasing; at least one
  std::vector<uint64_t> counts;  // max(1, edges.size() - 1) bins
  size_t bins() const { return counts.size(); }
  size_t Bin(double v) const;
};

struct NumericSummary {
  uint64_t count = 0;    // values that are present
  double min = 0, max = 0, mean = 0;
  NumericHistogram histogram;
};

struct FeatureBaseline {
  std::string name;
  FeatureType type = FeatureType::kNumeric;
  uint64_t rows = 0;     // rows looked at, missing ones included
  uint64_t missing = 0;
  NumericSummary numeric;  // numeric features
  // Categorical features: the most frequent categories (count descending,
  // then name), and the rows holding any other category of the vocabulary.
  std::vector<std::pair<std::string, uint64_t>> categories;
  uint64_t rare = 0;
};

struct OutputBaseline {
  uint64_t rows = 0;
  std::string score;  // "probability" | "max_probability" | "value"
  NumericSummary scores;
  std::vector<std::pair<std::string, uint64_t>> labels;  // classifiers, class order
};

struct Baseline {
  std::string scope;  // which rows it describes, in words
  std::vector<FeatureBaseline> features;  // schema order
  OutputBaseline output;
};

// What a loaded version knows of its baseline.
struct BaselineState {
  enum class Kind { kMissing, kInvalid, kOk };
  Kind kind = Kind::kMissing;
  std::string problem;  // kInvalid: why
  std::shared_ptr<const Baseline> baseline;  // kOk
  std::string_view KindName() const;  // "missing" | "invalid" | "ok"
};

// The score of row r that the output histogram counts (see above). The
// probability is taken as the float the model returned, so a value logged
// and read back gives the same score.
double OutputScore(const Predictions& predictions, size_t row);

// Numeric quantile with linear interpolation (numpy's default) of sorted
// values (only the two ranks it reads need to be in place); `sorted` must
// not be empty.
double Quantile(std::span<const double> sorted, double q);
// Summary and histogram (kBaselineBins quantile bins) of present values.
NumericSummary SummarizeNumeric(std::vector<double> values);

// The baseline of `rows` of `columns` (the training data, one text column
// per feature) and of the model's predictions for those same rows
// (predictions.rows == rows.size()).
Baseline ComputeBaseline(const Preprocessor& pre, const TextColumns& columns, std::span<const uint32_t> rows,
                         const Predictions& predictions, std::string scope);
// Its two halves, for a caller that no longer holds the text when it has
// the predictions (training frees the table before boosting).
std::vector<FeatureBaseline> ComputeFeatureBaselines(const Preprocessor& pre, const TextColumns& columns,
                                                     std::span<const uint32_t> rows);
OutputBaseline ComputeOutputBaseline(const Schema& schema, const Predictions& predictions);
// The same from each row's OutputScore and, for classifiers, its predicted
// class index (Predictions::values): what a distributed training gathers.
OutputBaseline ComputeOutputBaseline(const Schema& schema, std::vector<double> scores,
                                     std::span<const double> labels);

// A distributed training's input baseline covers every worker's rows:
//   1. each worker sketches its numeric values (SketchFeatures: its values
//      at kSketchPoints evenly spaced quantiles, all of them when it has no
//      more), the sketches go to every worker, and EdgesFromSketches turns
//      them into the bin edges: exact when every worker sent all its values,
//      otherwise within about 1/kSketchPoints of the true quantile's rank;
//   2. each worker tallies its rows over those edges (TallyFeatures), the
//      tallies are added up (AddTally, or the collective sums the same
//      fields) and FinishFeatures turns the total into the baseline.
// Counts, missing, min, max, mean, histogram counts and categories are
// exact; the mean is summed in another order than one process would.
inline constexpr size_t kSketchPoints = 2049;
struct QuantileSketch {
  uint64_t count = 0;          // present values the sketch describes
  std::vector<double> points;  // ascending; empty when count is 0
};
// The sketch of one worker's present values of a feature.
QuantileSketch SketchValues(std::vector<double> values);
// One per feature, in schema order (empty for categorical features).
std::vector<QuantileSketch> SketchFeatures(const Preprocessor& pre, const TextColumns& columns,
                                           std::span<const uint32_t> rows);
// The histogram edges (as SummarizeNumeric makes them) of the union of the
// values the sketches describe.
std::vector<double> EdgesFromSketches(std::span<const QuantileSketch> sketches);
struct FeatureTally {
  uint64_t rows = 0;
  uint64_t missing = 0;
  // Numeric features.
  uint64_t count = 0;
  double sum = 0;
  double min = HUGE_VAL;   // +inf while no value was seen
  double max = -HUGE_VAL;
  std::vector<uint64_t> bins;  // over the edges the tally was made with
  // Categorical features: rows per vocabulary entry (preprocessor order).
  std::vector<uint64_t> categories;
};
std::vector<FeatureTally> TallyFeatures(const Preprocessor& pre, const TextColumns& columns,
                                        std::span<const uint32_t> rows, const std::vector<FeatureBaseline>& edges_from);
// Adds `other` (tallied over the same edges) into `total`.
void AddTally(std::vector<FeatureTally>& total, const std::vector<FeatureTally>& other);
std::vector<FeatureBaseline> FinishFeatures(const Preprocessor& pre, const std::vector<FeatureTally>& total,
                                            const std::vector<FeatureBaseline>& edges_from);

std::string BaselineToJson(const Baseline& baseline);
// Strict; InvalidArgument naming `source` and the field. The schema is the
// version's: feature names, order and types must match it.
Result<Baseline> ParseBaseline(std::string_view text, const Preprocessor& pre, std::string_view source);

}  // namespace modelbay
