// Spool segment files: the on-disk form of spooled prediction rows.
//
// A segment is a sequence of framed records. The first record is the header
// (rows = 0; payload = writer id, '\n', the CSV header line); every later
// record holds the CSV lines of one or more appended requests. A record is
//   u32 payload length | u32 row count | u64 checksum | payload
// (little endian; checksum = FNV-1a 64 over length, rows and payload), so a
// torn tail left by a crash is detected and cut off on recovery.
//
// File name: <run_id>-<first_seq, 10 digits>.seg in <spool>/v<version>/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace modelbay::results {

// Appends one framed record to `out`.
void AppendRecord(std::string& out, std::string_view payload, uint32_t rows);

// The header record's payload.
std::string HeaderPayload(std::string_view writer_id, std::string_view header_line);

struct SegmentName {
  std::string run_id;
  uint64_t first_seq = 0;
};
std::string FormatSegmentName(const SegmentName& name);
// Parses "<run_id>-<digits>.seg"; InvalidArgument otherwise.
Result<SegmentName> ParseSegmentName(std::string_view file_name);

// What a segment file holds after its valid records.
struct SegmentContents {
  std::string writer_id;
  std::string header_line;  // ends in '\n'
  std::string body;         // every row's CSV lines, in append order
  uint64_t rows = 0;
  uint64_t valid_bytes = 0;  // length of the valid prefix
  bool torn = false;         // bytes after the valid prefix
};

// Reads a segment, stopping at the first incomplete or corrupt record.
// InvalidArgument when not even the header record is valid.
Result<SegmentContents> ReadSegment(const std::filesystem::path& path);

}  // namespace modelbay::results
