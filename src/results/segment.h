// Spool segment files: the on-disk form of spooled prediction rows.
//
// A segment is a sequence of framed records. The first record is the header
// (rows = 0); every later record holds the CSV lines of one or more appended
// requests. A record is
//   u32 payload length | u32 row count | u64 checksum | payload
// (little endian). The checksum covers the seed, length, row count and
// payload, so neither a wrong length nor a changed byte passes. New segments
// are mbseg3: XXH3-64 (libxxhash) of the payload seeded with the seed, then
// of the length and row count seeded with that. mbseg2 segments (FNV-1a 64,
// byte at a time: several times slower) are still read.
//
// Header payload: "mbseg3 <salt, 16 hex>\n<writer id>\n<CSV header line>"
// ("mbseg2 ..." in the older format; the header record's checksum must be
// the one its magic names).
// The header record is checked with seed 0; every row record with the
// segment's random salt as seed. A crash tears only the tail; a record
// damaged in the middle (a bad disk, a stray write) is skipped by scanning
// forward to the next offset where a whole record checks out. Because row
// payloads hold client text, a client could embed a well-formed record in a
// request; without the per-segment salt (never sent anywhere) such an
// embedded frame cannot check out, so resynchronising never accepts it.
// Segments from before the salt ("<writer id>\n<header line>", all records
// with seed 0, FNV-1a) are still read, but not resynchronised: for them reading stops
// at the first damaged record, as it always did.
//
// A segment written with --fsync always is preallocated: zero bytes follow
// its last record until it is sealed (or for good, after a crash). They
// read as the end of the segment, not as a torn tail.
//
// File name: <run_id>-<first_seq, 10 digits>.seg in <writer dir>/v<version>/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace modelbay::results {

enum class SegmentFormat {
  kMbseg2,  // FNV-1a checksums (and the unsalted format before it)
  kMbseg3,  // XXH3-64 checksums: what new segments are written in
};

// Appends one framed record to `out`, checked with `seed` (the header record
// uses 0, row records the segment's salt). Every record of a segment uses
// the format its header names.
void AppendRecord(std::string& out, std::string_view payload, uint32_t rows, uint64_t seed,
                  SegmentFormat format = SegmentFormat::kMbseg3);

// A fresh random salt for a new segment (never 0).
uint64_t NewSegmentSalt();

// The header record's payload.
std::string HeaderPayload(uint64_t salt, std::string_view writer_id, std::string_view header_line,
                          SegmentFormat format = SegmentFormat::kMbseg3);

struct SegmentName {
  std::string run_id;
  uint64_t first_seq = 0;
};
std::string FormatSegmentName(const SegmentName& name);
// Parses "<run_id>-<digits>.seg"; InvalidArgument otherwise.
Result<SegmentName> ParseSegmentName(std::string_view file_name);

// What a segment file holds in its valid records.
struct SegmentContents {
  std::string writer_id;
  std::string header_line;  // ends in '\n'
  std::string body;         // every valid row record's CSV lines, in append order
  uint64_t rows = 0;
  uint64_t valid_bytes = 0;    // end of the last valid record
  bool torn = false;           // bytes after the last valid record (a torn tail)
  bool zero_tail = false;      // only zero bytes after it: space preallocated and not written
                               // yet (an active --fsync always segment), not damage
  uint64_t skipped_bytes = 0;  // damaged bytes between valid records
  uint64_t first_skipped_at = 0;  // offset of the first damaged byte
};

// Reads a segment: every valid record, skipping damaged ones in the middle
// and stopping at a torn tail. An empty file, or one of zeros only (its
// header never written), has no rows and no header. InvalidArgument when
// the header record is not valid (the segment cannot be shipped: quarantine
// it); Unavailable when the file cannot be read.
Result<SegmentContents> ReadSegment(const std::filesystem::path& path);

}  // namespace modelbay::results
