// `modelbay worker`: consumes S3 event notifications from SQS and trains on
// each new data file, at least once per file and never twice:
//  - s3:TestEvent and events that do not concern the data store (another
//    bucket, outside its prefix, not .csv, not ObjectCreated) are deleted;
//  - a malformed message is logged with its receive count and left on the
//    queue: its redrive policy (maxReceiveCount) moves it to the DLQ;
//  - for a data file, a version that already covers its key + ETag makes
//    the message a duplicate (deleted without training); otherwise the
//    worker takes the change's lease, trains (trigger data-arrival, promote
//    auto), extends the message's visibility while training, and deletes
//    the message only once the version is registered.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "registry/registry.h"
#include "store/sqs_client.h"
#include "store/store.h"
#include "train/trainer.h"
#include "triggers/change.h"
#include "triggers/coverage.h"
#include "store/lease.h"
#include "triggers/stop.h"
#include "triggers/training_run.h"

namespace modelbay {

struct WorkerOptions {
  int wait_seconds = 10;        // long-poll duration
  int visibility_seconds = 60;  // received messages stay hidden this long, renewed while training
  std::chrono::milliseconds lease_ttl{120000};
  std::chrono::milliseconds grace{30000};
  TrainOptions train;           // base options; data, trigger, promote set per message
  std::string owner;
};

enum class MessageFate {
  kDeletedIgnored,    // test event or not about the data store
  kDeletedDuplicate,  // already covered by a registered version
  kDeletedTrained,    // trained, version registered, deleted
  kLeft,              // malformed, failed or leased elsewhere: back to the queue
};

class Worker {
 public:
  Worker(std::unique_ptr<SqsClient> sqs, StoreLocation data_location, std::shared_ptr<Store> data,
         std::shared_ptr<Store> models, WorkerOptions options);

  // Handles one received message.
  Result<MessageFate> Handle(const SqsMessage& message, StopSignal& stop);
  // Receives and handles messages until `stop`.
  Status Run(StopSignal& stop);

 private:
  Status DeleteMessage(const SqsMessage& message, std::string_view why);
  // The change's lease, or the version that covers it, once known.
  struct Claim {
    std::optional<Lease> lease;
    std::optional<int> covering;
  };
  // Takes the change's lease and re-checks coverage under it. When another
  // worker holds the lease (the same object delivered twice), waits for its
  // version or its lease, keeping the message hidden: returning the message
  // would count a receive toward the dead-letter queue. Neither within the
  // lease TTL: both empty.
  Result<Claim> ClaimChange(const SqsMessage& message, const std::vector<DataRef>& refs,
                            const std::string& change_id, StopSignal& stop);

  std::unique_ptr<SqsClient> sqs_;
  StoreLocation data_location_;
  std::shared_ptr<Store> data_;
  std::shared_ptr<Registry> registry_;
  WorkerOptions options_;
  CoverageChecker coverage_;
  LeaseManager leases_;
};

}  // namespace modelbay
