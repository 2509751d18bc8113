#include "serve/named_models.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "registry/model_name.h"

namespace modelbay::serve {

NamedModels::NamedModels(NamedModelsOptions options, Metrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {}

NamedModels::~NamedModels() { (void)Close(); }

void NamedModels::Start() {
  auto names = ListNamedModels(*options_.models);
  if (!names.ok()) {
    spdlog::warn("named models: cannot list {}: {}; each opens on its first request",
                 options_.models->Describe(), names.status().message());
    return;
  }
  for (const std::string& name : *names) {
    if (auto target = Get(name); !target.ok()) {
      spdlog::warn("named model '{}': {}", name, target.status().message());
    }
  }
}

Result<std::unique_ptr<NamedModels::Entry>> NamedModels::Open(const std::string& name) {
  auto entry = std::make_unique<Entry>();
  entry->registry = std::make_shared<Registry>(ModelScope(options_.models, name));
  // Step 1: it exists. A valid name nobody trained is 404, and opens nothing.
  MB_ASSIGN_OR_RETURN(std::vector<int> versions, entry->registry->ListVersions());
  if (versions.empty()) {
    return NotFound(fmt::format("no model named '{}' in the model store: train it with `modelbay train --model {}` "
                                "(GET /models lists the models)", name, name));
  }
  // Step 2: its prediction log, in its own spool and its own folder of the results store.
  std::shared_ptr<Store> results = ModelScope(options_.results, name);
  results::PredictionLogOptions log_options = options_.log;
  log_options.spool_dir = options_.log.spool_dir / kNamedModelsFolder / name;
  entry->spool = log_options.spool_dir;
  MB_ASSIGN_OR_RETURN(entry->log, results::PredictionLog::Open(log_options, results));
  // Step 3: its results_<N>.csv refresher (its model cache last, below).
  if (options_.results_refresh.count() > 0) {
    entry->refresher = std::make_unique<results::ResultsFileRefresher>(
        results, options_.results_refresh, options_.results_file,
        [this](const results::UpdateReport& r) {
          if (r.rows_added > 0 || r.rebuilt || r.recovered) metrics_.ResultsFileUpdated(r.rows_added, r.bytes_read);
        },
        [this] { metrics_.ResultsFileFailed(); });
    entry->refresher->Start();
  }
  // Step 4: its feedback log and join, beside its prediction log (monitor/feedback.h).
  if (options_.feedback) {
    MB_ASSIGN_OR_RETURN(entry->feedback_log, monitor::OpenFeedbackLog(log_options, results));
    monitor::FeedbackJoinOptions join = options_.feedback_join;
    join.model = name;
    entry->feedback_join = std::make_unique<monitor::FeedbackJoin>(results, std::move(join));
  }
  entry->cache = std::make_unique<ModelCache>(entry->registry, metrics_, options_.alias_refresh);
  entry->cache->Start();
  spdlog::info("named model '{}': versions in {}, prediction log spooled in {}", name,
               entry->registry->store().Describe(), log_options.spool_dir.string());
  return entry;
}

ModelTarget NamedModels::Entry::Target(const std::string& name) const {
  return ModelTarget{name, cache.get(), log.get(), feedback_log.get(), feedback_join.get()};
}

Result<ModelTarget> NamedModels::Get(const std::string& name) {
  auto find = [&]() -> std::optional<ModelTarget> {
    std::lock_guard lock(mu_);
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    return it->second->Target(name);
  };
  if (auto found = find()) return *found;  // the common case: no wait on any store
  // Opening reads the store: one at a time, without blocking lookups of open models.
  std::lock_guard opening(open_mu_);
  if (auto found = find()) return *found;  // opened while this thread waited
  {
    std::lock_guard lock(mu_);
    if (closed_) return Unavailable("the server is stopping");
    if (entries_.size() >= options_.max_models) {
      return ResourceExhausted(fmt::format("this server has {} named models open, its limit; model '{}' is not "
                                           "served", entries_.size(), name));
    }
  }
  MB_ASSIGN_OR_RETURN(auto entry, Open(name));
  ModelTarget target = entry->Target(name);
  std::lock_guard lock(mu_);
  entries_.emplace(name, std::move(entry));
  return target;
}

std::vector<std::string> NamedModels::Names() {
  std::vector<std::string> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, entry] : entries_) out.push_back(name);
  }
  if (auto listed = ListNamedModels(*options_.models); listed.ok()) {
    out.insert(out.end(), listed->begin(), listed->end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<ModelTarget> NamedModels::OpenTargets() {
  std::lock_guard lock(mu_);
  std::vector<ModelTarget> out;
  for (const auto& [name, entry] : entries_) out.push_back(entry->Target(name));
  return out;
}

Status NamedModels::Close() {
  std::map<std::string, std::unique_ptr<Entry>> entries;
  {
    std::lock_guard opening(open_mu_);
    std::lock_guard lock(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    entries.swap(entries_);
  }
  Status first;
  for (auto& [name, e] : entries) {
    e->cache->Stop();
    Status closed = e->log->Close();
    if (e->refresher) e->refresher->Stop(/*final_pass=*/closed.ok());
    if (e->feedback_log) {
      Status fb = e->feedback_log->Close();
      if (closed.ok()) closed = fb;
    }
    if (!closed.ok()) {
      closed = closed.WithContext(fmt::format("model '{}': the prediction log (or its feedback) was not fully shipped; it stays in {} "
                                              "and ships on the next start", name, e->spool.string()));
      spdlog::error("{}", closed.message());
      if (first.ok()) first = closed;
    }
  }
  return first;
}

}  // namespace modelbay::serve
