// Runs one triggered training on its own thread while the caller's thread
// keeps a heartbeat (lease renewal, SQS visibility) and watches for a stop.
#pragma once

#include <chrono>
#include <functional>

#include "core/status.h"
#include "train/trainer.h"
#include "triggers/stop.h"

namespace modelbay {

struct TrainingRunOptions {
  std::chrono::milliseconds heartbeat_every{10000};
  // After a stop request, how long the training may still take to finish.
  std::chrono::milliseconds grace{30000};
};

// Runs `train` (which must own everything it uses: it may outlive this call)
// and calls `heartbeat` every heartbeat_every until it ends. A failing
// heartbeat is logged and the training goes on (its version will still be
// correct; at worst the work is duplicated). When a stop is requested and
// the training does not finish within the grace period (or a second signal
// asks to abandon it), returns Cancelled and leaves the training thread
// running detached: the caller must then end the process. The version
// being trained stays invisible unless its commit marker was written.
Result<TrainOutcome> RunTraining(std::function<Result<TrainOutcome>()> train,
                                 const std::function<void()>& heartbeat, StopSignal& stop,
                                 const TrainingRunOptions& options);

}  // namespace modelbay
