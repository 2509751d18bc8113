#include "results/group_commit.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <span>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/end_of_turn.h"
#include "core/posix_file.h"
#include "core/thread_name.h"
#include "results/segment.h"

namespace modelbay::results {
namespace fs = std::filesystem;

// The segment a version currently appends to.
struct GroupCommitWriter::Active {
  int version = 0;
  std::string header_line;
  uint64_t salt = 0;
  SegmentName name;
  fs::path path;
  uint64_t rows = 0;          // guarded by mu_: rows appended, written or queued
  std::string pending;        // guarded by mu_: framed records waiting for the next write
  uint64_t pending_rows = 0;  // guarded by mu_
  uint64_t appended_bytes = 0;  // guarded by mu_: framed bytes appended
  int fd = -1;                // who touches it: see group_commit.h; opened by the first write
  uint64_t durable_size = 0;  // likewise: bytes known to be written
  uint64_t allocated = 0;     // likewise (kAlways): file size held ahead (spare or fallocate), 0 if none
  bool preallocate = true;    // likewise (kAlways): false once fallocate is refused
  bool direct = false;        // likewise (kAlways): fd is O_DIRECT | O_DSYNC (see WriteDurably)
  std::string tail;           // likewise (direct): the bytes of the last partial block
};

namespace {

// With kAlways a segment's file is written in place (pwrite) below its
// size, so that the fdatasync of a commit has no file size change to make
// durable. The space comes from a spare file of written zeros (the zero
// filler's) and, past its end, from fallocate in steps of this many bytes
// (its blocks are "unwritten" until written: each commit into them also
// journals their conversion). The zeros past the last record read as the
// end of the segment (segment.h), and a sealed segment is cut to its
// records.
constexpr uint64_t kPreallocateStep = uint64_t{4} << 20;

// Spares are sized from the segment sealed last (twice its size, in whole
// MiB, so a segment rarely outgrows its spare) within these bounds.
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kMinSpare = kMiB;

// The unit of an O_DIRECT write: offsets, lengths and the buffer's address.
constexpr size_t kBlock = 4096;
// The largest O_DIRECT write buffer kept between commits.
constexpr size_t kMaxKeptBuffer = size_t{16} << 20;

// Writes `size` bytes of zeros to a new file `path` and syncs it; removes
// it on failure. Where the filesystem allows, in O_DIRECT writes of a
// modest size: a commit's cache flush then never queues behind megabytes of
// zeros in writeback (a first cut that wrote them buffered gave one client's
// 100-row requests a p99 of 20 ms, by hand with benchmarks/serve/logpath_ab.sh
// CONNS=1 BODY=plain_hundred.json).
Status WriteZeros(const fs::path& path, uint64_t size) {
  constexpr size_t kChunk = 128 * 1024;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_DIRECT, 0644);
  if (fd < 0 && errno == EINVAL) fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable(fmt::format("cannot create {}: {}", path.string(), ErrnoText(errno)));
  static const char* const zeros = [] {
    auto* p = static_cast<char*>(std::aligned_alloc(kBlock, kChunk));
    if (p != nullptr) std::memset(p, 0, kChunk);
    return p;
  }();
  Status s = zeros != nullptr ? Status::Ok() : ResourceExhausted("out of memory for a spare prediction log file");
  for (uint64_t off = 0; s.ok() && off < size; off += kChunk) {
    s = WriteAll(fd, std::string_view(zeros, std::min<uint64_t>(kChunk, size - off)), path);
  }
  if (s.ok()) s = SyncFd(fd, path);
  ::close(fd);
  if (!s.ok()) ::unlink(path.c_str());
  return s;
}

}  // namespace

// What one commit writes, seals and completes.
struct GroupCommitWriter::Batch {
  struct Job {
    Active* active;
    std::string bytes;
    uint64_t rows;
  };
  std::vector<Job> jobs;
  std::vector<std::unique_ptr<Active>> sealing;
  std::vector<Done> done;
  uint64_t seal_to = 0;  // seal_requested_ when taken; 0: no seal
};

