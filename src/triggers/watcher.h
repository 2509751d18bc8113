// `modelbay watch`: polls the data store, and when the data a training would
// read (SelectData semantics: keys + ETags) is not what the newest version
// was trained on, waits for it to settle (debounce), takes the change's
// lease in the model store, re-checks, and trains once with trigger
// "data-arrival" and promotion "auto".
// With a drift threshold (`watch --on-drift PSI`), new data alone does not
// train: the served version's drift (drift_source.h) must also have stayed
// above the threshold for the debounce period; the training's trigger is
// then "drift". A reading at or below the threshold (or without a figure)
// restarts the wait, so a brief spike never trains.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "registry/registry.h"
#include "store/store.h"
#include "train/trainer.h"
#include "triggers/change.h"
#include "triggers/coverage.h"
#include "triggers/debounce.h"
#include "triggers/drift_source.h"
#include "store/lease.h"
#include "triggers/stop.h"
#include "triggers/training_run.h"

namespace modelbay {

struct WatchOptions {
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds debounce{5000};
  std::chrono::milliseconds lease_ttl{120000};
  // After a failed training, the same change is retried after this long.
  std::chrono::milliseconds retry_after{300000};
  TrainingRunOptions run;
  // Base options of every training (data spec, target, params, ...);
  // trigger, trigger_detail and promote are set by the watcher.
  TrainOptions train;
  std::string owner;  // lease owner; default: DefaultLeaseOwner()
  // > 0: train only on sustained drift above this PSI, read from drift_source.
  double drift_threshold = 0;
  DriftSource drift_source;
};

enum class TickState {
  kNoData,          // the data store has no data yet
  kUpToDate,        // the newest version covers the data
  kSettling,        // a change is waiting for its quiet period
  kLeasedElsewhere, // another watcher is training it
  kBackingOff,      // it failed recently; retried later
  kTrained,         // trained (or found trained by another watcher)
  kFailed,          // training failed
  kNoDrift,         // new data, but the served version's drift is not (yet) sustained above --on-drift
};
std::string_view TickStateName(TickState s);

struct TickOutcome {
  TickState state = TickState::kNoData;
  std::string change_id;
  std::vector<DataRef> refs;
  std::optional<TrainOutcome> trained;  // kTrained by this watcher
  std::optional<int> covering_version;  // kUpToDate / kTrained by another
  Status error;                         // kFailed
  std::optional<DriftReading> drift;    // with --on-drift: this tick's reading
};

class Watcher {
 public:
  Watcher(std::shared_ptr<Store> data, std::shared_ptr<Store> models, WatchOptions options,
          Clock clock = SystemClock());

  // One poll. Errors reading the stores are returned (the loop logs them and
  // goes on); a failed training is an outcome, not an error.
  Result<TickOutcome> Tick(StopSignal& stop);
  // Polls until `stop` (or once, when `once`: returns after the first tick
  // that is not kSettling).
  Status Run(StopSignal& stop, bool once);

 private:
  Result<std::vector<DataRef>> CurrentData();
  Result<TickOutcome> TrainChange(TickOutcome outcome, StopSignal& stop);

  std::shared_ptr<Store> data_;
  std::shared_ptr<Registry> registry_;
  WatchOptions options_;
  Clock clock_;
  CoverageChecker coverage_;
  Debouncer debouncer_;
  std::optional<DriftGate> drift_gate_;  // with --on-drift
  LeaseManager leases_;
  std::map<std::string, std::chrono::system_clock::time_point> failed_;  // change -> retry time
  std::string last_logged_;
};

}  // namespace modelbay
