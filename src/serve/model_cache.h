// Loaded models by version, and the alias table, for the inference service.
//
// Everything a request needs is in one immutable View, swapped atomically:
// a request takes the current View once and keeps its models alive
// (shared_ptr), so a swap never disturbs a request in flight. A background
// thread re-reads versions and aliases every `refresh` interval, loads and
// verifies any model an alias (or the default) now points to, and only then
// publishes the new View. A failed load or an unreachable store keeps the
// old View serving. A version is downloaded at most once per process, even
// when many requests ask for it at the same time.
//
// Ownership: shares `registry` (and through it the model store) with its
// creator; `metrics` is borrowed and must outlive the cache. The models it
// hands out are shared_ptrs: they stay valid after the cache is gone.
// Lifetime: Start() starts the refresher thread; Stop() (also run by the
// destructor) joins it. Start and Stop are called by the owner, once each,
// not concurrently with each other.
// Thread-safety: Get, Metadata, Resolve, view and Refresh may be called from
// any number of threads at once (the server's io threads, the refresher).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/loaded_model.h"
#include "registry/registry.h"
#include "serve/metrics.h"

namespace modelbay::serve {

using ModelPtr = std::shared_ptr<const LoadedModel>;

struct ModelView {
  std::vector<int> versions;            // committed, ascending (archived ones included)
  std::vector<int> archived;            // archived among them, ascending
  int latest_version = 0;               // highest committed version not archived
  std::map<int, VersionState> states;   // tags, descriptions, archived (as of the last refresh)
  std::map<std::string, int> aliases;   // named aliases (not "latest")
  // Aliases that cannot be served (damaged file, or pointing at a version
  // that is not committed) -> why; answered 503 with that message.
  std::map<std::string, std::string> alias_problems;
  int default_version = 0;              // production, else latest; 0 = none
  bool refreshed = false;               // the store was read at least once
  bool store_ok = false;                // the last refresh succeeded
  std::string store_error;              // why not, when !store_ok
  std::map<int, ModelPtr> models;       // loaded versions
  int latest() const { return latest_version; }
};

class ModelCache {
 public:
  ModelCache(std::shared_ptr<Registry> registry, Metrics& metrics,
             std::chrono::milliseconds refresh);
  ~ModelCache();
  ModelCache(const ModelCache&) = delete;
  ModelCache& operator=(const ModelCache&) = delete;

  // One refresh now (its failure is not fatal: the store may come later),
  // then the background refresher.
  void Start();
  void Stop();

  // The model for a request's model_version (nullopt = the default).
  // InvalidArgument (400) for a malformed spec (ParseVersionSpec: "01",
  // "1.0", "../1"); NotFound (404) for an unknown version or alias;
  // FailedPrecondition (503) when there is no model yet or the alias is
  // damaged or dangling; Unavailable (503) when the store cannot be read
  // and the model is not cached.
  Result<ModelPtr> Get(const std::optional<std::string>& spec);
  // Metadata of a version/alias, from memory when loaded, else the store,
  // with its housekeeping state ("archived", "tags", "description") as of
  // the last refresh.
  Result<nlohmann::json> Metadata(std::string_view spec);
  // The version a spec names, from the current View (no store access).
  Result<int> Resolve(const ModelView& view, std::string_view spec) const;

  std::shared_ptr<const ModelView> view() const { return view_.load(); }
  // One refresh tick: re-read versions and aliases, load what they point to,
  // publish. Returns the store error, if any.
  Status Refresh();

 private:
  Result<ModelPtr> Load(int version);
  Result<ModelPtr> LoadUncached(int version);
  void Publish(std::shared_ptr<ModelView> next);
  void Run();
  // Logs `problem` for `subject` only when it differs from the last one
  // logged ("" = fixed). Called with refresh_mu_ held.
  void ReportOnce(const std::string& subject, const std::string& problem);

  std::shared_ptr<Registry> registry_;  // guarded by registry_mu_ (calls through it)
  Metrics& metrics_;
  const std::chrono::milliseconds refresh_;
  // Read without a lock (atomic); stored only with mu_ held, so that a
  // publisher's copy-modify-store never loses another's change.
  std::atomic<std::shared_ptr<const ModelView>> view_;

  // Order: refresh_mu_, then registry_mu_ or mu_ (never both at once).
  // registry_mu_: one registry call at a time. A Registry would allow more;
  // this keeps a burst of misses for different versions to one download at
  // a time (Load already makes one download per version).
  std::mutex registry_mu_;
  std::mutex mu_;  // guards loading_ and every store to view_
  std::map<int, std::shared_future<Result<ModelPtr>>> loading_;  // guarded by mu_
  std::mutex refresh_mu_;  // one refresh at a time
  std::map<std::string, std::string> reported_;  // guarded by refresh_mu_; subject -> problem last logged

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

}  // namespace modelbay::serve