GroupCommitWriter::GroupCommitWriter(Options options, SealedSink sink, std::atomic<int64_t>& backlog_rows)
    : options_(std::move(options)), sink_(std::move(sink)), backlog_rows_(backlog_rows) {
  committer_ = std::thread([this] {
    SetThreadName("mb-commit");
    Run();
  });
  if (options_.fsync == FsyncPolicy::kAlways) {
    options_.dir->RemoveSpares();  // what a crash left behind (a spare is cheap to redo)
    spare_bytes_ = kMinSpare;  // then sized from the sealed segments
    filler_ = std::thread([this] {
      SetThreadName("mb-zerofill");
      FillSpares();
    });
  }
}

GroupCommitWriter::~GroupCommitWriter() {
  Stop();
  for (auto& [v, a] : active_) {
    if (a->fd >= 0) ::close(a->fd);
  }
  std::free(direct_buf_);
}

void GroupCommitWriter::Stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  {
    std::lock_guard lk(spare_mu_);
    spare_stopping_ = true;
  }
  spare_cv_.notify_all();
  if (filler_.joinable()) filler_.join();
  std::lock_guard lk(spare_mu_);
  if (spare_) {
    ::unlink(spare_->path.c_str());
    spare_.reset();
  }
}

// Keeps one spare ready. A spare it cannot write (a full disk) is not
// retried: new segments then take their space from fallocate alone.
void GroupCommitWriter::FillSpares() {
  for (uint64_t n = 1;; ++n) {
    {
      std::unique_lock lk(spare_mu_);
      spare_cv_.wait(lk, [&] { return spare_stopping_ || !spare_; });
      if (spare_stopping_) return;
    }
    // Filled under a temporary name: a file named .spare-N is whole.
    Spare spare{options_.dir->SparePath(n), spare_bytes_.load()};
    const fs::path partial = fmt::format("{}.partial", spare.path.string());
    Status s = WriteZeros(partial, spare.size);
    if (s.ok() && ::rename(partial.c_str(), spare.path.c_str()) != 0) {
      s = Unavailable(fmt::format("cannot rename {}: {}", partial.string(), ErrnoText(errno)));
      ::unlink(partial.c_str());
    }
    if (!s.ok()) {
      spdlog::warn("prediction log: no more spare segment files ({}); commits go on without them", s.message());
      return;
    }
    std::lock_guard lk(spare_mu_);
    if (spare_stopping_) {
      ::unlink(spare.path.c_str());
      return;
    }
    spare_ = std::move(spare);
  }
}

