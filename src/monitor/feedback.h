// Ground truth (issue 11 §3): true labels sent back for logged predictions,
// and the live metrics of a version over the rows that have one.
//
// Recording: a feedback record is one CSV row of the feedback log,
//   timestamp,request_id,row,label
// written through the prediction log's spool/group-commit/shipper
// (results/row_log.h) under its own spool root, <spool>/feedback, and shipped
// to the results store as immutable objects
//   feedback/<writer_id>/<run>-<first_seq>-<last_seq>.csv
// (FeedbackLogOptions). Acknowledged (POST /feedback 200, `modelbay feedback`
// exit 0) means durable in the spool, as for predictions.
//
// Joining: a logged prediction row is named by (request_id, row), row being
// its position among the rows of its request (0 for a single-row request and
// for batch rows, whose request id already names the row). Feedback for the
// same (request_id, row) sent twice: the later record (timestamp, then object
// key) counts. A logged row whose key was logged before (a client reusing an
// X-Request-Id) keeps the first.
//
// Everything here is computed from the shipped objects in the results store:
// the server and `modelbay monitor --feedback` call the same FeedbackJoin and
// agree exactly. Rows still in a spool (at most about one ship interval) are
// not seen yet; feedback whose prediction is not shipped yet counts as
// unknown until it is.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/loaded_model.h"
#include "model/schema.h"
#include "results/prediction_log.h"
#include "results/row_log.h"
#include "store/store.h"

namespace modelbay::monitor {

// The key prefix of shipped feedback objects in the results store, and the
// folder under the spool dir that holds the feedback log's own spool root.
inline constexpr std::string_view kFeedbackKeyPrefix = "feedback";
inline constexpr std::string_view kFeedbackSpoolFolder = "feedback";
// The feedback log's spool keeps its rows as "version 1" (one stream; the
// shipped keys carry no version).
inline constexpr int kFeedbackStream = 1;

// Opens the feedback log beside a prediction log configured by `base`: its
// own spool root <base.spool_dir>/feedback (so neither log adopts the
// other's writer dirs), the same fsync policy and ship interval, shipping
// under feedback/. The writer id is base's with "-feedback" appended when set.
Result<std::unique_ptr<results::RowLog>> OpenFeedbackLog(const results::PredictionLogOptions& base,
                                                         std::shared_ptr<Store> results);

struct FeedbackRecord {
  std::string request_id;
  uint64_t row = 0;
  std::string label;  // as text: a class label, or a number for regression
};

// The feedback log's header line (ends in '\n') and the CSV lines of
// `records`, all stamped `timestamp`.
std::string FeedbackHeaderLine();
std::string FormatFeedback(const std::vector<FeedbackRecord>& records, std::chrono::system_clock::time_point timestamp);

// The body of POST /feedback: one object {"request_id", "label", "row"?} or a
// list of them (at most `max_records`). `schema` is the model the labels are
// checked against (a class of a classifier, a finite number for a
// regression). InvalidArgument naming the field ("[2].label") and how to fix
// it; never anything else.
Result<std::vector<FeedbackRecord>> ParseFeedbackJson(std::string_view body, const Schema& schema,
                                                      size_t max_records);
// The CSV of `modelbay feedback FILE`: columns request_id,label[,row] (a
// header naming them, in any order). InvalidArgument naming file, line and
// column.
Result<std::vector<FeedbackRecord>> ReadFeedbackCsv(const std::filesystem::path& file, const Schema& schema);

// A version's live metrics over the rows that have feedback. A plain value:
// the dashboard and /metrics render it as they like.
struct FeedbackMetrics {
  std::string model = "default";  // the model's display name
  int version = 0;
  std::string task;              // "binary", "multiclass" or "regression"
  uint64_t logged_rows = 0;      // this version's shipped prediction rows (in the join's window)
  uint64_t labelled_rows = 0;    // of these, rows with feedback (the metrics' count)
  uint64_t feedback_keys = 0;    // distinct (request_id, row) with feedback, every version (in the window)
  uint64_t unknown = 0;          // of these, keys matching no shipped row of any version in the window
  std::vector<std::string> unknown_examples;  // up to 5, sorted
  // The join's window (FeedbackJoinOptions) and what left it, every version.
  uint64_t max_logged_rows = 0;
  uint64_t max_labels = 0;
  uint64_t evicted_logged_rows = 0;  // logged rows dropped, oldest object first
  uint64_t evicted_labels = 0;       // labels dropped, oldest first
  // nullopt when undefined: no labelled row, AUC with one class only or a
  // multi-class model, the classification figures on a regression.
  std::optional<double> auc;       // binary: probability of class_labels[1]
  std::optional<double> accuracy;  // predicted label == true label
  std::optional<double> log_loss;  // natural log; probabilities normalised to sum 1, clipped to [eps, 1-eps]
  std::optional<double> rmse;      // regression
  std::string positive_class;      // binary
};

nlohmann::json FeedbackJson(const FeedbackMetrics& m);
// Prometheus gauges (modelbay_feedback_*) of every (model, version) in
// `metrics`; the per-model gauges (unknown ids, evictions) once per model.
std::string FeedbackPrometheus(const std::vector<FeedbackMetrics>& metrics);

inline constexpr uint64_t kDefaultFeedbackMaxLoggedRows = 2'000'000;
inline constexpr uint64_t kDefaultFeedbackMaxLabels = 1'000'000;

struct FeedbackJoinOptions {
  std::string model = "default";  // the display name put in FeedbackMetrics::model
  // The window: at most this many logged rows (every version together) and
  // labels are kept; past either, the oldest are dropped (logged rows a whole
  // shipped object at a time, in the order the objects were read; labels in
  // the order they first arrived) and counted in FeedbackMetrics::evicted_*.
  // A label whose row was dropped counts as unknown from then on. About 100
  // bytes per logged row plus 8 per class, and 100 per label: the defaults
  // bound the join to roughly 300 MB.
  uint64_t max_logged_rows = kDefaultFeedbackMaxLoggedRows;
  uint64_t max_labels = kDefaultFeedbackMaxLabels;
  // Compute lists the store at most once per this period (0: on every call);
  // in between it answers from what it has read.
  std::chrono::milliseconds min_refresh{0};
};

// The join of one model's prediction log and feedback (`results` is that
// model's scope of the results store: logs/v<N>/ and feedback/ under it),
// kept current incrementally: shipped objects never change, so each is read
// once and its rows kept, within the window of FeedbackJoinOptions. The
// figures of a version are cached until a new object is read (so /metrics
// scrapes with no new feedback or predictions redo no join).
// Thread-safe: Compute serialises on an internal mutex.
class FeedbackJoin {
 public:
  explicit FeedbackJoin(std::shared_ptr<Store> results, FeedbackJoinOptions options = {})
      : results_(std::move(results)), options_(std::move(options)) {}

