#include "results/row_log.h"

#include "core/posix_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/hash.h"
#include "registry/registry.h"
#include "results/segment.h"

namespace modelbay::results {
namespace fs = std::filesystem;

std::string ShippedKey(int version, std::string_view writer_id, std::string_view run_id,
                       uint64_t first_seq, uint64_t last_seq) {
  return fmt::format("logs/v{}/{}/{}-{:010}-{:010}.csv", version, writer_id, run_id, first_seq,
                     last_seq);
}

namespace {

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < bytes; ++i) out += fmt::format("{:02x}", rd() & 0xff);
  return out;
}

bool ValidWriterId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

Result<std::string> LoadWriterId(const fs::path& spool, const std::string& given) {
  if (!given.empty()) {
    if (!ValidWriterId(given)) {
      return InvalidArgument(fmt::format(
          "writer id '{}' is not valid: use 1-64 characters from A-Z a-z 0-9 . _ -", given));
    }
    return given;
  }
  fs::path file = spool / "writer_id";
  std::ifstream in(file);
  if (in) {
    std::string id;
    std::getline(in, id);
    if (ValidWriterId(id)) return id;
    return InvalidArgument(fmt::format("{} does not hold a valid writer id; delete the file to get a new one",
                                       file.string()));
  }
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  std::string id;
  for (const char* p = host; *p && id.size() < 40; ++p) id += ValidWriterId(std::string_view(p, 1)) ? *p : '_';
  id += (id.empty() ? "" : "-") + RandomHex(4);
  fs::path tmp = spool / "writer_id.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << "\n";
    if (!out.flush()) return Unavailable(fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) return Unavailable(fmt::format("cannot write {}: {}", file.string(), ec.message()));
  FsyncDir(spool);
  return id;
}

// "v12" -> 12.
std::optional<int> ParseVersionDir(std::string_view name) {
  if (name.empty() || name[0] != 'v') return std::nullopt;
  return ParseVersionNumber(name.substr(1));
}

struct Batch {
  bool done = false;
  Status status;
};

// The segment a version currently appends to.
struct Active {
  int version = 0;
  std::string header_line;
  SegmentName name;
  fs::path path;
  int fd = -1;               // opened by the first write
  uint64_t durable_size = 0;  // bytes known to be written (leader only)
  uint64_t rows = 0;          // rows appended, written or pending
  uint64_t appended_bytes = 0;  // framed bytes appended (under mu_)
  std::string pending;        // framed records waiting for the next write
  uint64_t pending_rows = 0;
};

struct Sealed {
  int version = 0;
  fs::path path;
  SegmentName name;
  uint64_t rows = 0;
};

class RowLogImpl final : public RowLog {
 public:
  RowLogImpl(RowLogOptions options, std::shared_ptr<Store> store, int lock_fd, std::string writer_id)
      : options_(std::move(options)),
        store_(std::move(store)),
        lock_fd_(lock_fd),
        writer_id_(std::move(writer_id)),
        run_id_(FormatAmzDate(std::chrono::system_clock::now()) + "-" + RandomHex(4)) {}