// kAlways: makes the ready spare (if any) the file of `a`. On success
// a.fd is open and a.allocated is the spare's size.
bool GroupCommitWriter::TakeSpare(Active& a) {
  std::optional<Spare> spare;
  {
    std::lock_guard lk(spare_mu_);
    spare.swap(spare_);
  }
  if (!spare) return false;
  spare_cv_.notify_one();
  // Never over an existing file (the segment name is new, but a path we did
  // not create is not ours to replace).
  if (::renameat2(AT_FDCWD, spare->path.c_str(), AT_FDCWD, a.path.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    ::unlink(spare->path.c_str());
    if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {  // e.g. NFS: no RENAME_NOREPLACE
      spdlog::info("prediction log: {} cannot rename without replacing ({}); segments go on without spare files",
                   options_.dir->path().string(), ErrnoText(err));
      {
        std::lock_guard lk(spare_mu_);
        spare_stopping_ = true;  // the filler stops; Stop() still joins it
      }
      spare_cv_.notify_all();
    }
    return false;
  }
  const int fd = ::open(a.path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    ::unlink(a.path.c_str());
    return false;
  }
  a.fd = fd;
  a.allocated = spare->size;
  return true;
}

namespace {

// The appends one io thread made to one writer during a turn of its loop
// (copied: the caller's buffers do not outlive the call).
struct StagedAppends {
  struct Item {
    int version;
    size_t header;      // index in headers
    size_t begin, end;  // in csv
    size_t rows;
    GroupCommitWriter::Done done;
  };
  std::vector<std::string> headers;
  std::string csv;
  std::vector<Item> items;

  void Add(int version, std::string_view header_line, std::string_view rows_csv, size_t rows,
           GroupCommitWriter::Done done) {
    if (headers.empty() || headers.back() != header_line) headers.emplace_back(header_line);
    const size_t begin = csv.size();
    csv.append(rows_csv);
    items.push_back({version, headers.size() - 1, begin, csv.size(), rows, std::move(done)});
  }
};

// This thread's staged appends, per writer (a thread rarely stages for more
// than one). Taken whole by the flush its EndOfTurn runs.
thread_local std::vector<std::pair<const void*, StagedAppends>> t_staged;

}  // namespace

void GroupCommitWriter::Append(int version, std::string_view header_line, std::string_view csv, size_t rows,
                               Done done) {
  if (rows == 0) return done(Status::Ok());
  if (EndOfTurn* turn = EndOfTurn::Current()) return Stage(*turn, version, header_line, csv, rows, std::move(done));
  Entry one{version, header_line, csv, rows, &done};
  Submit(std::span<Entry>(&one, 1));
}

// On an io thread, the appends of one turn of its loop go in together at
// its end: one write (kNever), or one commit the committer cannot start
// before the turn's last request is in (kAlways).
void GroupCommitWriter::Stage(EndOfTurn& turn, int version, std::string_view header_line, std::string_view csv,
                              size_t rows, Done done) {
  auto mine = [this](const auto& e) { return e.first == this; };
  auto it = std::find_if(t_staged.begin(), t_staged.end(), mine);
  if (it == t_staged.end()) {
    it = t_staged.emplace(t_staged.end(), this, StagedAppends{});
    turn.Schedule([this, mine] {
      auto at = std::find_if(t_staged.begin(), t_staged.end(), mine);
      if (at == t_staged.end()) return;
      StagedAppends staged = std::move(at->second);
      t_staged.erase(at);
      std::vector<Entry> entries;
      entries.reserve(staged.items.size());
      for (auto& item : staged.items) {
        entries.push_back({item.version, staged.headers[item.header],
                           std::string_view(staged.csv).substr(item.begin, item.end - item.begin), item.rows,
                           &item.done});
      }
      Submit(entries);
    });
  }
  it->second.Add(version, header_line, csv, rows, std::move(done));
}

// Under mu_: the active segment of `version`, created when there is none,
// or nullptr and why (`refused`).
GroupCommitWriter::Active* GroupCommitWriter::ActiveFor(int version, std::string_view header_line,
                                                        Status& refused) {
  auto it = active_.find(version);
  if (!broken_.ok()) {
    refused = broken_;
  } else if (stopping_) {
    refused = FailedPrecondition("the prediction log is closed");
  } else if (it != active_.end() && it->second->header_line != header_line) {
    refused = Internal(fmt::format("the CSV header of version {} changed while logging", version));
  } else {
    if (it == active_.end()) {
      auto [seq, inserted] = next_seq_.try_emplace(version, 1);
      auto a = std::make_unique<Active>();
      a->version = version;
      a->header_line = std::string(header_line);
      a->salt = NewSegmentSalt();
      a->name = {options_.run_id, seq->second};
      a->path = options_.dir->SegmentPath(version, a->name);
      it = active_.emplace(version, std::move(a)).first;
    }
    return it->second.get();
  }
  return nullptr;
}

// Under mu_: `rows` (framed into `framed` bytes) were appended to `a`.
// Returns whether the committer has a full segment to seal.
bool GroupCommitWriter::Appended(Active& a, size_t rows, size_t framed) {
  a.appended_bytes += framed;
  a.rows += rows;
  next_seq_[a.version] = a.name.first_seq + a.rows;
  backlog_rows_ += static_cast<int64_t>(rows);
  // A full segment is sealed by the committer (no one waits for it).
  if (a.appended_bytes >= options_.max_segment_bytes && seal_requested_ == seal_done_) {
    ++seal_requested_;
    return true;
  }
  return false;
}

void GroupCommitWriter::Submit(std::span<Entry> entries) {
  if (options_.fsync == FsyncPolicy::kAlways) return Queue(entries);
  WriteNow(entries);
}

// kNever: frames the appends and writes them into the page cache before
// anyone is told, one write per version (pending is only scratch here: it
// is empty between writes), then runs their completions.
void GroupCommitWriter::WriteNow(std::span<Entry> entries) {
  std::vector<Status> outcome(entries.size());
  bool seal_now = false;
  {
    std::lock_guard lk(mu_);
    std::vector<Active*> touched;
    std::vector<Active*> entry_active(entries.size(), nullptr);
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      Active* a = ActiveFor(e.version, e.header_line, outcome[i]);
      if (a == nullptr) continue;
      if (a->pending.empty()) touched.push_back(a);
      AppendRecord(a->pending, e.csv, static_cast<uint32_t>(e.rows), a->salt);
      entry_active[i] = a;
    }
    for (Active* a : touched) {
      const size_t framed = a->pending.size();
      Status written = WriteJob(*a, a->pending);
      a->pending.clear();
      if (!written.ok() && written.code() == Code::kDataLoss && broken_.ok()) broken_ = written;
      size_t rows = 0;
      for (size_t i = 0; i < entries.size(); ++i) {
        if (entry_active[i] != a) continue;
        if (written.ok()) {
          rows += entries[i].rows;
        } else {
          outcome[i] = written;
        }
      }
      if (written.ok() && Appended(*a, rows, framed)) seal_now = true;
    }
  }
  if (seal_now) work_cv_.notify_one();
  for (size_t i = 0; i < entries.size(); ++i) (*entries[i].done)(outcome[i]);
}

