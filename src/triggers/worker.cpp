#include "triggers/worker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "triggers/change.h"
#include "triggers/s3_event.h"

namespace modelbay {

Worker::Worker(std::unique_ptr<SqsClient> sqs, StoreLocation data_location, std::shared_ptr<Store> data,
               std::shared_ptr<Store> models, WorkerOptions options)
    : sqs_(std::move(sqs)),
      data_location_(std::move(data_location)),
      data_(data),
      registry_(std::make_shared<Registry>(models)),
      options_(std::move(options)),
      coverage_(data, registry_),
      leases_(models, options_.owner.empty() ? DefaultLeaseOwner() : options_.owner, SystemClock(),
              options_.lease_ttl) {
  if (options_.drift_threshold > 0) drift_gate_.emplace(options_.drift_threshold, options_.drift_source, options_.debounce);
}

Status Worker::DeleteMessage(const SqsMessage& message, std::string_view why) {
  Status s = sqs_->Delete(message.receipt_handle);
  if (!s.ok()) {
    return s.WithContext(fmt::format("deleting message {} ({})", message.message_id, why));
  }
  spdlog::info("deleted message {}: {}", message.message_id, why);
  return Status::Ok();
}

Result<Worker::Claim> Worker::ClaimChange(const SqsMessage& message, const std::vector<DataRef>& refs,
                                          const std::string& change_id, StopSignal& stop) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + options_.lease_ttl;
  const auto extend_every = std::chrono::seconds(std::max(1, options_.visibility_seconds / 2));
  auto next_extend = Clock::now() + extend_every;
  bool logged = false;
  Claim claim;
  for (;;) {
    MB_ASSIGN_OR_RETURN(claim.lease, leases_.TryAcquire(change_id));
    if (claim.lease) {
      // The previous holder may have registered its version and released
      // the lease between our coverage check and our lease.
      auto covering = coverage_.AnyCovering(refs);
      if (!covering.ok() || *covering) {
        Status released = leases_.Release(*claim.lease);
        if (!released.ok()) spdlog::warn("releasing lease: {}", released.message());
        if (!covering.ok()) return covering.status();
        claim.lease.reset();
        claim.covering = *covering;
      }
      return claim;
    }
    if (stop.stop_requested() || Clock::now() >= deadline) return claim;
    if (!logged) {
      spdlog::info("message {}: {} is being trained by another worker; waiting for its version",
                   message.message_id, refs[0].key);
      logged = true;
    }
    stop.WaitFor(std::chrono::milliseconds(500));
    if (Clock::now() >= next_extend) {
      Status v = sqs_->ChangeVisibility(message.receipt_handle, options_.visibility_seconds);
      if (!v.ok()) spdlog::warn("extending visibility of message {}: {}", message.message_id, v.message());
      next_extend = Clock::now() + extend_every;
    }
    MB_ASSIGN_OR_RETURN(claim.covering, coverage_.AnyCovering(refs));
    if (claim.covering) return claim;
  }
}

