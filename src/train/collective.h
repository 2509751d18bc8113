// The workers of one distributed training and the few things they agree on,
// over XGBoost's own collective (rabit, through XGCommunicator* in the C API
// of libxgboost 1.7). modelbay adds no transport of its own: every exchange
// here is an XGCommunicatorAllreduce or XGCommunicatorBroadcast.
//
// Every worker must make the same calls in the same order (a collective call
// is a rendezvous). A call fails (Unavailable) when a peer died or the
// rabit timeout ran out; the training then fails on every worker.
//
// Not thread-safe: one Collective per process, used from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace modelbay {

// How a worker reaches the tracker of its job.
struct CollectiveConfig {
  std::string tracker_host;  // the tracker's address
  int tracker_port = 0;
  std::string task_id;       // sorts the workers into ranks (the tracker runs with sortby=task)
  int world_size = 0;
};

class Collective {
 public:
  // World of one: every operation is the identity. Single-process training
  // runs through the same steps as a distributed one.
  static std::unique_ptr<Collective> Single();
  // Joins the job through the tracker (XGCommunicatorInit). The communicator
  // is finalized when the object is destroyed.
  static Result<std::unique_ptr<Collective>> Join(const CollectiveConfig& config);

  ~Collective();
  Collective(const Collective&) = delete;
  Collective& operator=(const Collective&) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool distributed() const { return world_ > 1; }

  // Element-wise sum / max over every worker, in place.
  Status Sum(std::span<uint64_t> values);
  Status Sum(std::span<double> values);
  Status Max(std::span<double> values);
  // Every worker's `mine`, in rank order, on every worker.
  Result<std::vector<std::string>> AllGather(const std::string& mine);
  // `text` of `root` on every worker.
  Status Broadcast(std::string& text, int root);
  // Every worker's result of a local step, in rank order, on every worker;
  // when any worker failed, every worker returns that worker's error (the
  // first by rank), so all of them stop at the same step.
  Result<std::vector<nlohmann::json>> Agree(const Result<nlohmann::json>& mine);

 private:
  Collective(int rank, int world, bool joined) : rank_(rank), world_(world), joined_(joined) {}
  Status Reduce(void* data, size_t count, int type, int op);
  int rank_ = 0;
  int world_ = 1;
  bool joined_ = false;
};

}  // namespace modelbay
