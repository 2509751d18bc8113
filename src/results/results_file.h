// The seed's results_<N>.csv, kept current from the shipped log objects.
//
// Key layout in the results store:
//   logs/v<N>/<writer>/<run>-<first>-<last>.csv   shipped log objects (row_log.h)
//   results_<N>.csv                               header once, every shipped row once
//   results_<N>.checkpoint.json                   which log objects results_<N>.csv holds
//   leases/results_<N>.<attempt>.json             the updater's lease (store/lease.h)
// (the unnamed model's; a named model's are the same keys under
// models/<name>/, given to these functions as a PrefixedStore: see
// registry/model_name.h)
//
// An update of version N, by whoever holds the lease "results_<N>":
//   1. read the checkpoint and Head the file; decide the file's state:
//      - its size and ETag are the checkpoint's: it holds `included`;
//      - otherwise, when the checkpoint has a `pending` step whose size the
//        file has, and the file is no longer the one the step replaces (its
//        ETag changed): the step's write landed but its checkpoint did not
//        (a crash between the two): it holds `pending.included`;
//      - otherwise (no checkpoint, unreadable, another size): unknown, so it
//        is rebuilt whole from every log object (step 3).
//   2. new objects = listed log objects not in that set. None: done.
//   3. write the checkpoint with `pending` = {the set after this update,
//      the file's size after it}; then replace the file whole (Put, or
//      Store::Concat of the new rows onto the current object, conditional
//      on its ETag); then Head it and write the checkpoint with the new
//      set, size and ETag and no `pending`.
// A crash before the file write leaves the old file matching the old
// checkpoint (the pending step is dropped); a crash after it leaves the file
// matching `pending` (the step is adopted). Either way no row is added twice
// and none is lost: each log object is in the file exactly when the
// checkpoint's adopted set says so.
//
// Cost of an update: List of logs/v<N>/ (metadata), Get of the checkpoint
// and of the new objects only; the file is rewritten from its downloaded
// bytes only while smaller than kMinCopyPartBytes (5 MiB), above that it is
// extended by Store::Concat (S3: server-side UploadPartCopy; local: an
// append in place), so bytes read do not grow with the file.
//
// Order: the rows of one update are sorted by (timestamp, request id) and
// appended after the file's earlier rows, so the file is sorted within each
// update and in shipping order across updates; a row that ships late (a
// server that was down) is appended with a later update. `results export`
// (ExportResults) rebuilds the file fully sorted, with a fresh checkpoint.
//
// Lease: one updater per version at a time. The holder renews it during a
// long rebuild and before each write, and releases it after the update, so
// any server (or `results export`, `predict`) may take the next one. A
// holder that dies leaves its lease to expire (ttl); the next taker reads
// the checkpoint and carries on as in step 1. The lease is the only guard
// against two writers on the small-file path; the S3 Concat path also
// checks the ETag server-side (x-amz-copy-source-if-match). A holder
// stalled for longer than the ttl between its last renewal and its write
// can still race its successor; the checkpoint check then detects the
// mismatch on the next update and rebuilds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/store.h"

namespace modelbay::results {

std::string ResultsFileKey(int version);        // "results_<N>.csv"
std::string ResultsCheckpointKey(int version);  // "results_<N>.checkpoint.json"

// A set of log object keys of one version, kept small: shipped objects of
// one writer run have consecutive sequence ranges, so they are stored as
// merged [first, last] ranges per "<writer>/<run>"; keys of another shape
// are kept as they are. Not thread-safe.
class IncludedObjects {
 public:
  // `key` relative to logs/v<N>/ ("<writer>/<run>-<first>-<last>.csv").
  bool Contains(const std::string& key) const;
  void Add(const std::string& key);
  size_t ranges() const;
  bool operator==(const IncludedObjects&) const = default;

  nlohmann::json ToJson() const;
  static Result<IncludedObjects> FromJson(const nlohmann::json& j);

 private:
  std::map<std::string, std::vector<std::pair<uint64_t, uint64_t>>> runs_;  // sorted, disjoint
  std::set<std::string> other_;
};

struct FileState {
  IncludedObjects included;
  uint64_t size = 0;
  uint64_t rows = 0;  // data rows (header excluded)
  std::string etag;   // empty in `pending` (not known before the write)
};

struct Checkpoint {
  int version = 0;
  std::string header;  // the CSV header line, ends in '\n'
  FileState committed;
  std::optional<FileState> pending;
  // The ETag of the file the pending step replaces: a file that still has
  // it did not get the step, whatever its size.
  std::string pending_replaces;

  std::string ToJson() const;
  // InvalidArgument naming the problem when `text` is not a checkpoint.
  static Result<Checkpoint> Parse(std::string_view text);
};

struct ResultsFileOptions {
  std::chrono::milliseconds lease_ttl{30000};
  std::chrono::milliseconds lease_wait{0};  // how long to retry a held lease
  std::string owner;                        // lease owner; empty: DefaultLeaseOwner()
};
ResultsFileOptions DefaultResultsFileOptions();

struct UpdateReport {
  int version = 0;
  bool leased_elsewhere = false;  // another updater held the lease: nothing done
  bool rebuilt = false;           // written whole from every log object
  bool recovered = false;         // adopted a pending step left by a crash
  uint64_t objects_added = 0;
  uint64_t rows_added = 0;
  uint64_t bytes_read = 0;  // GetObject bytes (log objects, checkpoint, old file if rewritten)
  uint64_t file_bytes = 0;
  uint64_t file_rows = 0;
};

// One update of version N (steps above), under its lease. `full` rebuilds
// whole even when the checkpoint matches (what `results export` does).
Result<UpdateReport> UpdateResultsFile(std::shared_ptr<Store> results, int version,
                                       const ResultsFileOptions& options, bool full = false);
inline Result<UpdateReport> RebuildResultsFile(std::shared_ptr<Store> results, int version,
                                               const ResultsFileOptions& options) {
  return UpdateResultsFile(std::move(results), version, options, /*full=*/true);
}

// What `modelbay predict` runs when its rows are shipped: one update of
// version N (waiting up to a few seconds for a server's update to finish).
// Failures are logged as warnings, not returned: the rows are safely in the
// log, and a server or `results export` adds them later.
void UpdateResultsFileAfterBatch(std::shared_ptr<Store> results, int version);

// Every `interval`, updates results_<N>.csv of every version with log
// objects in the store (one List of logs/ per pass). Thread-safe: Start and
// Stop from one thread; `on_update` runs on the refresher's thread.
class ResultsFileRefresher {
 public:
  ResultsFileRefresher(std::shared_ptr<Store> results, std::chrono::milliseconds interval,
                       ResultsFileOptions options, std::function<void(const UpdateReport&)> on_update,
                       std::function<void()> on_error);
  ~ResultsFileRefresher();  // Stop(false)

  void Start();
  // Stops the thread; with `final_pass`, runs one more pass first (after
  // the prediction log was closed, so that its last rows are included).
  void Stop(bool final_pass);
  // One pass over every version now (the thread's body; also for tests).
  Status RunOnce();

 private:
  std::shared_ptr<Store> results_;
  std::chrono::milliseconds interval_;
  ResultsFileOptions options_;
  std::function<void(const UpdateReport&)> on_update_;
  std::function<void()> on_error_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace modelbay::results