// kAlways: queues the appends for the committer under one lock and wakes it
// once; the refused ones complete here.
void GroupCommitWriter::Queue(std::span<Entry> entries) {
  std::vector<Status> refused(entries.size());
  {
    std::lock_guard lk(mu_);
    for (size_t i = 0; i < entries.size(); ++i) {
      Entry& e = entries[i];
      Active* a = ActiveFor(e.version, e.header_line, refused[i]);
      if (a == nullptr) continue;
      const size_t before = a->pending.size();
      AppendRecord(a->pending, e.csv, static_cast<uint32_t>(e.rows), a->salt);
      a->pending_rows += e.rows;
      waiting_.push_back(std::move(*e.done));
      (void)Appended(*a, e.rows, a->pending.size() - before);  // the commit seals it
    }
  }
  work_cv_.notify_one();
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!refused[i].ok()) (*entries[i].done)(refused[i]);
  }
}

GroupCommitWriter::CommitStats GroupCommitWriter::commit_stats() const {
  return {commits_.load(std::memory_order_relaxed), committed_appends_.load(std::memory_order_relaxed),
          static_cast<double>(commit_ns_.load(std::memory_order_relaxed)) / 1e9};
}

Status GroupCommitWriter::SealAll() {
  std::unique_lock lk(mu_);
  if (exited_) return FailedPrecondition("the prediction log is closed");
  const uint64_t mine = ++seal_requested_;
  work_cv_.notify_one();
  seal_cv_.wait(lk, [&] { return seal_done_ >= mine || exited_; });
  return broken_;
}

void GroupCommitWriter::Run() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lk(mu_);
      work_cv_.wait(lk, [&] { return stopping_ || !waiting_.empty() || seal_requested_ > seal_done_; });
      if (waiting_.empty() && seal_requested_ == seal_done_) {  // stopping, nothing queued
        exited_ = true;
        seal_cv_.notify_all();
        return;
      }
      batch = TakeBatch();
    }
    Commit(batch);
  }
}

