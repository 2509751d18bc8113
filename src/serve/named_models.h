// The named models a server serves besides the unnamed one (registry/
// model_name.h has the layout). Each named model gets what the unnamed model
// gets from `modelbay serve`: a registry on its folder of the model store, a
// ModelCache with its own refresher, a prediction log spooled in
// <spool>/models/<name>/ and shipped to models/<name>/ of the results store,
// (when results_refresh > 0) a refresher keeping its results_<N>.csv
// current, and (with `feedback`) its feedback log and join. A model is opened on first use (or at Start, for those already in
// the store), once, and stays open until Close.
//
// Ownership: owns every named model's parts; the stores and `metrics` are
// shared with the rest of the server and must outlive this object.
// Thread-safety: Get, Names and Close may be called from any thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "monitor/feedback.h"
#include "registry/registry.h"
#include "results/prediction_log.h"
#include "results/results_file.h"
#include "serve/metrics.h"
#include "serve/model_cache.h"
#include "store/store.h"

namespace modelbay::serve {

// What a request is scored and logged with: the unnamed model's cache and
// log, or a named model's. Pointers stay valid until the server stops.
struct ModelTarget {
  std::string name;              // "" = the unnamed model
  ModelCache* cache = nullptr;
  results::PredictionLog* log = nullptr;  // may be null only in tests
  // The model's feedback log and join (monitor/feedback.h); null when the
  // server records no feedback.
  results::RowLog* feedback_log = nullptr;
  monitor::FeedbackJoin* feedback_join = nullptr;
};

struct NamedModelsOptions {
  std::shared_ptr<Store> models;   // the whole model store
  std::shared_ptr<Store> results;  // the whole results store
  results::PredictionLogOptions log;        // spool_dir is the server's; each model uses <spool_dir>/models/<name>
  std::chrono::milliseconds alias_refresh{5000};
  std::chrono::milliseconds results_refresh{0};  // 0: no results_<N>.csv refresher
  results::ResultsFileOptions results_file;
  size_t max_models = 256;  // open named models at most (ResourceExhausted beyond)
  // Each model also gets a feedback log (spooled in <spool_dir>/models/<name>/feedback,
  // shipped to models/<name>/feedback/) and a join with these options (its `model` set per model).
  bool feedback = false;
  monitor::FeedbackJoinOptions feedback_join;
};

class NamedModels {
 public:
  NamedModels(NamedModelsOptions options, Metrics& metrics);
  ~NamedModels();  // Close()
  NamedModels(const NamedModels&) = delete;
  NamedModels& operator=(const NamedModels&) = delete;

  // Opens every named model that has a version in the store now (a failure
  // to list is logged: models still open on first use).
  void Start();
  // The model `name` (non-empty, checked by ParseModelName), opened on first
  // use. NotFound when the model store holds no committed version of it;
  // Unavailable when the store cannot be read; ResourceExhausted past
  // max_models.
  Result<ModelTarget> Get(const std::string& name);
  // The named models open now and those with a version in the store, sorted;
  // open ones only when the store cannot be listed.
  std::vector<std::string> Names();
  // The named models open now (no store I/O), by name.
  std::vector<ModelTarget> OpenTargets();
  // Stops every cache, ships and closes every log, runs the results files'
  // final pass. The first log error, if any (the rest are logged).
  Status Close();

 private:
  struct Entry {
    std::shared_ptr<Registry> registry;
    std::unique_ptr<ModelCache> cache;
    std::unique_ptr<results::PredictionLog> log;
    std::unique_ptr<results::ResultsFileRefresher> refresher;
    std::unique_ptr<results::RowLog> feedback_log;        // null without options.feedback
    std::unique_ptr<monitor::FeedbackJoin> feedback_join;  // null without options.feedback
    std::filesystem::path spool;
    ModelTarget Target(const std::string& name) const;
  };
  Result<std::unique_ptr<Entry>> Open(const std::string& name);

  NamedModelsOptions options_;
  Metrics& metrics_;
  std::mutex open_mu_;  // one model opens at a time (taken before mu_, never while holding it)
  std::mutex mu_;       // never held during store I/O
  std::map<std::string, std::unique_ptr<Entry>> entries_;  // guarded by mu_
  bool closed_ = false;                                    // guarded by mu_
};

}  // namespace modelbay::serve
