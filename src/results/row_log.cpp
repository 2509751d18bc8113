#include "results/row_log.h"

#include <atomic>
#include <future>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/end_of_turn.h"
#include "core/hash.h"
#include "results/group_commit.h"
#include "results/shipper.h"
#include "results/spool_dir.h"

namespace modelbay::results {
namespace fs = std::filesystem;

namespace {

class RowLogImpl final : public RowLog {
 public:
  RowLogImpl(const RowLogOptions& options, std::shared_ptr<Store> store, std::unique_ptr<WriterDir> dir,
             std::string writer_id)
      : spool_dir_(options.spool_dir),
        writer_id_(std::move(writer_id)),
        dir_(std::move(dir)),
        shipper_({options.spool_dir, dir_->path(), options.ship_interval, options.max_backoff,
                  options.key_prefix, options.versioned_keys}, std::move(store),
                 [this] { return writer_.SealAll(); }, backlog_rows_),
        writer_({dir_.get(), writer_id_, FormatAmzDate(std::chrono::system_clock::now()) + "-" + RandomHex(4),
                 options.fsync, options.max_segment_bytes, options.direct_io},
                [this](std::vector<SpooledSegment> sealed) { shipper_.Enqueue(std::move(sealed)); },
                backlog_rows_) {}

  ~RowLogImpl() override {
    shipper_.Stop();  // it calls into the writer
    writer_.Stop();
  }

  void Start(std::vector<SpooledSegment> recovered) {
    uint64_t rows = 0;
    for (const auto& s : recovered) rows += s.rows;
    if (!recovered.empty()) {
      spdlog::info("spool: recovered {} rows in {} segments from {}", rows, recovered.size(),
                   dir_->path().string());
    }
    backlog_rows_ += static_cast<int64_t>(rows);
    const bool ship_now = !recovered.empty() || !OrphanCandidates(spool_dir_, dir_->path()).empty();
    shipper_.Enqueue(std::move(recovered));
    shipper_.Start(ship_now);
  }

  void AppendAsync(int version, std::string_view header_line, std::string_view csv, size_t rows,
                   Done done) override {
    writer_.Append(version, header_line, csv, rows, std::move(done));
  }
  Status Flush() override { return shipper_.ShipOnce(); }
  Status Close() override {
    shipper_.Stop();
    Status s = shipper_.ShipOnce();
    writer_.Stop();
    if (!s.ok()) {
      return s.WithContext(fmt::format("{} rows stay in the spool {} and are shipped on the next start",
                                       stats().backlog_rows, dir_->path().string()));
    }
    return s;
  }
  PredictionLog::Stats stats() const override {
    const auto c = shipper_.counters();
    PredictionLog::Stats s;
    s.backlog_rows = static_cast<uint64_t>(std::max<int64_t>(0, backlog_rows_.load()));
    s.shipped_objects = c.shipped_objects;
    s.ship_errors = c.ship_errors;
    s.ship_failing = c.failing;
    const auto g = writer_.commit_stats();
    s.commits = g.commits;
    s.commit_appends = g.appends;
    s.commit_seconds = g.seconds;
    return s;
  }
  const std::string& writer_id() const override { return writer_id_; }

 private:
  const fs::path spool_dir_;
  const std::string writer_id_;
  const std::unique_ptr<WriterDir> dir_;  // holds the lock as long as the log lives
  std::atomic<int64_t> backlog_rows_{0};
  Shipper shipper_;
  GroupCommitWriter writer_;  // after shipper_: its sink feeds the shipper
};

}  // namespace

Status RowLog::Append(int version, std::string_view header_line, std::string_view csv, size_t rows) {
  std::promise<Status> result;
  auto done = result.get_future();
  const EndOfTurn::Suspended waiting_here;  // the append must not wait for this thread's turn to end
  AppendAsync(version, header_line, csv, rows, [&result](const Status& s) { result.set_value(s); });
  return done.get();
}

Result<std::unique_ptr<RowLog>> RowLog::Open(RowLogOptions options, std::shared_ptr<Store> store) {
  if (options.spool_dir.empty()) return InvalidArgument("the prediction log needs a spool dir");
  if (options.ship_interval.count() <= 0) options.ship_interval = std::chrono::milliseconds(1000);
  std::error_code ec;
  fs::create_directories(options.spool_dir, ec);
  if (ec) {
    return Unavailable(fmt::format("cannot create the spool dir {}: {}", options.spool_dir.string(), ec.message()));
  }
  std::string writer_id = options.writer_id.empty() ? NewWriterId() : options.writer_id;
  MB_ASSIGN_OR_RETURN(auto dir, WriterDir::Claim(options.spool_dir, writer_id));
  MB_ASSIGN_OR_RETURN(auto recovered, dir->Recover(QuarantineDir(options.spool_dir)));
  auto log = std::make_unique<RowLogImpl>(options, std::move(store), std::move(dir), std::move(writer_id));
  log->Start(std::move(recovered));
  return std::unique_ptr<RowLog>(std::move(log));
}

}  // namespace modelbay::results
