// Starting a distributed training: XGBoost's own rabit tracker (the
// RabitTracker of Debian's python3-xgboost 1.7, run with python3) and, for
// `train --workers N`, N worker processes on 127.0.0.1. Which worker a
// process is, and where its tracker is, comes from the scheduler's
// environment (docs/training.md, "Distributed training").
//
// Processes started here die with their parent (PR_SET_PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "train/collective.h"

namespace modelbay {

// A worker's place in its job, read from the environment.
struct WorkerPlace {
  CollectiveConfig collective;
  int rank_hint = 0;          // node index / task id; the tracker sorts by it
  bool runs_tracker = false;  // the main node starts the tracker
  int tracker_port = 0;       // where it listens (all interfaces) when runs_tracker
  std::string scheduler;      // "aws-batch" or "dmlc"
};

inline constexpr int kDefaultTrackerPort = 9091;

// From AWS Batch multi-node parallel variables (AWS_BATCH_JOB_NODE_INDEX,
// AWS_BATCH_JOB_NUM_NODES, AWS_BATCH_JOB_MAIN_NODE_INDEX,
// AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS, the last absent on the main
// node), else from DMLC_TRACKER_URI, DMLC_TRACKER_PORT, DMLC_NUM_WORKER,
// DMLC_TASK_ID (Kubeflow; task 0 runs the tracker unless
// MODELBAY_TRACKER_STARTED=1). MODELBAY_TRACKER_PORT overrides the port.
// InvalidArgument naming the missing or bad variable.
Result<WorkerPlace> WorkerPlaceFromEnv(const std::map<std::string, std::string>& env);
// This process's environment.
std::map<std::string, std::string> EnvironmentMap();

class TrackerProcess {
 public:
  // Starts the tracker for `world` workers on host:port (port 0: any free
  // one) and waits until it listens.
  static Result<TrackerProcess> Start(const std::string& host, int port, int world);
  TrackerProcess(TrackerProcess&& other) noexcept : pid_(other.pid_), port_(other.port_) { other.pid_ = -1; }
  TrackerProcess(const TrackerProcess&) = delete;
  ~TrackerProcess();  // stops it when still running
  int port() const { return port_; }

 private:
  TrackerProcess(pid_t pid, int port) : pid_(pid), port_(port) {}
  pid_t pid_ = -1;
  int port_ = 0;
};

// `train --workers N`: the tracker on 127.0.0.1 and N copies of this program
// run with `worker_args` (argv[1..] of a `train --distributed`), each told
// its task id and the tracker through DMLC_* variables. Waits for all; when
// one fails, stops the others. OK only when every worker exited 0.
Status RunLocalWorkers(int workers, const std::vector<std::string>& worker_args);

}  // namespace modelbay
