#include "results/shipper.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/hash.h"
#include "core/posix_file.h"
#include "core/thread_name.h"
#include "results/segment.h"

namespace modelbay::results {

std::string ShippedKey(int version, std::string_view writer_id, std::string_view run_id,
                       uint64_t first_seq, uint64_t last_seq, std::string_view key_prefix, bool versioned) {
  if (!versioned) {
    return fmt::format("{}/{}/{}-{:010}-{:010}.csv", key_prefix, writer_id, run_id, first_seq, last_seq);
  }
  return fmt::format("{}/v{}/{}/{}-{:010}-{:010}.csv", key_prefix, version, writer_id, run_id, first_seq,
                     last_seq);
}

Shipper::Shipper(Options options, std::shared_ptr<Store> store, std::function<Status()> seal,
                 std::atomic<int64_t>& backlog_rows)
    : options_(std::move(options)), store_(std::move(store)), seal_(std::move(seal)), backlog_rows_(backlog_rows) {}

Shipper::~Shipper() { Stop(); }

void Shipper::Enqueue(std::vector<SpooledSegment> segments) {
  std::lock_guard lk(mu_);
  for (auto& s : segments) queue_.push_back(std::move(s));
}

void Shipper::Start(bool now) {
  const auto first_wait = now ? std::chrono::milliseconds(0) : options_.interval;
  thread_ = std::thread([this, first_wait] {
    SetThreadName("mb-ship");
    Loop(first_wait);
  });
}

void Shipper::Stop() {
  {
    std::lock_guard lk(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Shipper::Counters Shipper::counters() const {
  std::lock_guard lk(mu_);
  return counters_;
}

Status Shipper::ShipOnce() {
  std::lock_guard pass(ship_mu_);
  Status status = seal_();
  Status shipped = ShipQueue();
  if (status.ok()) status = shipped;
  Status adopted = AdoptOrphans();
  if (status.ok()) status = adopted;
  std::lock_guard lk(mu_);
  counters_.failing = !status.ok();
  if (!status.ok()) ++counters_.ship_errors;
  return status;
}

// Ships the queue oldest first; stops at the first failure (the rest waits
// for the next pass, in order).
Status Shipper::ShipQueue() {
  for (;;) {
    SpooledSegment next;
    {
      std::lock_guard lk(mu_);
      if (queue_.empty()) return Status::Ok();
      next = queue_.front();
    }
    MB_RETURN_IF_ERROR(ShipSegment(next));
    backlog_rows_ -= static_cast<int64_t>(next.rows);
    std::lock_guard lk(mu_);
    queue_.pop_front();
  }
}

// Adopts each orphaned writer dir whose lock is free: recover, ship, remove.
// An orphan that fails stays for the next pass (its lock is released).
Status Shipper::AdoptOrphans() {
  Status first;
  auto note = [&first](Status s) {
    if (!s.ok()) spdlog::warn("prediction log: {}", s.message());
    if (first.ok()) first = std::move(s);
  };
  for (const auto& candidate : OrphanCandidates(options_.root, options_.own_dir)) {
    auto dir = WriterDir::TryAdopt(candidate.dir, candidate.legacy);
    if (!dir.ok()) {
      note(dir.status());
      continue;
    }
    if (*dir == nullptr) continue;  // alive, or adopted by another process
    auto segments = (*dir)->Recover(QuarantineDir(options_.root));
    if (!segments.ok()) {
      note(segments.status().WithContext(fmt::format("adopting {}", candidate.dir.string())));
      continue;
    }
    uint64_t rows = 0;
    for (const auto& s : *segments) rows += s.rows;
    if (!segments->empty()) {
      spdlog::info("prediction log: adopted {} (a process that is gone): shipping its {} rows in {} segments",
                   candidate.dir.string(), rows, segments->size());
    }
    Status s;
    for (const auto& segment : *segments) {
      s = ShipSegment(segment);
      if (!s.ok()) break;
    }
    if (!s.ok()) {
      note(s);
      continue;
    }
    (*dir)->RemoveShipped();
  }
  return first;
}

Status Shipper::ShipSegment(const SpooledSegment& s) {
  auto contents = ReadSegment(s.path);
  if (contents.status().code() == Code::kInvalidArgument) {  // damaged since it was sealed
    return Quarantine(QuarantineDir(options_.root), s.path,
                      contents.status().message() + "; its rows are not shipped");
  }
  if (!contents.ok()) return contents.status();
  if (contents->rows > 0) {
    std::string object = std::move(contents->body);
    object.insert(0, contents->header_line);  // in place: ReadSegment left room
    std::string key = ShippedKey(s.version, contents->writer_id, s.name.run_id, s.name.first_seq,
                                 s.name.first_seq + contents->rows - 1, options_.key_prefix,
                                 options_.versioned_keys);
    MB_RETURN_IF_ERROR(PutOnce(key, object));
    std::lock_guard lk(mu_);
    ++counters_.shipped_objects;
  }
  if (contents->skipped_bytes > 0) {
    return Quarantine(QuarantineDir(options_.root), s.path,
                      fmt::format("its {} valid rows are shipped; {} damaged bytes from offset {} are not",
                                  contents->rows, contents->skipped_bytes, contents->first_skipped_at));
  }
  if (::unlink(s.path.c_str()) != 0 && errno != ENOENT) {
    return Unavailable(fmt::format("cannot remove shipped spool file {}: {}", s.path.string(), ErrnoText(errno)));
  }
  FsyncDir(s.path.parent_path());
  return Status::Ok();
}

// Creates `key` unless an earlier attempt already did. Another object under
// the same key (a spool dir wiped and reused with the same writer id) is
// kept, and these rows go under a key suffixed with their content hash.
Status Shipper::PutOnce(const std::string& key, const std::string& object) {
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

void Shipper::Loop(std::chrono::milliseconds first_wait) {
  std::chrono::milliseconds wait = first_wait;
  for (;;) {
    {
      std::unique_lock lk(stop_mu_);
      if (stop_cv_.wait_for(lk, wait, [this] { return stop_; })) return;
    }
    Status s = ShipOnce();
    if (s.ok()) {
      wait = options_.interval;
    } else {
      wait = std::min(options_.max_backoff, std::max(wait * 2, options_.interval));
      spdlog::warn("prediction log: {}; rows stay spooled, retrying in {} ms", s.message(), wait.count());
    }
  }
}

}  // namespace modelbay::results
