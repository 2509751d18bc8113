#include "results/results_file.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/thread_name.h"
#include "results/csv_rows.h"
#include "store/lease.h"

namespace modelbay::results {
namespace fs = std::filesystem;
namespace {

constexpr int kCheckpointFormat = 1;

std::optional<uint64_t> ParseDigits(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "<writer>/<run>-<first>-<last>.csv" -> ("<writer>/<run>", first, last).
struct ShippedName {
  std::string run;
  uint64_t first = 0;
  uint64_t last = 0;
};
std::optional<ShippedName> ParseShippedName(std::string_view key) {
  constexpr std::string_view kCsv = ".csv";
  if (!key.ends_with(kCsv)) return std::nullopt;
  key.remove_suffix(kCsv.size());
  size_t dash_last = key.rfind('-');
  if (dash_last == std::string_view::npos || dash_last == 0) return std::nullopt;
  size_t dash_first = key.rfind('-', dash_last - 1);
  if (dash_first == std::string_view::npos) return std::nullopt;
  auto first = ParseDigits(key.substr(dash_first + 1, dash_last - dash_first - 1));
  auto last = ParseDigits(key.substr(dash_last + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  return ShippedName{std::string(key.substr(0, dash_first)), *first, *last};
}

std::string LogPrefix(int version) { return fmt::format("logs/v{}/", version); }

}  // namespace

std::string ResultsFileKey(int version) { return fmt::format("results_{}.csv", version); }
std::string ResultsCheckpointKey(int version) { return fmt::format("results_{}.checkpoint.json", version); }

// ---------------------------------------------------------------------------
// IncludedObjects

bool IncludedObjects::Contains(const std::string& key) const {
  auto name = ParseShippedName(key);
  if (!name) return other_.contains(key);
  auto it = runs_.find(name->run);
  if (it == runs_.end()) return false;
  // The last range starting at or before `first` must cover [first, last].
  const auto& ranges = it->second;
  auto after = std::upper_bound(ranges.begin(), ranges.end(), std::make_pair(name->first, UINT64_MAX));
  if (after == ranges.begin()) return false;
  --after;
  return after->first <= name->first && name->last <= after->second;
}

void IncludedObjects::Add(const std::string& key) {
  auto name = ParseShippedName(key);
  if (!name) {
    other_.insert(key);
    return;
  }
  auto& ranges = runs_[name->run];
  ranges.emplace_back(name->first, name->last);
  std::sort(ranges.begin(), ranges.end());
  // Merge touching or overlapping ranges (a run's objects are consecutive).
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  ranges = std::move(merged);
}

size_t IncludedObjects::ranges() const {
  size_t n = other_.size();
  for (const auto& [run, r] : runs_) n += r.size();
  return n;
}

nlohmann::json IncludedObjects::ToJson() const {
  nlohmann::json runs = nlohmann::json::object();
  for (const auto& [run, ranges] : runs_) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [a, b] : ranges) list.push_back({a, b});
    runs[run] = list;
  }
  return {{"runs", runs}, {"other", other_}};
}

Result<IncludedObjects> IncludedObjects::FromJson(const nlohmann::json& j) {
  IncludedObjects out;
  if (!j.is_object() || !j.contains("runs") || !j["runs"].is_object()) {
    return InvalidArgument("`included` must be an object with `runs`");
  }
  for (const auto& [run, ranges] : j["runs"].items()) {
    if (!ranges.is_array()) return InvalidArgument(fmt::format("`runs.{}` must be a list", run));
    auto& dest = out.runs_[run];
    for (const auto& r : ranges) {
      if (!r.is_array() || r.size() != 2 || !r[0].is_number_unsigned() || !r[1].is_number_unsigned() ||
          r[0].get<uint64_t>() > r[1].get<uint64_t>()) {
        return InvalidArgument(fmt::format("`runs.{}` holds a range that is not [first, last]", run));
      }
      dest.emplace_back(r[0].get<uint64_t>(), r[1].get<uint64_t>());
    }
    std::sort(dest.begin(), dest.end());
  }
  if (j.contains("other")) {
    if (!j["other"].is_array()) return InvalidArgument("`other` must be a list of keys");
    for (const auto& k : j["other"]) {
      if (!k.is_string()) return InvalidArgument("`other` must be a list of keys");
      out.other_.insert(k.get<std::string>());
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Checkpoint

namespace {

nlohmann::json StateJson(const FileState& s) {
  return {{"size", s.size}, {"rows", s.rows}, {"etag", s.etag}, {"included", s.included.ToJson()}};
}

Result<FileState> StateFromJson(const nlohmann::json& j, std::string_view what) {
  if (!j.is_object() || !j.contains("size") || !j["size"].is_number_unsigned() || !j.contains("rows") ||
      !j["rows"].is_number_unsigned() || !j.contains("etag") || !j["etag"].is_string() ||
      !j.contains("included")) {
    return InvalidArgument(fmt::format("`{}` needs size, rows, etag and included", what));
  }
  FileState s;
  s.size = j["size"].get<uint64_t>();
  s.rows = j["rows"].get<uint64_t>();
  s.etag = j["etag"].get<std::string>();
  MB_ASSIGN_OR_RETURN(s.included, IncludedObjects::FromJson(j["included"]));
  return s;
}

}  // namespace

std::string Checkpoint::ToJson() const {
  nlohmann::json j = {{"format", kCheckpointFormat},
                      {"version", version},
                      {"header", header},
                      {"file", StateJson(committed)},
                      {"updated", FormatIso8601(std::chrono::system_clock::now())}};
  if (pending) {
    j["pending"] = StateJson(*pending);
    j["pending"]["replaces"] = pending_replaces;
  }
  return j.dump(1) + "\n";
}

Result<Checkpoint> Checkpoint::Parse(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  if (!j.contains("format") || j["format"] != kCheckpointFormat) {
    return InvalidArgument(fmt::format("`format` is not {}", kCheckpointFormat));
  }
  if (!j.contains("version") || !j["version"].is_number_integer() || !j.contains("header") ||
      !j["header"].is_string() || !j.contains("file")) {
    return InvalidArgument("needs version, header and file");
  }
  Checkpoint c;
  c.version = j["version"].get<int>();
  c.header = j["header"].get<std::string>();
  MB_ASSIGN_OR_RETURN(c.committed, StateFromJson(j["file"], "file"));
  if (j.contains("pending")) {
    MB_ASSIGN_OR_RETURN(FileState p, StateFromJson(j["pending"], "pending"));
    c.pending = std::move(p);
    const auto& pj = j["pending"];
    if (!pj.contains("replaces") || !pj["replaces"].is_string()) return InvalidArgument("`pending` needs replaces");
    c.pending_replaces = pj["replaces"].get<std::string>();
  }
  return c;
}

ResultsFileOptions DefaultResultsFileOptions() {
  ResultsFileOptions o;
  o.lease_wait = o.lease_ttl + std::chrono::seconds(5);
  return o;
}

// ---------------------------------------------------------------------------
// One update

namespace {

// One update of one version, holding its lease. Named steps below.
class Updater {
 public:
  Updater(Store& store, LeaseManager& leases, Lease& lease, std::chrono::milliseconds ttl, int version)
      : store_(store), leases_(leases), lease_(lease), ttl_(ttl), version_(version) {
    report_.version = version;
  }

  Result<UpdateReport> Run(bool full) {
    MB_ASSIGN_OR_RETURN(auto listed, store_.List(LogPrefix(version_)));
    std::erase_if(listed, [](const ObjectInfo& o) { return !o.key.ends_with(".csv"); });
    if (listed.empty()) return report_;
    std::optional<Checkpoint> cp;
    if (!full) {
      MB_ASSIGN_OR_RETURN(cp, ReadCheckpoint());
    }
    MB_ASSIGN_OR_RETURN(auto file, store_.Head(ResultsFileKey(version_)));
    std::optional<FileState> base = cp ? CurrentState(*cp, file) : std::nullopt;
    if (!base) return Rebuild(listed, cp, file);

    std::vector<ObjectInfo> fresh;
    for (const auto& o : listed) {
      if (!base->included.Contains(o.key.substr(LogPrefix(version_).size()))) fresh.push_back(o);
    }
    if (fresh.empty()) {
      if (report_.recovered) MB_RETURN_IF_ERROR(WriteCommitted(cp->header, *base, *file));
      report_.file_bytes = base->size;
      report_.file_rows = base->rows;
      return report_;
    }
    return Append(*cp, *base, *file, fresh);
  }

 private:
  // Step 1a: the checkpoint, or nullopt (none, or unreadable: rebuild).
  Result<std::optional<Checkpoint>> ReadCheckpoint() {
    auto text = store_.Get(ResultsCheckpointKey(version_));
    if (!text.ok()) {
      if (text.status().code() == Code::kNotFound) return std::optional<Checkpoint>();
      return text.status();
    }
    report_.bytes_read += text->size();
    auto cp = Checkpoint::Parse(*text);
    if (!cp.ok() || cp->version != version_) {
      spdlog::warn("{} is not a valid checkpoint ({}); rebuilding {} from the log", ResultsCheckpointKey(version_),
                   cp.ok() ? "another version" : cp.status().message(), ResultsFileKey(version_));
      return std::optional<Checkpoint>();
    }
    return std::optional<Checkpoint>(std::move(*cp));
  }

  // Step 1b: which objects the file holds, or nullopt when unknown.
  std::optional<FileState> CurrentState(const Checkpoint& cp, const std::optional<ObjectInfo>& file) {
    if (!file) return std::nullopt;
    if (file->size == cp.committed.size && file->etag == cp.committed.etag) return cp.committed;
    if (cp.pending && file->size == cp.pending->size && file->etag != cp.pending_replaces) {
      spdlog::info("{}: adopting the update an earlier updater wrote before it stopped", ResultsFileKey(version_));
      report_.recovered = true;
      FileState s = *cp.pending;
      s.etag = file->etag;
      return s;
    }
    spdlog::warn("{} ({} bytes) does not match its checkpoint ({} bytes); rebuilding it from the log",
                 ResultsFileKey(version_), file->size, cp.committed.size);
    return std::nullopt;
  }

  // Renews the lease when a third of its ttl has passed since the last
  // renewal; an error (lease lost) stops the update before its next write.
  Status KeepLease() {
    const auto now = std::chrono::steady_clock::now();
    if (now - renewed_ < ttl_ / 3) return Status::Ok();
    MB_RETURN_IF_ERROR(leases_.Renew(lease_));
    renewed_ = now;
    return Status::Ok();
  }

  // Step 3 (whole): every listed object, sorted, replaces the file.
  Result<UpdateReport> Rebuild(const std::vector<ObjectInfo>& listed, const std::optional<Checkpoint>& old,
                               const std::optional<ObjectInfo>& file) {
    report_.rebuilt = true;
    TempFile tmp;
    MB_ASSIGN_OR_RETURN(SortedExport sorted,
                        WriteSortedExport(store_, listed, tmp.path, [this] { return KeepLease(); }));
    report_.bytes_read += sorted.bytes_read;
    FileState next;
    for (const auto& o : listed) next.included.Add(o.key.substr(LogPrefix(version_).size()));
    next.rows = sorted.rows;
    std::error_code ec;
    next.size = fs::file_size(tmp.path, ec);
    if (ec) return Unavailable(fmt::format("cannot read {}: {}", tmp.path.string(), ec.message()));
    Checkpoint intent;
    intent.version = version_;
    intent.header = sorted.header;
    if (old) intent.committed = old->committed;
    intent.pending = next;
    intent.pending_replaces = file ? file->etag : "";
    MB_RETURN_IF_ERROR(WriteIntent(intent));
    MB_RETURN_IF_ERROR(store_.PutFile(ResultsFileKey(version_), tmp.path));
    report_.objects_added = listed.size();
    report_.rows_added = sorted.rows;
    return Commit(sorted.header, next);
  }

  // Step 3 (append): the new objects' rows, sorted, after the file's rows.
  Result<UpdateReport> Append(const Checkpoint& cp, const FileState& base, const ObjectInfo& file,
                              const std::vector<ObjectInfo>& fresh) {
    std::vector<CsvRow> rows;
    FileState next = base;
    for (const auto& o : fresh) {
      MB_ASSIGN_OR_RETURN(std::string data, store_.Get(o.key));
      report_.bytes_read += data.size();
      MB_ASSIGN_OR_RETURN(LogObject parsed, SplitLogObject(data, o.key, cp.header, ResultsFileKey(version_)));
      for (auto& r : ParseRows(parsed.body)) rows.push_back(std::move(r));
      next.included.Add(o.key.substr(LogPrefix(version_).size()));
      MB_RETURN_IF_ERROR(KeepLease());
    }
    std::stable_sort(rows.begin(), rows.end(), RowBefore);
    std::string tail;
    for (const auto& r : rows) tail += r.record;
    next.size = base.size + tail.size();
    next.rows = base.rows + rows.size();
    next.etag.clear();

    Checkpoint intent = cp;
    intent.committed = base;
    intent.committed.etag = file.etag;
    intent.pending = next;
    intent.pending_replaces = file.etag;
    MB_RETURN_IF_ERROR(WriteIntent(intent));
    if (base.size >= kMinCopyPartBytes) {
      // Extended in the store: the old bytes are not downloaded.
      ObjectInfo expected = file;
      MB_RETURN_IF_ERROR(store_.Concat(ResultsFileKey(version_), expected, tail));
    } else {
      MB_ASSIGN_OR_RETURN(std::string old, store_.Get(ResultsFileKey(version_)));
      report_.bytes_read += old.size();
      if (old.size() != base.size) {
        return FailedPrecondition(fmt::format("{} changed while being updated; the next update rebuilds it",
                                              ResultsFileKey(version_)));
      }
      old += tail;
      MB_RETURN_IF_ERROR(store_.Put(ResultsFileKey(version_), old));
    }
    report_.objects_added = fresh.size();
    report_.rows_added = rows.size();
    return Commit(cp.header, next);
  }

  // Writes a checkpoint announcing the next write (its `pending` step).
  Status WriteIntent(const Checkpoint& intent) {
    MB_RETURN_IF_ERROR(KeepLease());
    return store_.Put(ResultsCheckpointKey(version_), intent.ToJson());
  }

  // Step 3 (end): Head the written file and record it as committed.
  Result<UpdateReport> Commit(const std::string& header, FileState next) {
    MB_ASSIGN_OR_RETURN(auto written, store_.Head(ResultsFileKey(version_)));
    if (!written || written->size != next.size) {
      return DataLoss(fmt::format("{} is not what was just written ({} bytes expected); the next update "
                                  "rebuilds it", ResultsFileKey(version_), next.size));
    }
    MB_RETURN_IF_ERROR(WriteCommitted(header, next, *written));
    report_.file_bytes = next.size;
    report_.file_rows = next.rows;
    return report_;
  }

  Status WriteCommitted(const std::string& header, FileState state, const ObjectInfo& file) {
    Checkpoint done;
    done.version = version_;
    done.header = header;
    state.etag = file.etag;
    state.size = file.size;
    done.committed = std::move(state);
    return store_.Put(ResultsCheckpointKey(version_), done.ToJson());
  }

  struct TempFile {
    TempFile() {
      path = fs::temp_directory_path() / fmt::format("modelbay-results-{}.csv", RandomHex(8));
    }
    ~TempFile() {
      std::error_code ec;
      fs::remove(path, ec);
    }
    fs::path path;
  };

  Store& store_;
  LeaseManager& leases_;
  Lease& lease_;
  std::chrono::milliseconds ttl_;
  int version_;
  std::chrono::steady_clock::time_point renewed_ = std::chrono::steady_clock::now();
  UpdateReport report_;
};

}  // namespace

Result<UpdateReport> UpdateResultsFile(std::shared_ptr<Store> results, int version,
                                       const ResultsFileOptions& options, bool full) {
  LeaseManager leases(results, options.owner.empty() ? DefaultLeaseOwner() : options.owner, SystemClock(),
                      options.lease_ttl);
  const std::string name = fmt::format("results_{}", version);
  const auto deadline = std::chrono::steady_clock::now() + options.lease_wait;
  std::optional<Lease> lease;
  while (true) {
    MB_ASSIGN_OR_RETURN(lease, leases.TryAcquire(name));
    if (lease || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  if (!lease) {
    UpdateReport skipped;
    skipped.version = version;
    skipped.leased_elsewhere = true;
    return skipped;
  }
  Updater updater(*results, leases, *lease, options.lease_ttl, version);
  auto report = updater.Run(full);
  Status released = leases.Release(*lease);
  if (!released.ok()) {
    spdlog::warn("could not release the lease of {} ({}); it expires by itself", ResultsFileKey(version),
                 released.message());
  }
  if (!report.ok()) return report.status().WithContext(fmt::format("updating {}", ResultsFileKey(version)));
  return report;
}

void UpdateResultsFileAfterBatch(std::shared_ptr<Store> results, int version) {
  ResultsFileOptions options;
  options.lease_wait = std::chrono::seconds(10);
  auto report = UpdateResultsFile(std::move(results), version, options);
  if (!report.ok()) {
    spdlog::warn("{} was not updated ({}); the rows are in the log: a server or `modelbay results export` "
                 "adds them", ResultsFileKey(version), report.status().message());
  } else if (report->leased_elsewhere) {
    spdlog::info("{} is being updated by a server; it adds these rows within its --results-refresh",
                 ResultsFileKey(version));
  } else {
    spdlog::info("{} holds {} rows", ResultsFileKey(version), report->file_rows);
  }
}

// ---------------------------------------------------------------------------
// Refresher

ResultsFileRefresher::ResultsFileRefresher(std::shared_ptr<Store> results, std::chrono::milliseconds interval,
                                           ResultsFileOptions options,
                                           std::function<void(const UpdateReport&)> on_update,
                                           std::function<void()> on_error)
    : results_(std::move(results)),
      interval_(interval),
      options_(std::move(options)),
      on_update_(std::move(on_update)),
      on_error_(std::move(on_error)) {
  if (options_.owner.empty()) options_.owner = DefaultLeaseOwner();
}

ResultsFileRefresher::~ResultsFileRefresher() { Stop(false); }

void ResultsFileRefresher::Start() {
  thread_ = std::thread([this] {
    SetThreadName("mb-results");
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      Status s = RunOnce();
      if (!s.ok()) spdlog::warn("results file: {}", s.message());
      lock.lock();
    }
  });
}

void ResultsFileRefresher::Stop(bool final_pass) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (final_pass) {
    Status s = RunOnce();
    if (!s.ok()) spdlog::warn("results file: {}", s.message());
  }
}

Status ResultsFileRefresher::RunOnce() {
  auto listed = results_->List("logs/v");
  if (!listed.ok()) {
    if (on_error_) on_error_();
    return listed.status();
  }
  std::set<int> versions;
  for (const auto& o : *listed) {
    std::string_view rest = std::string_view(o.key).substr(6);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || !o.key.ends_with(".csv")) continue;
    auto v = ParseDigits(rest.substr(0, slash));
    if (v && *v > 0 && *v < 1000000000) versions.insert(static_cast<int>(*v));
  }
  Status first_error;
  for (int version : versions) {
    auto report = UpdateResultsFile(results_, version, options_);
    if (!report.ok()) {
      if (on_error_) on_error_();
      if (first_error.ok()) first_error = report.status();
      continue;
    }
    if (report->rows_added > 0 || report->rebuilt || report->recovered) {
      spdlog::info("{}: +{} rows from {} log objects ({} rows, {} bytes; read {} bytes{})", ResultsFileKey(version),
                   report->rows_added, report->objects_added, report->file_rows, report->file_bytes,
                   report->bytes_read, report->rebuilt ? "; rebuilt" : "");
    }
    if (on_update_) on_update_(*report);
  }
  return first_error;
}

}  // namespace modelbay::results
