// The prediction log: every served or batch-scored row, durably recorded
// before the caller acknowledges it, then shipped to the results store.
//
// Rows go first to a local spool (durable per the fsync policy); a background
// shipper writes them to the results store as immutable objects with
// deterministic keys, created with create-if-absent (a retried upload is
// harmless), and removes spooled data only after the store confirmed. A
// restart recovers and ships what an earlier process left. The cost of
// logging a row does not depend on how much is already logged.
//
// Row format (CSV, one file per version when exported):
//   timestamp,request_id,model_version,<feature columns...>,prediction[,prob_<label>...]
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "model/loaded_model.h"
#include "store/store.h"

namespace modelbay::results {

enum class FsyncPolicy {
  kAlways,  // fsync before every acknowledgement (group commit amortizes it)
  kNever,   // rely on the OS page cache: survives a process kill, not power loss
};

struct PredictionLogOptions {
  std::filesystem::path spool_dir;                       // e.g. <home>/spool; may be shared
                                                         // by several processes
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  std::chrono::milliseconds ship_interval{1000};         // background shipping period
  std::string writer_id;                                 // unique per process; in object keys
                                                         // (empty: host name + random)
};

class PredictionLog {
 public:
  static Result<std::unique_ptr<PredictionLog>> Open(PredictionLogOptions options,
                                                     std::shared_ptr<Store> results);
  virtual ~PredictionLog() = default;

  // Records the rows of one request; returns once they are durable in the
  // spool. Thread-safe. With `first_row`, every row gets its own request id
  // `<request_id>/<first_row + r>` (batch scoring: a row id names one row,
  // and ExportResults keeps one copy of each however often it was logged).
  Status Append(const LoadedModel& model, std::string_view request_id, const CellMatrix& inputs,
                const Predictions& predictions, std::chrono::system_clock::time_point timestamp,
                std::optional<uint64_t> first_row = std::nullopt);
  // The same without waiting: the rows are formatted (the arguments are not
  // used after the call returns) and queued; `done` runs once they are
  // durable in the spool, or with the error: on the log's committer thread
  // (FsyncPolicy::kAlways), or inline before AppendAsync returns, on the
  // caller's thread (kNever). `done` must not block (post the rest of the
  // work elsewhere). Thread-safe.
  using Done = std::function<void(const Status&)>;
  virtual void AppendAsync(const LoadedModel& model, std::string_view request_id, const CellMatrix& inputs,
                           const Predictions& predictions, std::chrono::system_clock::time_point timestamp,
                           Done done, std::optional<uint64_t> first_row = std::nullopt) = 0;
  // Ships everything spooled so far; returns when the store confirmed.
  virtual Status Flush() = 0;
  // Flush, then stop the background shipper (graceful shutdown).
  virtual Status Close() = 0;

  struct Stats {
    uint64_t backlog_rows = 0;     // spooled, not yet in the store
    uint64_t shipped_objects = 0;
    uint64_t ship_errors = 0;
    // The last attempt to ship failed (store unreachable or refusing);
    // cleared by the next success. Rows stay spooled meanwhile.
    bool ship_failing = false;
    // --fsync always's group commits (group_commit.h): durable writes, the
    // appends they covered, and the seconds spent in them. 0 with never.
    uint64_t commits = 0;
    uint64_t commit_appends = 0;
    double commit_seconds = 0;
  };
  virtual Stats stats() const = 0;
};

// Writes the seed's results_<version>.csv (header once, every row once, in
// Writes the seed's results_<version>.csv (header once, every row once, in
// time order; of rows with the same per-row id -- a request id containing
// '/', which served request ids never do -- only the earliest) to `out`, or,
// when `out` is empty, to the key results_<version>.csv at the root of the
// results store: rebuilt whole and sorted, under the lease of the servers
// that keep that file current, with its checkpoint (results/results_file.h),
// so their next update appends to it. `out` goes through OutputFile ("-" is
// stdout; FIFOs and devices are written through). Returns the number of rows.
Result<size_t> ExportResults(Store& results, int version, const std::filesystem::path& out);

}  // namespace modelbay::results