// Takes everything queued (under mu_).
GroupCommitWriter::Batch GroupCommitWriter::TakeBatch() {
  Batch batch;
  batch.done = std::exchange(waiting_, {});
  if (seal_requested_ > seal_done_) batch.seal_to = seal_requested_;
  for (auto it = active_.begin(); it != active_.end();) {
    Active* a = it->second.get();
    if (!a->pending.empty()) {
      batch.jobs.push_back({a, std::exchange(a->pending, {}), std::exchange(a->pending_rows, 0)});
    }
    if (batch.seal_to != 0 && a->rows > 0) {
      batch.sealing.push_back(std::move(it->second));
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

// Writes a batch (mu_ not held), hands sealed segments to the sink, then
// completes the batch's appends.
void GroupCommitWriter::Commit(Batch& batch) {
  Status status;
  int64_t failed_rows = 0;
  const auto started = std::chrono::steady_clock::now();
  for (auto& job : batch.jobs) {
    Status s = WriteJob(*job.active, job.bytes);
    if (!s.ok()) {
      failed_rows += static_cast<int64_t>(job.rows);
      if (status.ok()) status = s;
    }
  }
  if (!batch.jobs.empty()) {
    const auto spent = std::chrono::steady_clock::now() - started;
    commits_.fetch_add(batch.jobs.size(), std::memory_order_relaxed);
    committed_appends_.fetch_add(batch.done.size(), std::memory_order_relaxed);
    commit_ns_.fetch_add(static_cast<uint64_t>(std::chrono::nanoseconds(spent).count()), std::memory_order_relaxed);
  }
  std::vector<SpooledSegment> sealed;
  for (auto& a : batch.sealing) {
    if (a->fd < 0) continue;  // nothing reached the disk
    if (options_.fsync == FsyncPolicy::kNever) (void)SyncFd(a->fd, a->path);  // sealed content is final
    // The preallocated zeros go; should a crash bring them back, they read
    // as the end of the segment (kAlways's records are durable already).
    if (a->allocated > a->durable_size || a->direct) (void)::ftruncate(a->fd, static_cast<off_t>(a->durable_size));
    if (options_.fsync == FsyncPolicy::kAlways) {
      const uint64_t want = (2 * a->durable_size + kMiB - 1) / kMiB * kMiB;
      spare_bytes_ = std::clamp(want, kMinSpare, options_.max_segment_bytes + kMiB);
    }
    ::close(a->fd);
    a->fd = -1;
    sealed.push_back({a->version, a->path, a->name, a->rows});
  }
  backlog_rows_ -= failed_rows;
  if (!sealed.empty()) sink_(std::move(sealed));
  for (auto& done : batch.done) done(status);
  std::lock_guard lk(mu_);
  if (!status.ok() && broken_.ok() && status.code() == Code::kDataLoss) broken_ = status;
  if (batch.seal_to != 0) {
    seal_done_ = batch.seal_to;
    seal_cv_.notify_all();
  }
}

// With kNever this runs on an io thread (the first write after a seal), and
// nothing is fsynced: the policy promises the rows survive the process, not
// the machine, and the page cache keeps both the file and its directory
// entry for that. An fsync here held a whole turn of requests (and the
// writer's lock) once per shipment: the p99 of --fsync never.
Status GroupCommitWriter::CreateSegment(Active& a) {
  const bool sync = options_.fsync == FsyncPolicy::kAlways;
  const fs::path dir = a.path.parent_path();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Unavailable(fmt::format("cannot create spool dir {}: {}", dir.string(), ec.message()));
    if (sync) FsyncDir(options_.dir->path());
  }
  // kAlways writes at offsets (pwrite) into a spare or preallocated space;
  // kNever appends.
  const bool from_spare = sync && TakeSpare(a);
  if (!from_spare) {
    a.fd = ::open(a.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (sync ? 0 : O_APPEND), 0644);
    a.allocated = 0;
    if (a.fd < 0) {
      return Unavailable(fmt::format("cannot create spool file {}: {}", a.path.string(), ErrnoText(errno)));
    }
  }
  if (sync && options_.direct_io) OpenDirect(a);
  std::string header;
  AppendRecord(header, HeaderPayload(a.salt, options_.writer_id, a.header_line), 0, 0);
  a.durable_size = 0;
  Status s = sync ? WriteDurably(a, header) : WriteAll(a.fd, header, a.path);
  if (!s.ok()) {
    ::close(a.fd);
    a.fd = -1;
    ::unlink(a.path.c_str());
    return s;
  }
  if (sync) {
    FsyncDir(dir);
    if (from_spare) FsyncDir(options_.dir->path());  // the spare's name is gone
  }
  a.durable_size = header.size();
  return Status::Ok();
}

// kAlways: swaps a.fd for one opened with O_DIRECT | O_DSYNC where the
// filesystem allows it (older tmpfs and some FUSE file systems do not).
void GroupCommitWriter::OpenDirect(Active& a) {
  const int fd = ::open(a.path.c_str(), O_WRONLY | O_CLOEXEC | O_DIRECT | O_DSYNC);
  if (fd < 0) return;
  ::close(a.fd);
  a.fd = fd;
  a.direct = true;
  a.tail.clear();
}

// kAlways: writes `bytes` at a.durable_size and makes them durable.
//
// On an O_DIRECT | O_DSYNC file one pwrite does both: it rewrites the last
// partial block (a.tail) with `bytes` after it, zero-padded to whole blocks
// (zeros read as the end of the segment). Written over the spare's zeros,
// that is a data write and a cache flush, with no page cache, writeback or
// journal in between: on this machine 1.2x (120 B) and 1.45x (12 KB) the
// durable writes per second of pwrite + fdatasync over the same zeros
// (`BIG=1 benchmarks/serve/fdatasync_probe.py`).
Status GroupCommitWriter::WriteDurably(Active& a, std::string_view bytes) {
  if (!a.direct) {
    MB_RETURN_IF_ERROR(WriteAllAt(a.fd, bytes, a.durable_size, a.path));
    return SyncFd(a.fd, a.path);
  }
  const uint64_t start = a.durable_size - a.tail.size();
  const size_t used = a.tail.size() + bytes.size();
  const size_t len = (used + kBlock - 1) / kBlock * kBlock;
  if (direct_cap_ < len) {
    std::free(direct_buf_);
    direct_buf_ = static_cast<char*>(std::aligned_alloc(kBlock, len));
    direct_cap_ = direct_buf_ != nullptr ? len : 0;
    if (direct_buf_ == nullptr) return ResourceExhausted("out of memory for a prediction log write");
  }
  std::memcpy(direct_buf_, a.tail.data(), a.tail.size());
  std::memcpy(direct_buf_ + a.tail.size(), bytes.data(), bytes.size());
  std::memset(direct_buf_ + used, 0, len - used);
  Status s = WriteAllAt(a.fd, std::string_view(direct_buf_, len), start, a.path);
  if (s.ok()) {
    const size_t whole = used / kBlock * kBlock;
    a.tail.assign(direct_buf_ + whole, used - whole);
  }
  if (direct_cap_ > kMaxKeptBuffer) {  // one huge batch (a big `predict`): not kept for the rest
    std::free(direct_buf_);
    direct_buf_ = nullptr;
    direct_cap_ = 0;
  }
  return s;
}

// Makes the file's size at least `end` (rounded up to a step), unless the
// filesystem cannot (then the writes extend the file, as appends would).
void GroupCommitWriter::Preallocate(Active& a, uint64_t end) {
  if (!a.preallocate || end <= a.allocated) return;
  const uint64_t from = std::max(a.allocated, a.durable_size);
  const uint64_t to = (end / kPreallocateStep + 1) * kPreallocateStep;
  if (::fallocate(a.fd, 0, static_cast<off_t>(from), static_cast<off_t>(to - from)) == 0) {
    a.allocated = to;
  } else {
    a.preallocate = false;  // EOPNOTSUPP (e.g. some network filesystems), ENOSPC: the write says
  }
}

Status GroupCommitWriter::WriteJob(Active& a, std::string_view bytes) {
  if (a.fd < 0) MB_RETURN_IF_ERROR(CreateSegment(a));
  const bool sync = options_.fsync == FsyncPolicy::kAlways;
  Status s;
  if (sync) {
    Preallocate(a, a.durable_size + bytes.size() + kBlock);  // + a direct write's padding
    s = WriteDurably(a, bytes);
  } else {
    s = WriteAll(a.fd, bytes, a.path);
  }
  if (s.ok()) {
    a.durable_size += bytes.size();
    return s;
  }
  // Cut the partial write off, so later records stay readable (and the
  // preallocated space with it: the next write preallocates again).
  a.allocated = 0;
  if (::ftruncate(a.fd, static_cast<off_t>(a.durable_size)) != 0) {
    return DataLoss(fmt::format("{}; the spool file {} could not be repaired ({}); restart the server",
                                s.message(), a.path.string(), ErrnoText(errno)));
  }
  return s;
}

}  // namespace modelbay::results
