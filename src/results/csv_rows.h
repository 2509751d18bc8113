// Private to src/results: the rows of shipped log objects, parsed just
// enough to sort them (timestamp, then request id), and the sorted view of
// a set of log objects. Used by ExportResults (export.cpp) and by the
// results-file updater (results_file.cpp).
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace modelbay::results {

// The end (one past '\n') of the CSV record starting at `start`.
size_t RecordEnd(std::string_view data, size_t start);

struct CsvRow {
  std::string timestamp;
  std::string request_id;
  std::string record;  // raw, ends in '\n'
};

// Orders rows by (timestamp, request_id).
bool RowBefore(const CsvRow& a, const CsvRow& b);

// Every record of `body` (no header), in order; a last record without '\n'
// gets one.
std::vector<CsvRow> ParseRows(std::string_view body);

// A log object's header line (first record) and its rows. DataLoss naming
// both objects when `expected_header` is non-empty and differs.
struct LogObject {
  std::string header;  // ends in '\n'
  std::string_view body;
};
Result<LogObject> SplitLogObject(std::string_view data, const std::string& key,
                                 const std::string& expected_header, const std::string& header_source);

// Writes the header once and every row of `objects` (log object keys of one
// version) to `out`, sorted, by an external merge sort: memory holds one
// object plus one row per run. `after_each` runs after each object is read
// (e.g. to renew a lease); its error stops the export.
struct SortedExport {
  size_t rows = 0;
  uint64_t bytes_read = 0;
  std::string header;
};
Result<SortedExport> WriteSortedExport(Store& results, const std::vector<ObjectInfo>& objects,
                                       const std::filesystem::path& out,
                                       const std::function<Status()>& after_each);

}  // namespace modelbay::results
