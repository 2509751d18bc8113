// The model-independent core of the prediction log: a durable local spool of
// pre-formatted CSV rows, per model version, with group commit, and a
// background shipper that moves sealed spool segments to the results store.
//
// Spool layout (one process at a time; flock on <spool>/LOCK):
//   <spool>/writer_id                  the writer id used when none is given
//   <spool>/v<N>/<run>-<first>.seg     segments (see segment.h)
// Each Open starts a new run id (UTC time + random), so sequence numbers
// restart per run without ever colliding. A segment is sealed (closed for
// appends, fsynced) before it is shipped, so its content never changes and
// its object key,
//   logs/v<N>/<writer_id>/<run>-<first_seq>-<last_seq>.csv
// is the same on every retry, including after a crash: PutIfAbsent answering
// AlreadyExists with the same bytes means "already shipped".
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "results/prediction_log.h"
#include "store/store.h"

namespace modelbay::results {

struct RowLogOptions {
  std::filesystem::path spool_dir;
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  std::chrono::milliseconds ship_interval{1000};
  std::chrono::milliseconds max_backoff{30000};  // between failed ship attempts
  // A segment is sealed once it holds this many bytes, even before the ship
  // interval: shipping reads one whole segment, so this bounds its memory.
  uint64_t max_segment_bytes = uint64_t{8} << 20;
  std::string writer_id;  // empty: read from (or created in) <spool>/writer_id
};

class RowLog {
 public:
  // Locks the spool dir, recovers segments an earlier process left (cutting
  // off torn tails) and starts the shipper, which ships them first.
  static Result<std::unique_ptr<RowLog>> Open(RowLogOptions options, std::shared_ptr<Store> store);
  // Stops the shipper without flushing: spooled rows stay for the next Open.
  virtual ~RowLog() = default;

  // Appends `rows` CSV lines (`csv`, each ending in '\n') for `version`,
  // whose CSV header is `header_line` (ends in '\n'; fixed per version).
  // Returns once durable per the fsync policy. Thread-safe; concurrent
  // callers share one write and one fsync.
  virtual Status Append(int version, std::string_view header_line, std::string_view csv,
                        size_t rows) = 0;
  virtual Status Flush() = 0;
  virtual Status Close() = 0;
  virtual PredictionLog::Stats stats() const = 0;
  virtual const std::string& writer_id() const = 0;
};

// The object key for a sealed segment.
std::string ShippedKey(int version, std::string_view writer_id, std::string_view run_id,
                       uint64_t first_seq, uint64_t last_seq);

}  // namespace modelbay::results
