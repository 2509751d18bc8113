// The shipper: moves sealed spool segments to the results store, and adopts
// orphaned writer dirs (spool_dir.h) of processes that died.
//
// Every pass (each ship interval on its own thread, on Flush, on Close):
// seal the writer's segments, ship every sealed segment oldest first, then
// adopt and ship every orphan whose lock is free. A segment's object key,
//   logs/v<N>/<writer_id>/<run>-<first_seq>-<last_seq>.csv
// comes from the writer id stored in the segment and its record range, and
// a sealed segment never changes, so a re-ship (after a crash, a lost
// answer, or by an adopter) is a create-if-absent of identical content: the
// store answers AlreadyExists with the same bytes, which counts as shipped.
// A segment file is removed only after the store confirmed (a segment with
// damaged records goes to quarantine instead, for a person to inspect).
//
// Thread-safety: every public member is thread-safe. ship_mu_ serialises
// passes; mu_ guards the queue and the counters.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "results/spool_dir.h"
#include "store/store.h"

namespace modelbay::results {

// The object key for a sealed segment:
//   <key_prefix>/v<N>/<writer_id>/<run>-<first_seq>-<last_seq>.csv
// or, with `versioned` false (a stream not kept per model version: the
// feedback log, whose spool uses version 1 only), <key_prefix>/<writer_id>/...
std::string ShippedKey(int version, std::string_view writer_id, std::string_view run_id,
                       uint64_t first_seq, uint64_t last_seq, std::string_view key_prefix = "logs",
                       bool versioned = true);

class Shipper {
 public:
  struct Options {
    std::filesystem::path root;     // the spool root (orphans are found under it)
    std::filesystem::path own_dir;  // this process's writer dir: never adopted
    std::chrono::milliseconds interval{1000};
    std::chrono::milliseconds max_backoff{30000};  // between failed passes
    std::string key_prefix = "logs";               // see ShippedKey
    bool versioned_keys = true;                    // see ShippedKey
  };
  struct Counters {
    uint64_t shipped_objects = 0;
    uint64_t ship_errors = 0;
    bool failing = false;  // the last pass failed
  };
  // `seal` seals the writer's segments (they arrive through Enqueue);
  // `backlog_rows` (outliving the shipper) loses the rows shipped.
  Shipper(Options options, std::shared_ptr<Store> store, std::function<Status()> seal,
          std::atomic<int64_t>& backlog_rows);
  ~Shipper();  // Stop()

  // Queues sealed segments (oldest first).
  void Enqueue(std::vector<SpooledSegment> segments);
  // Starts the background passes; the first runs at once with `now`,
  // otherwise after one interval.
  void Start(bool now);
  // Stops the background passes (a pass in progress finishes first).
  void Stop();
  // One pass; the first error, if any.
  Status ShipOnce();
  Counters counters() const;

 private:
  Status ShipQueue();
  Status AdoptOrphans();
  Status ShipSegment(const SpooledSegment& s);
  Status PutOnce(const std::string& key, const std::string& object);
  void Loop(std::chrono::milliseconds first_wait);

  const Options options_;
  const std::shared_ptr<Store> store_;
  const std::function<Status()> seal_;
  std::atomic<int64_t>& backlog_rows_;

  std::mutex ship_mu_;  // one pass at a time
  mutable std::mutex mu_;
  std::deque<SpooledSegment> queue_;  // guarded by mu_; oldest first
  Counters counters_;                 // guarded by mu_

  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;  // guarded by stop_mu_
  std::thread thread_;
};

}  // namespace modelbay::results