  // Reads the prediction-log and feedback objects shipped since the last
  // listing (at most once per min_refresh), then the metrics of `model`'s
  // version (cached while nothing new was read). Unavailable when the store
  // cannot be listed or read; DataLoss naming the object when one cannot be
  // parsed.
  Result<FeedbackMetrics> Compute(const LoadedModel& model);
  // How many times Compute computed the figures (not answered from the cache).
  uint64_t computations() const;

 private:
  struct Logged {
    std::string predicted;
    std::vector<double> probabilities;  // in the order of Version::prob_labels
  };
  struct Version {
    std::vector<std::string> prob_labels;  // from prob_<label> columns
    std::unordered_map<std::string, Logged> rows;  // key: request_id '\n' row
  };
  struct Label {
    std::string timestamp;
    std::string object;
    std::string label;
  };
  // The rows one object added (pointers to their keys in Version::rows), for eviction.
  struct ObjectRows {
    int version = 0;
    std::vector<const std::string*> keys;
  };
  Status Refresh();
  Status ReadLogObject(int version, const std::string& key);
  Status ReadFeedbackObject(const std::string& key);
  // Drops the oldest objects' rows and the oldest labels past the window.
  void Evict();
  FeedbackMetrics Join(const LoadedModel& model) const;

  const std::shared_ptr<Store> results_;
  const FeedbackJoinOptions options_;
  mutable std::mutex mu_;
  std::set<std::string> seen_;              // guarded by mu_: objects already read
  std::map<int, Version> versions_;         // guarded by mu_
  std::unordered_map<std::string, Label> labels_;  // guarded by mu_
  std::deque<ObjectRows> objects_;          // guarded by mu_: oldest first
  std::deque<const std::string*> label_order_;  // guarded by mu_: keys of labels_, oldest first
  uint64_t kept_rows_ = 0, evicted_rows_ = 0, evicted_labels_ = 0;  // guarded by mu_
  uint64_t generation_ = 0;                 // guarded by mu_: bumped when anything new is read
  std::chrono::steady_clock::time_point last_refresh_{};  // guarded by mu_
  std::map<int, std::pair<uint64_t, FeedbackMetrics>> cache_;  // guarded by mu_: version -> (generation, figures)
  uint64_t computations_ = 0;               // guarded by mu_
};

}  // namespace modelbay::monitor