Result<MessageFate> Worker::Handle(const SqsMessage& message, StopSignal& stop) {
  auto parsed = ParseS3EventMessage(message.body);
  if (!parsed.ok()) {
    spdlog::warn("malformed message {} (received {} time(s)): {}; left on the queue for its redrive "
                 "policy to move to the dead-letter queue",
                 message.message_id, message.receive_count, parsed.status().message());
    return MessageFate::kLeft;
  }
  if (parsed->test_event) {
    MB_RETURN_IF_ERROR(DeleteMessage(message, "s3:TestEvent (notification configured)"));
    return MessageFate::kDeletedIgnored;
  }
  std::vector<std::string> keys;
  for (const auto& event : parsed->records) {
    EventRelevance r = ClassifyEvent(event, data_location_);
    if (!r.relevant) {
      spdlog::info("message {}: ignoring s3://{}/{}: {}", message.message_id, event.bucket, event.key, r.reason);
      continue;
    }
    keys.push_back(r.key);
  }
  if (keys.empty()) {
    MB_RETURN_IF_ERROR(DeleteMessage(message, "no event concerns the data store"));
    return MessageFate::kDeletedIgnored;
  }

  bool trained = false;
  std::vector<DataRef> uncovered;  // --on-drift: the files this message holds for a drift training
  for (const std::string& key : keys) {
    MB_ASSIGN_OR_RETURN(std::optional<ObjectInfo> head, data_->Head(key));
    if (!head) {
      spdlog::info("message {}: {} no longer exists; nothing to train", message.message_id, key);
      continue;
    }
    // Train on what is there now; a newer upload has (or will have) its own
    // message, which then finds this version covering it.
    std::vector<DataRef> refs = {{key, NormalizeEtag(head->etag)}};
    MB_ASSIGN_OR_RETURN(std::optional<int> covering, coverage_.AnyCovering(refs));
    if (covering) {
      spdlog::info("message {}: {} (ETag {}) is already covered by version {}; duplicate",
                   message.message_id, key, refs[0].etag, *covering);
      continue;
    }
    if (drift_gate_) {
      uncovered.push_back(refs[0]);
      continue;
    }
    TrainOptions train = options_.train;
    train.data = key;
    train.trigger = "data-arrival";
    train.trigger_detail = TriggerDetailFor(
        refs, {{"change", ChangeId(refs)}, {"source", "sqs"}, {"message_id", message.message_id}});
    train.promote = PromoteMode::kAuto;
    spdlog::info("message {}: training on {} (trigger data-arrival, promote auto)", message.message_id, key);
    MB_ASSIGN_OR_RETURN(Trained t, ClaimAndTrain(message, refs, std::move(train), {&message}, stop));
    if (t.covering) {
      spdlog::info("message {}: {} (ETag {}) was trained meanwhile as version {}; duplicate",
                   message.message_id, key, refs[0].etag, *t.covering);
      continue;
    }
    if (t.leased_elsewhere) {
      spdlog::info("message {}: {} is still being trained by another worker; leaving the message",
                   message.message_id, key);
      return MessageFate::kLeft;
    }
    if (!t.error.ok()) {
      spdlog::error("message {}: training on {} failed: {}; the message returns to the queue "
                    "(received {} time(s))",
                    message.message_id, key, t.error.message(), message.receive_count);
      return MessageFate::kLeft;
    }
    trained = true;
  }
  if (!uncovered.empty()) {
    // A redelivered message replaces its earlier copy (whose receipt handle is stale).
    std::erase_if(held_, [&](const Held& h) { return h.message.message_id == message.message_id; });
    held_.push_back({message, uncovered, std::chrono::steady_clock::now()});
    spdlog::info("message {}: new data {} held until the served version's drift stays above {} for {} s "
                 "({} message(s) held)",
                 message.message_id, uncovered.back().key, drift_gate_->threshold(),
                 std::chrono::duration<double>(options_.debounce).count(), held_.size());
    return MessageFate::kHeld;
  }
  MB_RETURN_IF_ERROR(DeleteMessage(message, trained ? "version registered" : "already covered"));
  return trained ? MessageFate::kDeletedTrained : MessageFate::kDeletedDuplicate;
}

Result<Worker::Trained> Worker::ClaimAndTrain(const SqsMessage& message, const std::vector<DataRef>& refs,
                                              TrainOptions train, const std::vector<const SqsMessage*>& hidden,
                                              StopSignal& stop) {
  Trained out;
  MB_ASSIGN_OR_RETURN(Claim claim, ClaimChange(message, refs, ChangeId(refs), stop));
  if (claim.covering) {
    out.covering = claim.covering;
    return out;
  }
  if (!claim.lease) {
    out.leased_elsewhere = true;
    return out;
  }
  auto data = data_;
  auto registry = registry_;
  Lease held = *claim.lease;
  TrainingRunOptions run;
  run.grace = options_.grace;
  run.heartbeat_every = std::chrono::milliseconds(std::max(1, options_.visibility_seconds / 2) * 1000);
  auto result = RunTraining(
      [train, data, registry] { return Train(train, *data, *registry); },
      [&] {
        for (const SqsMessage* m : hidden) {
          Status v = sqs_->ChangeVisibility(m->receipt_handle, options_.visibility_seconds);
          if (!v.ok()) spdlog::warn("extending visibility of message {}: {}", m->message_id, v.message());
        }
        Status l = leases_.Renew(held);
        if (!l.ok()) spdlog::warn("lease renewal: {}", l.message());
      },
      stop, run);
  if (!result.ok()) {
    if (result.status().code() == Code::kCancelled) {
      (void)leases_.Release(held);
      return result.status();
    }
    out.error = result.status();  // the lease expires by itself (its TTL)
    return out;
  }
  spdlog::info("registered version {} from {}; metrics {}; promotion: {} ({})", result->version, train.data,
               result->metrics.dump(), result->promoted ? "promoted to production" : "not promoted",
               result->promotion);
  Status released = leases_.Release(held);
  if (!released.ok()) spdlog::warn("releasing lease: {}", released.message());
  out.outcome = std::move(*result);
  return out;
}

void Worker::ReleaseHeld(std::string_view why) {
  for (const Held& h : held_) {
    Status v = sqs_->ChangeVisibility(h.message.receipt_handle, 0);
    if (!v.ok()) spdlog::warn("returning message {} to the queue: {}", h.message.message_id, v.message());
  }
  if (!held_.empty()) spdlog::info("{} held message(s) returned to the queue: {}", held_.size(), why);
  held_.clear();
}

