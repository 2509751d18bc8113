// ExportResults: an external merge sort of the shipped log objects of one
// version into the seed's results_<N>.csv. Each object (one spool segment,
// bounded by the ship interval) is sorted in memory and written to a temp
// run file; the runs are then merged, at most kMaxFanIn at a time, so memory
// holds one object plus one row per run however large the export is.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <queue>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "results/csv_rows.h"
#include "results/prediction_log.h"
#include "results/results_file.h"

namespace modelbay::results {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxFanIn = 128;

// Field `index` of a record, unquoted.
std::string Field(std::string_view record, int index) {
  std::string out;
  size_t i = 0;
  for (int f = 0; f <= index && i <= record.size(); ++f) {
    out.clear();
    bool quoted = i < record.size() && record[i] == '"';
    if (quoted) ++i;
    for (; i < record.size(); ++i) {
      char c = record[i];
      if (quoted) {
        if (c == '"' && i + 1 < record.size() && record[i + 1] == '"') {
          out.push_back('"');
          ++i;
        } else if (c == '"') {
          quoted = false;
        } else {
          out.push_back(c);
        }
      } else if (c == ',' || c == '\n' || c == '\r') {
        break;
      } else {
        out.push_back(c);
      }
    }
    ++i;  // past the separator
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / fmt::format("modelbay-export-{:08x}{:08x}", rd(), rd());
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Reads the records of a run file one at a time.
class RunReader {
 public:
  explicit RunReader(const fs::path& path) : in_(path, std::ios::binary) {}
  bool Next(CsvRow& row) {
    row.record.clear();
    std::string line;
    size_t quotes = 0;
    while (std::getline(in_, line)) {
      quotes += static_cast<size_t>(std::count(line.begin(), line.end(), '"'));
      row.record += line;
      row.record.push_back('\n');
      if (quotes % 2 == 0) break;
    }
    if (row.record.empty()) return false;
    row.timestamp = Field(row.record, 0);
    row.request_id = Field(row.record, 1);
    return true;
  }
  bool bad() const { return in_.bad(); }

 private:
  std::ifstream in_;
};

Status MergeRuns(const std::vector<fs::path>& runs, std::ostream& out) {
  std::vector<std::unique_ptr<RunReader>> readers;
  struct Head {
    CsvRow row;
    size_t run;
  };
  auto later = [](const Head& a, const Head& b) {
    if (RowBefore(b.row, a.row)) return true;
    if (RowBefore(a.row, b.row)) return false;
    return a.run > b.run;
  };
  std::priority_queue<Head, std::vector<Head>, decltype(later)> heap(later);
  for (size_t i = 0; i < runs.size(); ++i) {
    readers.push_back(std::make_unique<RunReader>(runs[i]));
    Head h{{}, i};
    if (readers[i]->Next(h.row)) heap.push(std::move(h));
  }
  while (!heap.empty()) {
    Head h = heap.top();
    heap.pop();
    out << h.row.record;
    if (readers[h.run]->Next(h.row)) heap.push(std::move(h));
  }
  for (const auto& r : readers) {
    if (r->bad()) return Unavailable("cannot read a temporary export file");
  }
  return out ? Status::Ok() : Unavailable("cannot write the export (disk full?)");
}

// Sorts one shipped object's rows into a run file; returns the row count.
Result<size_t> WriteRun(std::string_view body, const fs::path& run) {
  std::vector<CsvRow> rows = ParseRows(body);
  std::stable_sort(rows.begin(), rows.end(), RowBefore);
  std::ofstream out(run, std::ios::binary);
  for (const auto& r : rows) out << r.record;
  if (!out.flush()) return Unavailable(fmt::format("cannot write {} (disk full?)", run.string()));
  return rows.size();
}

}  // namespace

// The end of the CSV record starting at `start`: the first newline outside
// quotes. Quotes inside fields are doubled, so "outside" is an even count of
// '"' so far.
size_t RecordEnd(std::string_view data, size_t start) {
  bool quoted = false;
  for (size_t i = start; i < data.size(); ++i) {
    if (data[i] == '"') quoted = !quoted;
    else if (data[i] == '\n' && !quoted) return i + 1;
  }
  return data.size();
}

bool RowBefore(const CsvRow& a, const CsvRow& b) {
  return std::tie(a.timestamp, a.request_id) < std::tie(b.timestamp, b.request_id);
}

std::vector<CsvRow> ParseRows(std::string_view body) {
  std::vector<CsvRow> rows;
  for (size_t pos = 0; pos < body.size();) {
    size_t end = RecordEnd(body, pos);
    CsvRow row;
    row.record = std::string(body.substr(pos, end - pos));
    if (row.record.back() != '\n') row.record.push_back('\n');
    row.timestamp = Field(row.record, 0);
    row.request_id = Field(row.record, 1);
    rows.push_back(std::move(row));
    pos = end;
  }
  return rows;
}

Result<LogObject> SplitLogObject(std::string_view data, const std::string& key,
                                 const std::string& expected_header, const std::string& header_source) {
  size_t header_end = RecordEnd(data, 0);
  LogObject object{std::string(data.substr(0, header_end)), data.substr(header_end)};
  if (!expected_header.empty() && object.header != expected_header) {
    return DataLoss(fmt::format("{} and {} have different CSV headers; a version's log objects "
                                "must share one (was {} written by another tool?)",
                                header_source, key, key));
  }
  return object;
}

Result<SortedExport> WriteSortedExport(Store& results, const std::vector<ObjectInfo>& objects,
                                       const fs::path& out, const std::function<Status()>& after_each) {
  // Step 1: one sorted run file per object.
  TempDir tmp;
  std::vector<fs::path> runs;
  SortedExport summary;
  std::string header_key;
  for (const auto& object : objects) {
    MB_ASSIGN_OR_RETURN(std::string data, results.Get(object.key));
    summary.bytes_read += data.size();
    MB_ASSIGN_OR_RETURN(LogObject parsed, SplitLogObject(data, object.key, summary.header, header_key));
    if (summary.header.empty()) {
      summary.header = parsed.header;
      header_key = object.key;
    }
    runs.push_back(tmp.path() / fmt::format("run-{:06}", runs.size()));
    MB_ASSIGN_OR_RETURN(size_t n, WriteRun(parsed.body, runs.back()));
    summary.rows += n;
    if (after_each) MB_RETURN_IF_ERROR(after_each());
  }
  // Step 2: merge runs until at most kMaxFanIn remain.
  while (runs.size() > kMaxFanIn) {
    std::vector<fs::path> merged;
    for (size_t i = 0; i < runs.size(); i += kMaxFanIn) {
      std::vector<fs::path> group(runs.begin() + i, runs.begin() + std::min(runs.size(), i + kMaxFanIn));
      merged.push_back(tmp.path() / fmt::format("merge-{:06}-{:06}", runs.size(), merged.size()));
      std::ofstream o(merged.back(), std::ios::binary);
      MB_RETURN_IF_ERROR(MergeRuns(group, o));
      for (const auto& p : group) fs::remove(p);
    }
    runs = std::move(merged);
  }
  // Step 3: header + final merge into a .partial file renamed over `out`.
  fs::path partial = out;
  partial += ".partial";
  {
    std::ofstream o(partial, std::ios::binary | std::ios::trunc);
    if (!o) return Unavailable(fmt::format("cannot write {}: check the folder exists and is writable", partial.string()));
    o << summary.header;
    Status s = MergeRuns(runs, o);
    o.close();
    if (!s.ok() || !o) {
      std::error_code ec;
      fs::remove(partial, ec);
      return s.ok() ? Unavailable(fmt::format("cannot write {} (disk full?)", partial.string())) : s;
    }
  }
  std::error_code ec;
  fs::rename(partial, out, ec);
  if (ec) return Unavailable(fmt::format("cannot write {}: {}", out.string(), ec.message()));
  return summary;
}

}  // namespace modelbay::results

namespace modelbay {

Result<size_t> ExportResults(Store& store, int version, const std::filesystem::path& out) {
  // Non-owning: the rebuild below runs within this call.
  std::shared_ptr<Store> results(std::shared_ptr<Store>(), &store);
  const std::string prefix = fmt::format("logs/v{}/", version);
  MB_ASSIGN_OR_RETURN(auto objects, results->List(prefix));
  std::erase_if(objects, [](const ObjectInfo& o) { return !o.key.ends_with(".csv"); });
  if (objects.empty()) {
    return NotFound(fmt::format(
        "no logged predictions for version {} in {} (nothing under {}); a server ships its rows "
        "within about a second and on shutdown, `modelbay predict` before it returns",
        version, results->Describe(), prefix));
  }
  if (out.empty()) {
    // The store's results_<N>.csv: rebuilt whole, under the updaters' lease,
    // with its checkpoint (results_file.h).
    MB_ASSIGN_OR_RETURN(results::UpdateReport report,
                        results::RebuildResultsFile(results, version, results::DefaultResultsFileOptions()));
    return static_cast<size_t>(report.file_rows);
  }
  MB_ASSIGN_OR_RETURN(results::SortedExport summary, results::WriteSortedExport(*results, objects, out, nullptr));
  return summary.rows;
}

}  // namespace modelbay
