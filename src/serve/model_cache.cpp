#include "serve/model_cache.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/thread_name.h"
#include "registry/loader.h"

namespace modelbay::serve {
namespace {

std::string Available(const ModelView& view) {
  if (view.versions.empty()) return "there are no versions yet";
  std::string s = "available versions: " + fmt::format("{}", fmt::join(view.versions, ", "));
  if (!view.aliases.empty()) {
    s += "; aliases:";
    for (const auto& [name, v] : view.aliases) s += fmt::format(" {} -> {}", name, v);
  }
  return s;
}

Status NoModelYet() {
  return FailedPrecondition(
      "no model yet: train one with `modelbay train` (or `modelbay models import`); "
      "the service picks it up within seconds");
}

// Scores one all-missing row: a loaded model must at least be able to do that.
Status Verify(const LoadedModel& model) {
  CellMatrix probe;
  probe.rows = 1;
  probe.cols = model.schema().features.size();
  probe.cells.assign(probe.cols, Cell{});
  auto p = model.Predict(probe);
  if (!p.ok()) return Internal("probe prediction failed: " + p.status().message());
  return Status::Ok();
}

}  // namespace

ModelCache::ModelCache(std::shared_ptr<Registry> registry, Metrics& metrics,
                       std::chrono::milliseconds refresh)
    : registry_(std::move(registry)), metrics_(metrics), refresh_(refresh) {
  view_.store(std::make_shared<const ModelView>());
}

ModelCache::~ModelCache() { Stop(); }

void ModelCache::Start() {
  if (Status s = Refresh(); !s.ok()) {
    spdlog::warn("model store not readable yet ({}); retrying every {} ms", s.message(),
                 refresh_.count());
  }
  thread_ = std::thread([this] {
    SetThreadName("mb-models");
    Run();
  });
}

void ModelCache::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ModelCache::Run() {
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, refresh_, [this] { return stopping_; })) {
    lock.unlock();
    Status s = Refresh();
    {
      std::lock_guard refresh_lock(refresh_mu_);
      ReportOnce("refresh", s.ok() ? "" : "model refresh: " + s.message());
    }
    lock.lock();
  }
}

void ModelCache::Publish(std::shared_ptr<ModelView> next) {
  view_.store(std::shared_ptr<const ModelView>(std::move(next)));
}

void ModelCache::ReportOnce(const std::string& subject, const std::string& problem) {
  auto it = reported_.find(subject);
  const std::string& before = it == reported_.end() ? std::string() : it->second;
  if (problem == before) return;
  if (problem.empty()) {
    spdlog::info("{}: fine again", subject);
    reported_.erase(it);
    return;
  }
  spdlog::error("{}", problem);
  reported_[subject] = problem;
}

Status ModelCache::Refresh() {
  std::lock_guard refresh_lock(refresh_mu_);
  Result<VersionListing> versions = NotFound("");
  Result<Registry::AliasTable> aliases = NotFound("");
  {
    std::lock_guard lock(registry_mu_);
    versions = registry_->Listing(/*with_state=*/true);
    metrics_.StoreReadDone(StoreRead::kList);
    if (versions.ok()) {
      aliases = registry_->Aliases();
      metrics_.StoreReadDone(StoreRead::kAliases);
    }
  }
  const Status err = !versions.ok() ? versions.status() : aliases.status();
  if (!err.ok()) {
    metrics_.StoreError();
    std::lock_guard lock(mu_);
    auto next = std::make_shared<ModelView>(*view());
    next->store_ok = false;
    next->store_error = err.message();
    Publish(std::move(next));
    return err;
  }

  const auto old = view();
  auto next = std::make_shared<ModelView>();
  next->versions = std::move(versions->versions);
  next->archived = std::move(versions->archived);
  next->latest_version = versions->latest;
  next->states = std::move(versions->states);
  next->refreshed = true;
  next->store_ok = true;
  auto known = [&](int v) {
    return std::binary_search(next->versions.begin(), next->versions.end(), v);
  };

  // Load what the aliases point to before publishing them; on a failed load
  // the alias keeps its old target.
  // Each problem is logged once when it appears, not on every refresh.
  auto ready = [&](int v) -> bool {
    if (v <= 0 || !known(v)) return false;
    auto m = Load(v);
    ReportOnce(fmt::format("version {}", v),
               m.ok() ? "" : fmt::format("version {}: {}; keeping the previous model", v, m.status().message()));
    return m.ok();
  };
  for (const auto& [name, v] : aliases->aliases) {
    if (name == kLatestAlias) continue;
    std::string problem;
    if (!known(v)) {
      problem = fmt::format("model alias \"{}\" points to version {}, which is not a complete version (still being "
                            "written, removed, or its training stopped half-way)", name, v);
    } else if (!ready(v)) {
      problem = fmt::format("model alias \"{}\" points to version {}, which cannot be loaded", name, v);
    }
    if (problem.empty()) {
      next->aliases[name] = v;
    } else {
      if (auto it = old->aliases.find(name); it != old->aliases.end()) next->aliases[name] = it->second;
      next->alias_problems[name] = problem;
    }
    ReportOnce("alias " + name, problem);
  }
  for (const auto& [name, error] : aliases->damaged) {
    next->alias_problems[name] = fmt::format("model alias \"{}\" is damaged: {}", name, error);
    ReportOnce("alias " + name, next->alias_problems[name]);
  }
  int wanted = 0;
  if (auto it = next->aliases.find(std::string(kProductionAlias)); it != next->aliases.end()) wanted = it->second;
  if (wanted == 0) wanted = next->latest();
  next->default_version = ready(wanted) ? wanted : old->default_version;
  if (next->latest() != 0 && next->latest() != wanted) (void)ready(next->latest());

  std::lock_guard lock(mu_);
  next->models = view()->models;  // includes everything loaded above
  if (next->default_version != old->default_version) {
    spdlog::info("serving model version {} by default", next->default_version);
  }
  Publish(std::move(next));
  return Status::Ok();
}

