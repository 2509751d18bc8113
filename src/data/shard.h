// Splitting selected data into the shares of N workers (distributed
// training; the same rule serves sharded batch scoring): whole objects are
// dealt by key, and an object larger than the part size is cut into
// line-aligned byte ranges, so N workers together read every data row
// exactly once and no worker reads the rest.
//
// Line-aligned: a range owns the data lines whose first byte lies in it (the
// header line belongs to no range; each part is read with the object's
// header in front). A quoted field holding a newline must not cross a range
// boundary: such files need to be uploaded as several smaller objects.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/csv.h"
#include "core/status.h"
#include "data/data_store.h"
#include "store/store.h"

namespace modelbay {

struct DataPart {
  std::string key;
  uint64_t offset = 0;
  uint64_t length = 0;       // bytes of the object in this part
  uint64_t object_size = 0;
  bool whole() const { return offset == 0 && length == object_size; }
};

// The part size when none is given: the data split evenly over `count`
// workers, at least 16 KiB.
uint64_t DefaultPartBytes(std::span<const DataFile> files, int count);

// The plan for `count` workers (index = worker). Deterministic: the same
// files (any order) and count give the same plan on every machine. Objects
// over `part_bytes` are cut into ceil(size / part_bytes) near-equal ranges;
// parts are dealt in key order, each to the worker with the fewest bytes so
// far (ties: the lowest index).
std::vector<std::vector<DataPart>> PlanShares(std::span<const DataFile> files, int count, uint64_t part_bytes);

// A part's CSV text: the whole object, or its header line followed by the
// lines the range owns. Reads only the range (plus the header and the tail
// of its last line).
Result<std::string> ReadPart(Store& store, const DataPart& part);

// What a worker read: per part, the rows and the SHA-256 of the bytes read.
struct PartRead {
  DataPart part;
  std::string etag;
  std::string sha256;
  size_t rows = 0;
};

// Reads and parses `parts` into one table (same header everywhere, else
// InvalidArgument naming both). An empty share gives a table with the
// header of the first part and no rows.
Result<CsvTable> LoadShare(Store& store, std::span<const DataPart> parts, std::span<const DataFile> files,
                           std::vector<PartRead>& read);

}  // namespace modelbay
