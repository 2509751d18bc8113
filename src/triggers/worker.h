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
#include "triggers/drift_source.h"
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
  // > 0: train only on sustained drift above this PSI, read from drift_source
  // after every receive (so at least every wait_seconds).
  double drift_threshold = 0;
  DriftSource drift_source;
  std::chrono::milliseconds debounce{5000};  // how long the drift must stay above the threshold
};

enum class MessageFate {
  kDeletedIgnored,    // test event or not about the data store
  kDeletedDuplicate,  // already covered by a registered version
  kDeletedTrained,    // trained, version registered, deleted
  kLeft,              // malformed, failed or leased elsewhere: back to the queue
  kHeld,              // --on-drift: new data, held until the drift is sustained
};

class Worker {
 public:
  Worker(std::unique_ptr<SqsClient> sqs, StoreLocation data_location, std::shared_ptr<Store> data,
         std::shared_ptr<Store> models, WorkerOptions options);

  // Handles one received message.
  Result<MessageFate> Handle(const SqsMessage& message, StopSignal& stop);
  // Receives and handles messages until `stop`.
  Status Run(StopSignal& stop);
  // --on-drift: keeps the held messages hidden, reads the drift, and trains
  // once (trigger drift) on the newest held file when the drift is
  // sustained. Called by Run after every receive; public for tests.
  Status DriftStep(StopSignal& stop);
  size_t held() const { return held_.size(); }

 private:
  // A data message kept in flight under --on-drift.
  struct Held {
    SqsMessage message;
    std::vector<DataRef> refs;  // its uncovered data files, as they were when it arrived
    std::chrono::steady_clock::time_point extended;
  };
  // How a claimed-and-trained change ended.
  struct Trained {
    std::optional<int> covering;          // already trained (by another worker, or meanwhile)
    std::optional<TrainOutcome> outcome;  // trained by this worker
    bool leased_elsewhere = false;        // another worker still trains it
    Status error;                         // the training failed
  };
  // Claims the change of `refs` and trains `train` on it, keeping `hidden`
  // (the message being handled, and any held ones) in flight meanwhile.
  Result<Trained> ClaimAndTrain(const SqsMessage& message, const std::vector<DataRef>& refs, TrainOptions train,
                                const std::vector<const SqsMessage*>& hidden, StopSignal& stop);
  // Returns every held message to the queue (visibility 0) and forgets them.
  void ReleaseHeld(std::string_view why);
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
  std::optional<DriftGate> drift_gate_;  // with --on-drift
  std::vector<Held> held_;               // with --on-drift: oldest first
};

}  // namespace modelbay