Result<ModelPtr> ModelCache::LoadUncached(int version) {
  Result<ModelPtr> model = NotFound("");
  {
    std::lock_guard lock(registry_mu_);
    model = LoadModel(*registry_, version);
    metrics_.StoreReadDone(StoreRead::kFetch);
  }
  if (model.ok()) {
    if (Status s = Verify(**model); !s.ok()) model = s;
  }
  metrics_.ModelLoaded(model.ok());
  if (!model.ok()) {
    if (model.status().code() == Code::kUnavailable) metrics_.StoreError();
    return model.status().WithContext(fmt::format("loading model version {}", version));
  }
  spdlog::info("loaded model version {}", version);
  return model;
}

Result<ModelPtr> ModelCache::Load(int version) {
  std::shared_future<Result<ModelPtr>> pending;
  std::promise<Result<ModelPtr>> promise;
  bool leader = false;
  {
    std::lock_guard lock(mu_);
    const auto v = view();
    if (auto it = v->models.find(version); it != v->models.end()) return it->second;
    if (auto it = loading_.find(version); it != loading_.end()) {
      pending = it->second;
    } else {
      pending = promise.get_future().share();
      loading_.emplace(version, pending);
      leader = true;
    }
  }
  if (!leader) return pending.get();

  Result<ModelPtr> result = LoadUncached(version);
  {
    std::lock_guard lock(mu_);
    if (result.ok()) {
      auto next = std::make_shared<ModelView>(*view());
      next->models[version] = *result;
      Publish(std::move(next));
    }
    loading_.erase(version);
  }
  promise.set_value(result);
  return result;
}

Result<int> ModelCache::Resolve(const ModelView& view, std::string_view spec) const {
  MB_ASSIGN_OR_RETURN(VersionSpec parsed, ParseVersionSpec(spec));
  if (parsed.kind == VersionSpec::Kind::kNumber) {
    const int n = parsed.number;
    // A loaded version deleted since is not served: the listing decides.
    if (view.refreshed && !std::binary_search(view.versions.begin(), view.versions.end(), n)) {
      return NotFound(fmt::format("model version {} not found; {}", spec, Available(view)));
    }
    if (view.models.count(n)) return n;
    if (!view.refreshed) {
      return Unavailable("the model store is unreachable (" + view.store_error +
                         ") and version " + std::string(spec) + " is not cached");
    }
    return n;
  }
  if (!view.refreshed) {
    return Unavailable("the model store is unreachable (" + view.store_error +
                       "); cannot resolve \"" + std::string(spec) + "\"");
  }
  if (parsed.kind == VersionSpec::Kind::kLatest) {
    if (view.latest() == 0) return NoModelYet();
    return view.latest();
  }
  if (auto it = view.aliases.find(parsed.alias); it != view.aliases.end()) return it->second;
  if (auto it = view.alias_problems.find(parsed.alias); it != view.alias_problems.end()) {
    return FailedPrecondition(fmt::format("{}; {}", it->second, Available(view)));
  }
  return NotFound(fmt::format("model alias \"{}\" not found; {}", spec, Available(view)));
}

Result<ModelPtr> ModelCache::Get(const std::optional<std::string>& spec) {
  const auto v = view();
  int version = 0;
  if (!spec) {
    version = v->default_version;
    if (version == 0) {
      if (!v->refreshed) {
        return Unavailable("the model store is unreachable (" + v->store_error +
                           ") and no model is cached yet");
      }
      return NoModelYet();
    }
  } else {
    MB_ASSIGN_OR_RETURN(version, Resolve(*v, *spec));
  }
  if (auto it = v->models.find(version); it != v->models.end()) {
    metrics_.CacheHit();
    return it->second;
  }
  metrics_.CacheMiss();
  auto model = Load(version);
  if (!model.ok() && model.status().code() != Code::kNotFound &&
      model.status().code() != Code::kUnavailable) {
    // Corrupt or unloadable artifacts are not the client's fault, and
    // another version may be promoted meanwhile: retryable.
    return Unavailable(model.status().message());
  }
  return model;
}

Result<nlohmann::json> ModelCache::Metadata(std::string_view spec) {
  const auto v = view();
  MB_ASSIGN_OR_RETURN(int version, Resolve(*v, spec));
  auto with_state = [&](nlohmann::json meta) {
    auto it = v->states.find(version);
    meta.update(it != v->states.end() ? it->second.ToJson() : VersionState().ToJson());
    return meta;
  };
  if (auto it = v->models.find(version); it != v->models.end()) return with_state(it->second->metadata());
  std::lock_guard lock(registry_mu_);
  metrics_.StoreReadDone(StoreRead::kMetadata);
  auto meta = registry_->Metadata(version);
  if (!meta.ok() && meta.status().code() == Code::kUnavailable) metrics_.StoreError();
  if (!meta.ok()) return meta;
  return with_state(std::move(*meta));
}

}  // namespace modelbay::serve
