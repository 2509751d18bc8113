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
              options_.lease_ttl) {}

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
    const std::string change_id = ChangeId(refs);
    MB_ASSIGN_OR_RETURN(Claim claim, ClaimChange(message, refs, change_id, stop));
    if (claim.covering) {
      spdlog::info("message {}: {} (ETag {}) was trained meanwhile as version {}; duplicate",
                   message.message_id, key, refs[0].etag, *claim.covering);
      continue;
    }
    if (!claim.lease) {
      spdlog::info("message {}: {} is still being trained by another worker; leaving the message",
                   message.message_id, key);
      return MessageFate::kLeft;
    }
    std::optional<Lease>& lease = claim.lease;
    TrainOptions train = options_.train;
    train.data = key;
    train.trigger = "data-arrival";
    train.trigger_detail = TriggerDetailFor(
        refs, {{"change", change_id}, {"source", "sqs"}, {"message_id", message.message_id}});
    train.promote = PromoteMode::kAuto;
    spdlog::info("message {}: training on {} (trigger data-arrival, promote auto)", message.message_id, key);

    auto data = data_;
    auto registry = registry_;
    Lease held = *lease;
    TrainingRunOptions run;
    run.grace = options_.grace;
    run.heartbeat_every = std::chrono::milliseconds(std::max(1, options_.visibility_seconds / 2) * 1000);
    auto result = RunTraining(
        [train, data, registry] { return Train(train, *data, *registry); },
        [&] {
          Status v = sqs_->ChangeVisibility(message.receipt_handle, options_.visibility_seconds);
          if (!v.ok()) spdlog::warn("extending visibility of message {}: {}", message.message_id, v.message());
          Status l = leases_.Renew(held);
          if (!l.ok()) spdlog::warn("lease renewal: {}", l.message());
        },
        stop, run);
    if (!result.ok()) {
      if (result.status().code() == Code::kCancelled) {
        (void)leases_.Release(held);
        return result.status();
      }
      spdlog::error("message {}: training on {} failed: {}; the message returns to the queue "
                    "(received {} time(s))",
                    message.message_id, key, result.status().message(), message.receive_count);
      return MessageFate::kLeft;
    }
    spdlog::info("registered version {} from {}; metrics {}; promotion: {} ({})", result->version, key,
                 result->metrics.dump(), result->promoted ? "promoted to production" : "not promoted",
                 result->promotion);
    Status released = leases_.Release(held);
    if (!released.ok()) spdlog::warn("releasing lease: {}", released.message());
    trained = true;
  }
  MB_RETURN_IF_ERROR(DeleteMessage(message, trained ? "version registered" : "already covered"));
  return trained ? MessageFate::kDeletedTrained : MessageFate::kDeletedDuplicate;
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
  }
  spdlog::info("worker stopped");
  return Status::Ok();
}

}  // namespace modelbay