Status Worker::DriftStep(StopSignal& stop) {
  if (!drift_gate_) return Status::Ok();
  // Step 1: keep the held messages hidden (one that cannot be extended
  // returns to the queue by itself and is received again).
  const auto now = std::chrono::steady_clock::now();
  const auto extend_every = std::chrono::seconds(std::max(1, options_.visibility_seconds / 2));
  std::erase_if(held_, [&](Held& h) {
    if (now - h.extended < extend_every) return false;
    Status v = sqs_->ChangeVisibility(h.message.receipt_handle, options_.visibility_seconds);
    if (!v.ok()) {
      spdlog::warn("message {}: cannot keep it held ({}); it returns to the queue", h.message.message_id, v.message());
      return true;
    }
    h.extended = now;
    return false;
  });
  // Step 2: the drift, through the same debounce as `watch --on-drift`.
  auto drift = drift_gate_->Observe(std::chrono::system_clock::now());
  if (!drift.ok()) {
    spdlog::warn("reading the drift: {}", drift.status().message());
    return Status::Ok();
  }
  if (!drift->sustained || held_.empty()) return Status::Ok();
  // Step 3: one training, trigger drift, on the newest held file.
  const Held& newest = held_.back();
  const std::vector<DataRef> refs = {newest.refs.back()};
  const DriftReading& r = drift->reading;
  TrainOptions train = options_.train;
  train.data = refs[0].key;
  train.trigger = "drift";
  train.trigger_detail = TriggerDetailFor(
      refs, {{"change", ChangeId(refs)},
             {"source", "sqs"},
             {"message_id", newest.message.message_id},
             {"drift", {{"version", r.version}, {"psi", *r.psi}, {"where", r.where}, {"threshold", drift_gate_->threshold()}}}});
  train.promote = PromoteMode::kAuto;
  spdlog::info("drift sustained above {} (version {}, PSI {:.4f} at {}): training on {} (trigger drift, promote auto)",
               drift_gate_->threshold(), r.version, *r.psi, r.where, refs[0].key);
  std::vector<const SqsMessage*> hidden;
  for (const Held& h : held_) hidden.push_back(&h.message);
  MB_ASSIGN_OR_RETURN(Trained t, ClaimAndTrain(newest.message, refs, std::move(train), hidden, stop));
  drift_gate_->Reset();
  if (t.leased_elsewhere) {
    spdlog::info("{} is being trained by another worker; the messages stay held", refs[0].key);
    return Status::Ok();
  }
  if (!t.error.ok()) {
    spdlog::error("the drift training on {} failed: {}", refs[0].key, t.error.message());
    ReleaseHeld("the drift training failed");
    return Status::Ok();
  }
  const int version = t.outcome ? t.outcome->version : *t.covering;
  for (const Held& h : held_) {
    const bool trained_it = &h == &newest;
    Status deleted = DeleteMessage(h.message, trained_it ? fmt::format("version {} registered", version)
                                                         : fmt::format("superseded by version {} (trained on drift "
                                                                       "from the newer {})",
                                                                       version, refs[0].key));
    if (!deleted.ok()) spdlog::warn("{}", deleted.message());
  }
  held_.clear();
  return Status::Ok();
}

Status Worker::Run(StopSignal& stop) {
  spdlog::info("worker polling {} (wait {} s, visibility {} s); data store {}", sqs_->queue_url(),
               options_.wait_seconds, options_.visibility_seconds, data_->Describe());
  ReceiveOptions receive;
  receive.max_messages = 1;
  receive.wait_seconds = options_.wait_seconds;
  receive.visibility_seconds = options_.visibility_seconds;
  int failures = 0;
  while (!stop.stop_requested()) {
    auto messages = sqs_->Receive(receive);
    if (!messages.ok()) {
      ++failures;
      auto backoff = std::chrono::milliseconds(std::min(30000, 500 * (1 << std::min(failures, 6))));
      spdlog::warn("receiving from {}: {}; retrying in {} ms", sqs_->queue_url(), messages.status().message(),
                   backoff.count());
      stop.WaitFor(backoff);
      continue;
    }
    failures = 0;
    for (const auto& m : *messages) {
      auto fate = Handle(m, stop);
      if (!fate.ok()) {
        if (fate.status().code() == Code::kCancelled) return fate.status();
        spdlog::error("message {}: {}; it returns to the queue", m.message_id, fate.status().message());
      }
    }
    if (Status s = DriftStep(stop); s.code() == Code::kCancelled) return s;
  }
  ReleaseHeld("the worker stops");
  spdlog::info("worker stopped");
  return Status::Ok();
}

}  // namespace modelbay
