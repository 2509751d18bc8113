#include "triggers/watcher.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "data/data_store.h"
#include "triggers/s3_event.h"

namespace modelbay {

std::string_view TickStateName(TickState s) {
  switch (s) {
    case TickState::kNoData: return "no-data";
    case TickState::kUpToDate: return "up-to-date";
    case TickState::kSettling: return "settling";
    case TickState::kLeasedElsewhere: return "leased-elsewhere";
    case TickState::kBackingOff: return "backing-off";
    case TickState::kTrained: return "trained";
    case TickState::kFailed: return "failed";
    case TickState::kNoDrift: return "no-drift";
  }
  return "?";
}

namespace {

std::vector<std::string> KeysOf(const std::vector<DataRef>& refs) {
  std::vector<std::string> keys;
  for (const auto& r : refs) keys.push_back(r.key);
  return keys;
}

}  // namespace

Watcher::Watcher(std::shared_ptr<Store> data, std::shared_ptr<Store> models, WatchOptions options,
                 Clock clock)
    : data_(data),
      registry_(std::make_shared<Registry>(models, clock)),
      options_(std::move(options)),
      clock_(clock),
      coverage_(data, registry_),
      debouncer_(options_.debounce),
      leases_(models, options_.owner.empty() ? DefaultLeaseOwner() : options_.owner, clock,
              options_.lease_ttl) {
  if (options_.drift_threshold > 0) drift_gate_.emplace(options_.drift_threshold, options_.drift_source, options_.debounce);
}

Result<std::vector<DataRef>> Watcher::CurrentData() {
  auto files = SelectData(*data_, options_.train.data);
  if (!files.ok()) {
    if (files.status().code() == Code::kNotFound) return std::vector<DataRef>{};
    return files.status();
  }
  std::vector<DataRef> refs;
  for (const auto& f : *files) refs.push_back({f.key, NormalizeEtag(f.etag)});
  return refs;
}

Result<TickOutcome> Watcher::Tick(StopSignal& stop) {
  TickOutcome outcome;
  bool drift_sustained = false;
  if (drift_gate_) {
    MB_ASSIGN_OR_RETURN(DriftGate::Observation drift, drift_gate_->Observe(clock_()));
    outcome.drift = drift.reading;
    drift_sustained = drift.sustained;
  }
  MB_ASSIGN_OR_RETURN(outcome.refs, CurrentData());
  if (outcome.refs.empty()) {
    debouncer_.Reset();
    outcome.state = TickState::kNoData;
    return outcome;
  }
  outcome.change_id = ChangeId(outcome.refs);
  MB_ASSIGN_OR_RETURN(outcome.covering_version, coverage_.NewestCovering(outcome.refs));
  if (outcome.covering_version) {
    debouncer_.Reset();
    outcome.state = TickState::kUpToDate;
    return outcome;
  }
  const auto now = clock_();
  if (auto f = failed_.find(outcome.change_id); f != failed_.end() && now < f->second) {
    outcome.state = TickState::kBackingOff;
    return outcome;
  }
  if (!debouncer_.Observe(outcome.change_id, now)) {
    outcome.state = TickState::kSettling;
    return outcome;
  }
  if (drift_gate_ && !drift_sustained) {
    outcome.state = TickState::kNoDrift;
    return outcome;
  }
  return TrainChange(std::move(outcome), stop);
}

Result<TickOutcome> Watcher::TrainChange(TickOutcome outcome, StopSignal& stop) {
  const std::string short_id = outcome.change_id.substr(0, 12);
  MB_ASSIGN_OR_RETURN(std::optional<Lease> lease, leases_.TryAcquire(outcome.change_id));
  if (!lease) {
    outcome.state = TickState::kLeasedElsewhere;
    return outcome;
  }
  // Another watcher may have trained this change and released its lease
  // between our check and our lease.
  auto covering = coverage_.NewestCovering(outcome.refs);
  if (!covering.ok()) {
    (void)leases_.Release(*lease);
    return covering.status();
  }
  if (*covering) {
    MB_RETURN_IF_ERROR(leases_.Release(*lease));
    debouncer_.Reset();
    outcome.state = TickState::kTrained;
    outcome.covering_version = *covering;
    spdlog::info("change {} was already trained as version {}", short_id, **covering);
    return outcome;
  }

  TrainOptions train = options_.train;
  train.trigger = "data-arrival";
  nlohmann::json extra = {{"change", outcome.change_id}};
  if (outcome.drift && outcome.drift->psi) {
    train.trigger = "drift";
    extra["drift"] = {{"version", outcome.drift->version},
                      {"psi", *outcome.drift->psi},
                      {"where", outcome.drift->where},
                      {"threshold", options_.drift_threshold}};
  }
  train.trigger_detail = TriggerDetailFor(outcome.refs, extra);
  train.promote = PromoteMode::kAuto;
  // Train exactly the files that were detected (a later upload is a later change).
  if (outcome.refs.size() == 1 && train.data != "all") train.data = outcome.refs[0].key;
  spdlog::info("data changed ({}): training on {} (trigger {}, promote auto)", short_id,
               fmt::join(KeysOf(outcome.refs), ", "), train.trigger);

  auto data = data_;
  auto registry = registry_;
  Lease held = *lease;
  auto result = RunTraining(
      [train, data, registry] { return Train(train, *data, *registry); },
      [this, &held] {
        Status s = leases_.Renew(held);
        if (!s.ok()) spdlog::warn("lease renewal: {}", s.message());
      },
      stop, options_.run);
  if (!result.ok() && result.status().code() == Code::kCancelled) {
    (void)leases_.Release(held);
    return result.status();
  }
  debouncer_.Reset();
  if (drift_gate_) drift_gate_->Reset();
  if (!result.ok()) {
    (void)leases_.Release(held);
    failed_[outcome.change_id] = clock_() + options_.retry_after;
    spdlog::error("training for change {} failed: {} (retrying in {} s)", short_id,
                  result.status().message(),
                  std::chrono::duration_cast<std::chrono::seconds>(options_.retry_after).count());
    outcome.state = TickState::kFailed;
    outcome.error = result.status();
    return outcome;
  }
  const TrainOutcome& t = *result;
  spdlog::info("registered version {} from {}; metrics {}; promotion: {} ({})", t.version,
               fmt::join(KeysOf(outcome.refs), ", "), t.metrics.dump(),
               t.promoted ? "promoted to production" : "not promoted", t.promotion);
  Status released = leases_.Release(held);
  if (!released.ok()) spdlog::warn("releasing the lease of change {}: {}", short_id, released.message());
  outcome.state = TickState::kTrained;
  outcome.trained = t;
  return outcome;
}

Status Watcher::Run(StopSignal& stop, bool once) {
  spdlog::info("watching {} every {} s (debounce {} s, data {})", data_->Describe(),
               std::chrono::duration<double>(options_.interval).count(),
               std::chrono::duration<double>(options_.debounce).count(), options_.train.data);
  while (!stop.stop_requested()) {
    auto tick = Tick(stop);
    if (!tick.ok()) {
      if (tick.status().code() == Code::kCancelled) return tick.status();
      spdlog::warn("poll failed: {}; retrying in {} s", tick.status().message(),
                   std::chrono::duration<double>(options_.interval).count());
      if (once) return tick.status();
    } else {
      const std::string line = fmt::format("{} {}", TickStateName(tick->state), tick->change_id);
      if (line != last_logged_ || tick->state == TickState::kTrained) {
        switch (tick->state) {
          case TickState::kNoData: spdlog::info("no data in {} yet", data_->Describe()); break;
          case TickState::kUpToDate:
            spdlog::info("up to date: version {} covers the current data", *tick->covering_version);
            break;
          case TickState::kSettling:
            spdlog::info("change {} detected; waiting {} s for uploads to settle",
                         tick->change_id.substr(0, 12),
                         std::chrono::duration<double>(debouncer_.Remaining(clock_())).count());
            break;
          case TickState::kNoDrift:
            spdlog::info("change {} waits for sustained drift above {} before training",
                         tick->change_id.substr(0, 12), options_.drift_threshold);
            break;
          case TickState::kLeasedElsewhere:
            spdlog::info("change {} is being trained by another watcher", tick->change_id.substr(0, 12));
            break;
          default: break;
        }
        last_logged_ = line;
      }
      if (once && tick->state != TickState::kSettling) {
        return tick->state == TickState::kFailed ? tick->error : Status::Ok();
      }
    }
    auto wait = options_.interval;
    if (tick.ok() && tick->state == TickState::kSettling) {
      wait = std::min(wait, std::max(debouncer_.Remaining(clock_()), std::chrono::milliseconds(100)));
    }
    stop.WaitFor(wait);
  }
  spdlog::info("watch stopped");
  return Status::Ok();
}

}  // namespace modelbay
