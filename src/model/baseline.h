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

std::string BaselineToJson(const Baseline& baseline);
// Strict; InvalidArgument naming `source` and the field. The schema is the
// version's: feature names, order and types must match it.
Result<Baseline> ParseBaseline(std::string_view text, const Preprocessor& pre, std::string_view source);

}  // namespace modelbay
