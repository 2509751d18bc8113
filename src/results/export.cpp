// ExportResults: an external merge sort of the shipped log objects of one
// version into the seed's results_<N>.csv. Each object (one spool segment,
// bounded by the ship interval) is sorted in memory and written to a temp
// run file; the runs are then merged, at most kMaxFanIn at a time, so memory
// holds one object plus one row per run however large the export is.
// Rows with per-row ids (batch scoring) are sorted by id in runs of their
// own, merged with duplicates dropped (a retried shard logs a row again),
// then cut into time-sorted runs that join the others.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <queue>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/posix_file.h"
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

// A per-row id (batch scoring: `batch-<job>/<part>/<row>`); served request
// ids never contain '/'. Rows with the same row id are one row logged again
// by a retried shard: export keeps the earliest.
bool HasRowId(const CsvRow& row) { return row.request_id.find('/') != std::string::npos; }

bool ByRowId(const CsvRow& a, const CsvRow& b) {
  return std::tie(a.request_id, a.timestamp) < std::tie(b.request_id, b.timestamp);
}

using Less = bool (*)(const CsvRow&, const CsvRow&);

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

// Merges sorted run files in `less` order, handing each row to `emit`.
Status MergeRuns(const std::vector<fs::path>& runs, Less less, const std::function<Status(const CsvRow&)>& emit) {
  std::vector<std::unique_ptr<RunReader>> readers;
  struct Head {
    CsvRow row;
    size_t run;
  };
  auto later = [less](const Head& a, const Head& b) {
    if (less(b.row, a.row)) return true;
    if (less(a.row, b.row)) return false;
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
    MB_RETURN_IF_ERROR(emit(h.row));
    if (readers[h.run]->Next(h.row)) heap.push(std::move(h));
  }
  for (const auto& r : readers) {
    if (r->bad()) return Unavailable("cannot read a temporary export file");
  }
  return Status::Ok();
}

Status MergeRuns(const std::vector<fs::path>& runs, OutputFile& out) {
  return MergeRuns(runs, RowBefore, [&out](const CsvRow& row) { return out.Write(row.record); });
}

Status WriteSortedRun(std::vector<CsvRow>& rows, Less less, const fs::path& run) {
  std::stable_sort(rows.begin(), rows.end(), less);
  std::ofstream out(run, std::ios::binary);
  for (const auto& r : rows) out << r.record;
  if (!out.flush()) return Unavailable(fmt::format("cannot write {} (disk full?)", run.string()));
  return Status::Ok();
}

// The rows with row ids, one copy each (the earliest), as time-sorted runs
// of at most kDedupChunk rows: the id runs merged by id, duplicates dropped,
// then cut into chunks sorted by time. Returns the rows kept.
constexpr size_t kDedupChunk = 100000;
Result<size_t> DedupRowIds(const std::vector<fs::path>& id_runs, const fs::path& dir, std::vector<fs::path>& runs) {
  std::vector<CsvRow> chunk;
  std::string last_id;
  size_t kept = 0;
  auto flush = [&]() -> Status {
    if (chunk.empty()) return Status::Ok();
    runs.push_back(dir / fmt::format("dedup-{:06}", runs.size()));
    MB_RETURN_IF_ERROR(WriteSortedRun(chunk, RowBefore, runs.back()));
    chunk.clear();
    return Status::Ok();
  };
  MB_RETURN_IF_ERROR(MergeRuns(id_runs, ByRowId, [&](const CsvRow& row) -> Status {
    if (kept > 0 && row.request_id == last_id) return Status::Ok();
    last_id = row.request_id;
    ++kept;
    chunk.push_back(row);
    return chunk.size() >= kDedupChunk ? flush() : Status::Ok();
  }));
  MB_RETURN_IF_ERROR(flush());
  return kept;
}

// Sorts one shipped object's rows into run files: rows with row ids (by id)
// apart from the others (by time). Returns the count of the others.
Result<size_t> WriteRun(std::string_view body, const fs::path& run, const fs::path& id_run, bool& has_ids) {
  std::vector<CsvRow> rows, id_rows;
  for (CsvRow& row : ParseRows(body)) (HasRowId(row) ? id_rows : rows).push_back(std::move(row));
  MB_RETURN_IF_ERROR(WriteSortedRun(rows, RowBefore, run));
  has_ids = !id_rows.empty();
  if (has_ids) MB_RETURN_IF_ERROR(WriteSortedRun(id_rows, ByRowId, id_run));
  return rows.size();
}

// Merges runs in groups of at most kMaxFanIn until at most kMaxFanIn remain.
Status ReduceRuns(std::vector<fs::path>& runs, Less less, const fs::path& dir, std::string_view tag) {
  while (runs.size() > kMaxFanIn) {
    std::vector<fs::path> merged;
    for (size_t i = 0; i < runs.size(); i += kMaxFanIn) {
      std::vector<fs::path> group(runs.begin() + i, runs.begin() + std::min(runs.size(), i + kMaxFanIn));
      merged.push_back(dir / fmt::format("{}-{:06}-{:06}", tag, runs.size(), merged.size()));
      std::ofstream o(merged.back(), std::ios::binary);
      MB_RETURN_IF_ERROR(MergeRuns(group, less, [&o](const CsvRow& row) {
        o << row.record;
        return Status::Ok();
      }));
      if (!o.flush()) return Unavailable(fmt::format("cannot write {} (disk full?)", merged.back().string()));
      for (const auto& p : group) fs::remove(p);
    }
    runs = std::move(merged);
  }
  return Status::Ok();
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
  // Step 1: one sorted run file per object (rows with per-row ids apart).
  ScopedTempDir tmp("modelbay-export");
  std::vector<fs::path> runs, id_runs;
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
    fs::path id_run = tmp.path() / fmt::format("ids-{:06}", id_runs.size());
    bool has_ids = false;
    MB_ASSIGN_OR_RETURN(size_t n, WriteRun(parsed.body, runs.back(), id_run, has_ids));
    if (has_ids) id_runs.push_back(id_run);
    summary.rows += n;
    if (after_each) MB_RETURN_IF_ERROR(after_each());
  }
  // Step 2: rows with per-row ids once each; merge runs until at most
  // kMaxFanIn remain.
  if (!id_runs.empty()) {
    MB_RETURN_IF_ERROR(ReduceRuns(id_runs, ByRowId, tmp.path(), "ids"));
    MB_ASSIGN_OR_RETURN(size_t kept, DedupRowIds(id_runs, tmp.path(), runs));
    summary.rows += kept;
  }
  MB_RETURN_IF_ERROR(ReduceRuns(runs, RowBefore, tmp.path(), "merge"));
  // Step 3: header + final merge into `out` (OutputFile: a temp file renamed
  // over a regular file; stdout and streams written through).
  MB_ASSIGN_OR_RETURN(auto file, OutputFile::Open(out));
  MB_RETURN_IF_ERROR(file->Write(summary.header));
  MB_RETURN_IF_ERROR(MergeRuns(runs, *file));
  MB_RETURN_IF_ERROR(file->Commit());
  return summary;
}

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

}  // namespace modelbay::results
