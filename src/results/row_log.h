// The model-independent core of the prediction log: a durable local spool of
// pre-formatted CSV rows, per model version, with group commit, and a
// background shipper that moves sealed spool segments to the results store.
// It composes three parts:
//   spool_dir.h     ownership: the writer dir and its lock, writer ids,
//                   recovery, orphans, quarantine
//   group_commit.h  the writer: one committer thread, one write + fsync per batch
//   shipper.h       sealed segments to the store, adoption of orphans
//
// Several processes may share one spool dir: each writes under its own
// <spool>/writers/<writer_id>/ and adopts the dirs of processes that died.
// Each Open starts a new run id (UTC time + random), so sequence numbers
// restart per run without ever colliding.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "results/prediction_log.h"
#include "store/store.h"

namespace modelbay::results {

struct RowLogOptions {
  std::filesystem::path spool_dir;  // the spool root, possibly shared
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  std::chrono::milliseconds ship_interval{1000};
  std::chrono::milliseconds max_backoff{30000};  // between failed ship attempts
  // A segment is sealed once it holds this many bytes, even before the ship
  // interval: shipping reads one whole segment, so this bounds its memory.
  uint64_t max_segment_bytes = uint64_t{8} << 20;
  // --fsync always: commit with O_DIRECT | O_DSYNC writes where the file
  // system allows (group_commit.h); false: pwrite + fdatasync everywhere.
  bool direct_io = true;
  std::string writer_id;  // empty: a fresh one (host name + random)
  // Shipped objects' key prefix (shipper.h ShippedKey). One spool root ships
  // under one prefix: a second stream (feedback) has its own root.
  std::string key_prefix = "logs";
  bool versioned_keys = true;
};

class RowLog {
 public:
  // Claims a writer dir under the spool dir, recovers what an earlier
  // process with the same writer id left (cutting off torn tails), and
  // starts the shipper, which ships that and adopts orphans first.
  static Result<std::unique_ptr<RowLog>> Open(RowLogOptions options, std::shared_ptr<Store> store);
  // Stops the shipper and the committer without shipping: spooled rows stay
  // for the next Open or an adopter.
  virtual ~RowLog() = default;

  using Done = std::function<void(const Status&)>;
  // Queues `rows` CSV lines (`csv`, each ending in '\n'; copied) for
  // `version`, whose CSV header is `header_line` (ends in '\n'; fixed per
  // version). `done` runs once the rows are durable per the fsync policy (or
  // failed); it must not block. With FsyncPolicy::kAlways it runs on the
  // committer thread, and appends queued together share one write and one
  // fsync; with kNever the caller writes the rows itself (page cache) and
  // `done` runs before AppendAsync returns, on the caller's thread.
  // Thread-safe.
  virtual void AppendAsync(int version, std::string_view header_line, std::string_view csv, size_t rows,
                           Done done) = 0;
  // The same, returning once durable (or failed).
  Status Append(int version, std::string_view header_line, std::string_view csv, size_t rows);
  virtual Status Flush() = 0;
  virtual Status Close() = 0;
  virtual PredictionLog::Stats stats() const = 0;
  virtual const std::string& writer_id() const = 0;
};

}  // namespace modelbay::results