  ~RowLogImpl() override {
    StopShipper();
    std::lock_guard lk(mu_);
    for (auto& [v, a] : active_) {
      if (a->fd >= 0) ::close(a->fd);
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Status Recover();
  void StartShipper() {
    bool recovered;
    {
      std::lock_guard lk(mu_);
      recovered = !sealed_.empty();
    }
    // Ship what recovery found right away; otherwise start the usual period.
    auto first_wait = recovered ? std::chrono::milliseconds(0) : options_.ship_interval;
    shipper_ = std::thread([this, first_wait] { ShipLoop(first_wait); });
  }

  Status Append(int version, std::string_view header_line, std::string_view csv, size_t rows) override;
  Status Flush() override { return ShipOnce(); }
  Status Close() override;
  PredictionLog::Stats stats() const override {
    std::lock_guard lk(mu_);
    return stats_;
  }
  const std::string& writer_id() const override { return writer_id_; }

 private:
  void Lead(std::unique_lock<std::mutex>& lk);
  void WaitFor(const std::shared_ptr<Batch>& batch, std::unique_lock<std::mutex>& lk) {
    while (!batch->done) {
      if (!writing_) {
        Lead(lk);
      } else {
        cv_.wait(lk);
      }
    }
  }
  Status CreateSegment(Active& a);
  Status WriteJob(Active& a, std::string_view bytes);
  Status ShipOnce();
  Status ShipSegment(const Sealed& s);
  Status PutOnce(const std::string& key, const std::string& object);
  void ShipLoop(std::chrono::milliseconds first_wait);
  void StopShipper();

  const RowLogOptions options_;
  const std::shared_ptr<Store> store_;
  const int lock_fd_;
  const std::string writer_id_;
  const std::string run_id_;

  mutable std::mutex mu_;  // guards everything below
  std::condition_variable cv_;
  bool writing_ = false;         // a leader is writing a batch
  bool seal_requested_ = false;  // the next batch also seals every non-empty segment
  Status broken_;                // sticky: the spool could not be repaired after a failed write
  bool closed_ = false;
  std::shared_ptr<Batch> batch_ = std::make_shared<Batch>();  // the batch being filled
  std::map<int, std::unique_ptr<Active>> active_;
  std::map<int, uint64_t> next_seq_;
  std::deque<Sealed> sealed_;  // oldest first; only the shipper pops
  PredictionLog::Stats stats_;

  std::mutex ship_mu_;  // one ship pass at a time (shipper thread or Flush)
  std::thread shipper_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
};

Status RowLogImpl::Recover() {
  std::error_code ec;
  std::vector<Sealed> found;
  for (const auto& dir : fs::directory_iterator(options_.spool_dir, ec)) {
    auto version = ParseVersionDir(dir.path().filename().string());
    if (!version || !dir.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(dir.path(), ec)) {
      auto name = ParseSegmentName(file.path().filename().string());
      if (!name.ok()) continue;
      auto contents = ReadSegment(file.path());
      if (!contents.ok() || contents->rows == 0) {
        spdlog::info("spool: removing {} (no rows)", file.path().string());
        fs::remove(file.path(), ec);
        continue;
      }
      if (contents->torn) {
        spdlog::warn("spool: {} ends in an incomplete record (a crash during a write); keeping its {} "
                     "complete rows",
                     file.path().string(), contents->rows);
        if (::truncate(file.path().c_str(), static_cast<off_t>(contents->valid_bytes)) != 0) {
          return Unavailable(fmt::format("cannot repair spool file {}: {}", file.path().string(),
                                         ErrnoText(errno)));
        }
      }
      found.push_back({*version, file.path(), *name, contents->rows});
    }
  }
  if (ec) {
    return Unavailable(fmt::format("cannot read the spool dir {}: {}", options_.spool_dir.string(), ec.message()));
  }
  std::sort(found.begin(), found.end(), [](const Sealed& a, const Sealed& b) {
    return std::tie(a.name.run_id, a.name.first_seq, a.version) <
           std::tie(b.name.run_id, b.name.first_seq, b.version);
  });
  std::lock_guard lk(mu_);
  for (auto& s : found) {
    stats_.backlog_rows += s.rows;
    sealed_.push_back(std::move(s));
  }
  if (!found.empty()) {
    spdlog::info("spool: recovered {} rows in {} segments from {}", stats_.backlog_rows, found.size(),
                 options_.spool_dir.string());
  }
  return Status::Ok();
}

Status RowLogImpl::Append(int version, std::string_view header_line, std::string_view csv, size_t rows) {
  if (rows == 0) return Status::Ok();
  std::unique_lock lk(mu_);
  if (!broken_.ok()) return broken_;
  if (closed_) return FailedPrecondition("the prediction log is closed");
  auto& slot = active_[version];
  if (!slot) {
    auto [seq, inserted] = next_seq_.try_emplace(version, 1);
    slot = std::make_unique<Active>();
    slot->version = version;
    slot->header_line = std::string(header_line);
    slot->name = {run_id_, seq->second};
    slot->path = options_.spool_dir / fmt::format("v{}", version) / FormatSegmentName(slot->name);
  } else if (slot->header_line != header_line) {
    return Internal(fmt::format("the CSV header of version {} changed while logging", version));
  }
  const size_t before = slot->pending.size();
  AppendRecord(slot->pending, csv, static_cast<uint32_t>(rows));
  slot->appended_bytes += slot->pending.size() - before;
  // A full segment is sealed with the next write, so the shipper (which
  // holds one segment in memory) never reads more than about this much.
  if (slot->appended_bytes >= options_.max_segment_bytes) seal_requested_ = true;
  slot->pending_rows += rows;
  slot->rows += rows;
  next_seq_[version] = slot->name.first_seq + slot->rows;
  stats_.backlog_rows += rows;
  auto batch = batch_;
  WaitFor(batch, lk);
  return batch->status;
}

// Takes the batch being filled, writes it (one write and, with kAlways, one
// fsync per version) with the lock released, then wakes its waiters.
void RowLogImpl::Lead(std::unique_lock<std::mutex>& lk) {
  writing_ = true;
  auto batch = std::exchange(batch_, std::make_shared<Batch>());
  bool seal = std::exchange(seal_requested_, false);
  struct Job {
    Active* active;
    std::string bytes;
    uint64_t rows;
  };
  std::vector<Job> jobs;
  std::vector<std::unique_ptr<Active>> sealing;
  for (auto it = active_.begin(); it != active_.end();) {
    Active* a = it->second.get();
    if (!a->pending.empty()) {
      jobs.push_back({a, std::exchange(a->pending, {}), std::exchange(a->pending_rows, 0)});
    }
    if (seal && a->rows > 0) {
      sealing.push_back(std::move(it->second));
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
  lk.unlock();

  Status status;
  uint64_t failed_rows = 0;
  for (auto& job : jobs) {
    Status s = WriteJob(*job.active, job.bytes);
    if (!s.ok()) {
      failed_rows += job.rows;
      if (status.ok()) status = s;
    }
  }
  std::vector<Sealed> sealed;
  for (auto& a : sealing) {
    if (a->fd < 0) continue;  // nothing reached the disk
    if (options_.fsync == FsyncPolicy::kNever) (void)SyncFd(a->fd, a->path);  // sealed content is final
    ::close(a->fd);
    a->fd = -1;
    sealed.push_back({a->version, a->path, a->name, a->rows});
  }

  lk.lock();
  stats_.backlog_rows -= failed_rows;
  for (auto& s : sealed) sealed_.push_back(std::move(s));
  if (!status.ok() && broken_.ok() && status.code() == Code::kDataLoss) broken_ = status;
  batch->status = status;
  batch->done = true;
  writing_ = false;
  cv_.notify_all();
}

Status RowLogImpl::CreateSegment(Active& a) {
  fs::path dir = a.path.parent_path();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Unavailable(fmt::format("cannot create spool dir {}: {}", dir.string(), ec.message()));
    FsyncDir(options_.spool_dir);
  }
  int fd = ::open(a.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Unavailable(fmt::format("cannot create spool file {}: {}", a.path.string(), ErrnoText(errno)));
  }
  std::string header;
  AppendRecord(header, HeaderPayload(writer_id_, a.header_line), 0);
  Status s = WriteAll(fd, header, a.path);
  if (s.ok()) s = SyncFd(fd, a.path);
  if (!s.ok()) {
    ::close(fd);
    ::unlink(a.path.c_str());
    return s;
  }
  FsyncDir(dir);
  a.fd = fd;
  a.durable_size = header.size();
  return Status::Ok();
}

Status RowLogImpl::WriteJob(Active& a, std::string_view bytes) {
  if (a.fd < 0) MB_RETURN_IF_ERROR(CreateSegment(a));
  Status s = WriteAll(a.fd, bytes, a.path);
  if (s.ok() && options_.fsync == FsyncPolicy::kAlways) s = SyncFd(a.fd, a.path);
  if (s.ok()) {
    a.durable_size += bytes.size();
    return s;
  }
  // Cut the partial write off, so later records stay readable.
  if (::ftruncate(a.fd, static_cast<off_t>(a.durable_size)) != 0) {
    return DataLoss(fmt::format("{}; the spool file {} could not be repaired ({}); restart the server",
                                s.message(), a.path.string(), ErrnoText(errno)));
  }
  return s;
}

Status RowLogImpl::ShipOnce() {
  std::lock_guard ship(ship_mu_);
  {
    std::unique_lock lk(mu_);
    seal_requested_ = true;
    auto batch = batch_;
    WaitFor(batch, lk);
  }
  Status status;
  for (;;) {
    Sealed next;
    {
      std::lock_guard lk(mu_);
      if (sealed_.empty()) break;
      next = sealed_.front();
    }
    status = ShipSegment(next);
    if (!status.ok()) break;
    std::lock_guard lk(mu_);
    sealed_.pop_front();
    stats_.backlog_rows -= next.rows;
    ++stats_.shipped_objects;
  }
  std::lock_guard lk(mu_);
  stats_.ship_failing = !status.ok();
  if (!status.ok()) ++stats_.ship_errors;
  return status;
}

Status RowLogImpl::ShipSegment(const Sealed& s) {
  MB_ASSIGN_OR_RETURN(SegmentContents contents, ReadSegment(s.path));
  if (contents.rows > 0) {
    std::string object = contents.header_line + contents.body;
    std::string key = ShippedKey(s.version, contents.writer_id, s.name.run_id, s.name.first_seq,
                                 s.name.first_seq + contents.rows - 1);
    MB_RETURN_IF_ERROR(PutOnce(key, object));
  }
  if (::unlink(s.path.c_str()) != 0 && errno != ENOENT) {
    return Unavailable(fmt::format("cannot remove shipped spool file {}: {}", s.path.string(), ErrnoText(errno)));
  }
  FsyncDir(s.path.parent_path());
  return Status::Ok();
}

// Creates `key` unless an earlier attempt already did (PutIfAbsent takes the
// same bytes already there as this write). Another object under the same key
// (a spool dir wiped and reused with the same writer id) is kept, and these
// rows go under a key suffixed with their content hash.
Status RowLogImpl::PutOnce(const std::string& key, const std::string& object) {
  Status s = store_->PutIfAbsent(key, object);
  if (s.code() == Code::kAlreadyExists) {
    std::string alt = key.substr(0, key.size() - 4) + "-" + Sha256Hex(object).substr(0, 16) + ".csv";
    spdlog::warn("results store: {} exists with other rows; shipping these as {}", key, alt);
    s = store_->PutIfAbsent(alt, object);
    if (s.code() == Code::kAlreadyExists) return Status::Ok();  // same hash, same rows
  }
  if (!s.ok()) return s.WithContext(fmt::format("shipping logged rows to {}", store_->Describe()));
  return s;
}

void RowLogImpl::ShipLoop(std::chrono::milliseconds first_wait) {
  std::chrono::milliseconds wait = first_wait;
  for (;;) {
    {
      std::unique_lock lk(stop_mu_);
      if (stop_cv_.wait_for(lk, wait, [this] { return stop_; })) return;
    }
    Status s = ShipOnce();
    if (s.ok()) {
      wait = options_.ship_interval;
    } else {
      wait = std::min(options_.max_backoff, std::max(wait * 2, options_.ship_interval));
      spdlog::warn("prediction log: {}; rows stay spooled, retrying in {} ms", s.message(), wait.count());
    }
  }
}

void RowLogImpl::StopShipper() {
  {
    std::lock_guard lk(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (shipper_.joinable()) shipper_.join();
}

Status RowLogImpl::Close() {
  StopShipper();
  Status s = ShipOnce();
  {
    std::lock_guard lk(mu_);
    closed_ = true;
  }
  if (!s.ok()) {
    return s.WithContext(fmt::format("{} rows stay in the spool {} and are shipped on the next start",
                                     stats().backlog_rows, options_.spool_dir.string()));
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<RowLog>> RowLog::Open(RowLogOptions options, std::shared_ptr<Store> store) {
  if (options.spool_dir.empty()) return InvalidArgument("the prediction log needs a spool dir");
  if (options.ship_interval.count() <= 0) options.ship_interval = std::chrono::milliseconds(1000);
  std::error_code ec;
  fs::create_directories(options.spool_dir, ec);
  if (ec) {
    return Unavailable(fmt::format("cannot create the spool dir {}: {}", options.spool_dir.string(), ec.message()));
  }
  fs::path lock_path = options.spool_dir / "LOCK";
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0) {
    return Unavailable(fmt::format("cannot open {}: {}", lock_path.string(), ErrnoText(errno)));
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    return FailedPrecondition(fmt::format(
        "the spool dir {} is in use by another modelbay process; give each process its own spool dir",
        options.spool_dir.string()));
  }
  auto writer_id = LoadWriterId(options.spool_dir, options.writer_id);
  if (!writer_id.ok()) {
    ::close(lock_fd);
    return writer_id.status();
  }
  auto log = std::make_unique<RowLogImpl>(std::move(options), std::move(store), lock_fd, *writer_id);
  MB_RETURN_IF_ERROR(log->Recover());
  log->StartShipper();
  return std::unique_ptr<RowLog>(std::move(log));
}

}  // namespace modelbay::results
