// RFC 4180 CSV reading into a columnar table of text cells.
//
// Quoted fields, embedded commas, quotes ("") and newlines, CRLF or LF line
// ends, UTF-8 (a BOM is skipped). Errors are InvalidArgument with one clear
// message: "FILE:LINE:COLUMN: what is wrong; how to fix it". The checks: the
// bytes are UTF-8 and not binary (NUL), the file is not empty, it has a
// header with non-empty, distinct names (and is not one column of a file
// written with `;`, tab or `|`), every row has the header's width, quotes are
// balanced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace modelbay {

class CsvTable {
 public:
  const std::string& source() const { return source_; }
  const std::vector<std::string>& header() const { return header_; }
  size_t rows() const { return rows_; }
  size_t cols() const { return header_.size(); }
  // Cell text, unquoted and unescaped. Valid while the table lives.
  std::string_view cell(size_t row, size_t col) const { return columns_[col][row]; }
  const std::vector<std::string_view>& column(size_t col) const { return columns_[col]; }
  // 1-based line number where data row `row` starts (for error messages).
  size_t line_of(size_t row) const { return lines_[row]; }
  // The source (file name) data row `row` came from; differs from source()
  // only for rows added by Append.
  const std::string& source_of(size_t row) const;
  // Index of a header name, or -1.
  long find_column(std::string_view name) const;

  // Appends the rows of `other`, which must have the same header (else
  // InvalidArgument naming both sources). Used for `--data all`.
  Status Append(CsvTable&& other);

  // A table of the given rows (indices into this table, in the order given)
  // and columns (indices, in the order given) that owns a copy of their
  // bytes: it outlives this table. Lines and sources are kept, so messages
  // still name the original file and line.
  CsvTable Subset(std::span<const uint32_t> rows, std::span<const size_t> columns) const;

  // Frees the cell views of column `col` (its text stays until the table
  // goes): for a caller done with a column, e.g. training after the labels
  // are read. Afterwards column(col) is empty and cell(row, col) must not be
  // called.
  void ReleaseColumn(size_t col) { std::vector<std::string_view>().swap(columns_[col]); }

 private:
  friend Result<CsvTable> ParseCsvInChunks(std::string, std::string, size_t);
  friend class CsvFileReader;
  std::string source_;
  std::vector<std::string> header_;
  size_t rows_ = 0;
  std::vector<std::vector<std::string_view>> columns_;  // [col][row]
  std::vector<size_t> lines_;                           // [row]
  std::vector<std::unique_ptr<std::string>> buffers_;   // owns the bytes views point into
  std::vector<std::pair<size_t, std::string>> parts_;   // (first row, source) per Append
};

// The delimiter a CSV header line was written with when it is not a comma:
// `;`, tab or `|` (the most frequent) in a line with no comma; else nullopt.
// A one-column header holding one is refused by ParseCsv and CsvFileReader
// with a hint naming it.
std::optional<char> OtherDelimiterIn(std::string_view header_line);
// "semicolon (;)", "tab", "pipe (|)", ...
std::string DelimiterName(char delimiter);

// Parses CSV text; `source` names the file in errors. Large text is parsed
// in byte ranges of whole rows, at least kParallelChunkBytes each, on up to
// one thread per core (ParseCsvInChunks).
Result<CsvTable> ParseCsv(std::string text, std::string source);
inline constexpr size_t kParallelChunkBytes = size_t{4} << 20;
// ParseCsv with the data rows cut into `chunks` near-equal byte ranges of
// whole rows (fewer when rows are long), each parsed on its own thread. The
// table, and the error for bad input (the first in the file), are those of
// a single pass.
Result<CsvTable> ParseCsvInChunks(std::string text, std::string source, size_t chunks);
// Reads and parses a file (NotFound when missing, InvalidArgument when not a
// regular readable file).
Result<CsvTable> ReadCsvFile(const std::filesystem::path& path);
// The bytes of a file, with ReadCsvFile's errors for a missing or irregular one.
Result<std::string> ReadCsvText(const std::filesystem::path& path);
// CSV text written with `delimiter` (`;`, tab, `|`, ...) as comma-separated
// RFC 4180 text: each delimiter outside quotes becomes a comma, an unquoted
// field holding a comma is quoted, quoted fields and line ends are kept (so
// line numbers stay the same; ParseCsv then checks the result). ',' returns
// the text unchanged. InvalidArgument naming `source` when the header line
// holds no `delimiter`.
Result<std::string> ToCommaSeparated(std::string_view text, char delimiter, std::string_view source);

// Reads a CSV file in blocks of rows, so memory is bounded by the block size
// (plus the longest row), not by the file: the same parser and checks as
// ParseCsv, with errors naming the file's own line and column.
//
// Byte ranges (for splitting one file between machines): a range [begin, end)
// owns the rows that START at a byte offset inside it; the last owned row is
// read to its end even past `end`. Whether a newline ends a row depends on
// the quotes before it, so SetRange counts the quote characters from the
// first data row up to `begin` (a cheap scan, nothing parsed or kept): the
// split is exact even when quoted fields contain newlines.
//
// Not thread-safe; one reader per thread. Owns its file descriptor.
class CsvFileReader {
 public:
  // Opens `path` and parses the header; `source` names the file in errors.
  static Result<std::unique_ptr<CsvFileReader>> Open(const std::filesystem::path& path,
                                                     std::string source);
  ~CsvFileReader();
  CsvFileReader(const CsvFileReader&) = delete;
  CsvFileReader& operator=(const CsvFileReader&) = delete;

  const std::vector<std::string>& header() const { return header_; }
  const std::string& source() const { return source_; }
  uint64_t size() const { return size_; }
  // Byte offset of the first data row (after the BOM and the header).
  uint64_t data_start() const { return data_start_; }

  // Restricts the rows read to those starting in [begin, end) (byte offsets
  // in the file; begin <= data_start() means the first data row). Call
  // before the first NextBlock.
  Status SetRange(uint64_t begin, uint64_t end);

  // The next rows (at most `max_rows`); a table with rows() == 0 at the end.
  // The table's header is the file's; line_of() gives the file's line.
  Result<CsvTable> NextBlock(size_t max_rows);

 private:
  CsvFileReader() = default;
  // Reads more bytes into buf_; false at the end of the file.
  Result<bool> Fill();
  int fd_ = -1;
  std::string source_;
  std::vector<std::string> header_;
  uint64_t size_ = 0;
  uint64_t data_start_ = 0;
  uint64_t stop_ = UINT64_MAX;  // no row starting at or after this offset
  std::string buf_;             // bytes [buf_offset_, buf_offset_ + buf_.size())
  uint64_t buf_offset_ = 0;
  size_t pos_ = 0;              // next row start, within buf_
  size_t line_ = 1;             // file line of pos_
  uint64_t read_offset_ = 0;    // next byte to read from the file
  bool eof_ = false;
  bool done_ = false;
};

}  // namespace modelbay
