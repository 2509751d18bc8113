// The group-commit writer of one process's writer dir: appends framed CSV
// rows to the active segment of each model version, and seals segments for
// the shipper.
//
// FsyncPolicy::kAlways: one committer thread does every write and fsync.
// Appends queue their framed rows and a completion; the committer takes
// everything queued, writes it (one durable write per version), then runs
// the completions of that batch. So N appends waiting together cost one
// write and one flush, and no thread waits per append. On a thread with an
// event loop (core/end_of_turn.h) the appends of one turn are queued
// together at its end, so a commit never starts with only the first
// request of a turn.
//
// A commit writes over zeros already on disk, so making it durable is a
// data write and a cache flush, with no size change, allocation or extent
// conversion to journal: a spare file of written zeros, which the zero
// filler thread keeps ready (WriterDir::SparePath), becomes each new
// segment (renamed), and past its end the segment is preallocated with
// fallocate. The segment is opened O_DIRECT | O_DSYNC where the file system
// allows, so one pwrite of whole blocks is the commit (WriteDurably);
// elsewhere pwrite + fdatasync. docs/prediction-log.md has the figures.
//
// FsyncPolicy::kNever: there is nothing to wait for, so no thread hop. The
// appending thread writes its framed rows itself (to the page cache, under
// mu_, with the same repair of a partial write) and runs the completion
// itself: inline, or, on a thread with an event loop (core/end_of_turn.h:
// the server's io threads), at the end of the loop's turn, so the appends
// of one turn take mu_ once and share one write. The committer only seals
// segments.
//
// Thread-safety: every public member is thread-safe. mu_ guards the queue
// (pending bytes, completions, seal requests) and the set of active
// segments. A segment's file (fd, durable size) is touched, while the
// segment is active, only by the committer outside mu_ (kAlways) or only by
// appenders under mu_ (kNever); once the committer took it out of the active
// set to seal it, only by the committer. spare_mu_ guards the ready spare,
// which the filler thread puts and the committer takes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"
#include "results/prediction_log.h"
#include "results/spool_dir.h"

namespace modelbay {
class EndOfTurn;
}  // namespace modelbay

namespace modelbay::results {

class GroupCommitWriter {
 public:
  // Runs on the committer thread (kAlways) or inline on the caller's (kNever,
  // and an append refused at once); must not block.
  using Done = std::function<void(const Status&)>;
  // Receives sealed segments (on the committer thread).
  using SealedSink = std::function<void(std::vector<SpooledSegment>)>;

  struct Options {
    const WriterDir* dir = nullptr;  // outlives the writer
    std::string writer_id;
    std::string run_id;
    FsyncPolicy fsync = FsyncPolicy::kAlways;
    // A segment holding this many bytes is sealed at the next commit (the
    // shipper holds one whole segment in memory).
    uint64_t max_segment_bytes = uint64_t{8} << 20;
    // kAlways: open segments O_DIRECT | O_DSYNC where the file system allows.
    bool direct_io = true;
  };
  // `backlog_rows` (outliving the writer) counts rows appended and not yet
  // shipped: the writer adds, and subtracts rows whose write failed.
  GroupCommitWriter(Options options, SealedSink sink, std::atomic<int64_t>& backlog_rows);
  // Stop().
  ~GroupCommitWriter();

  // Queues `rows` CSV lines (`csv`, each ending in '\n', copied) for
  // `version`, whose CSV header is `header_line` (fixed per version).
  // `done` runs once they are durable per the fsync policy, or failed:
  // with kNever on the calling thread, before Append returns or, where the
  // thread has an EndOfTurn, at the end of its turn.
  void Append(int version, std::string_view header_line, std::string_view csv, size_t rows, Done done);
  // Seals every segment with rows at the next commit (appends after it go
  // to new segments) and returns once they are handed to the sink.
  Status SealAll();
  // Refuses later appends, completes the queued ones, stops the committer.
  void Stop();

  // kAlways's group commits so far: how many durable writes, the appends
  // they covered (appends / commits is the group size) and the time spent
  // writing and flushing. All 0 with kNever.
  struct CommitStats {
    uint64_t commits = 0;
    uint64_t appends = 0;
    double seconds = 0;
  };
  CommitStats commit_stats() const;

 private:
  struct Active;
  struct Batch;
  // One append: its rows, and its completion (run, or moved to the queue).
  struct Entry {
    int version;
    std::string_view header_line;
    std::string_view csv;
    size_t rows;
    Done* done;
  };
  void Run();
  Batch TakeBatch();
  void Commit(Batch& batch);
  Active* ActiveFor(int version, std::string_view header_line, Status& refused);
  bool Appended(Active& a, size_t rows, size_t framed);
  void Stage(EndOfTurn& turn, int version, std::string_view header_line, std::string_view csv, size_t rows,
             Done done);
  void Submit(std::span<Entry> entries);
  void WriteNow(std::span<Entry> entries);  // kNever
  void Queue(std::span<Entry> entries);     // kAlways
  Status CreateSegment(Active& a);
  bool TakeSpare(Active& a);  // kAlways
  void FillSpares();          // kAlways: the zero filler's loop
  Status WriteJob(Active& a, std::string_view bytes);
  void OpenDirect(Active& a);                              // kAlways
  Status WriteDurably(Active& a, std::string_view bytes);  // kAlways
  static void Preallocate(Active& a, uint64_t end);

  const Options options_;
  const SealedSink sink_;
  std::atomic<int64_t>& backlog_rows_;

  std::mutex mu_;
  std::condition_variable work_cv_;  // committer: something queued or stop
  std::condition_variable seal_cv_;  // SealAll: seal_done_ advanced
  std::map<int, std::unique_ptr<Active>> active_;  // guarded by mu_
  std::map<int, uint64_t> next_seq_;               // guarded by mu_
  std::vector<Done> waiting_;                      // guarded by mu_: completions of the queued rows
  uint64_t seal_requested_ = 0;                    // guarded by mu_
  uint64_t seal_done_ = 0;                         // guarded by mu_
  Status broken_;  // guarded by mu_; sticky: a failed write could not be repaired
  bool stopping_ = false;  // guarded by mu_
  bool exited_ = false;    // guarded by mu_: the committer returned

  // kAlways: a file of zeros in the writer dir, written and synced ahead of
  // need, that the next segment is renamed from (see CreateSegment).
  struct Spare {
    std::filesystem::path path;
    uint64_t size = 0;
  };
  std::mutex spare_mu_;
  std::condition_variable spare_cv_;       // the filler: a spare was taken, or stop
  std::optional<Spare> spare_;             // guarded by spare_mu_: ready to take
  bool spare_stopping_ = false;            // guarded by spare_mu_: Stop, or spares cannot be renamed here
  std::atomic<uint64_t> spare_bytes_{0};   // the size of the next spare (from the last sealed segment)

  std::atomic<uint64_t> commits_{0}, committed_appends_{0}, commit_ns_{0};  // commit_stats()

  char* direct_buf_ = nullptr;  // the committer's: aligned scratch of WriteDurably
  size_t direct_cap_ = 0;

  std::thread committer_;  // last: started once everything above exists
  std::thread filler_;     // likewise (kAlways only)
};

}  // namespace modelbay::results
