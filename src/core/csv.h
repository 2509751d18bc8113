// RFC 4180 CSV reading into a columnar table of text cells.
//
// Quoted fields, embedded commas, quotes ("") and newlines, CRLF or LF line
// ends, UTF-8 (a BOM is skipped). Errors are InvalidArgument with one clear
// message: "FILE:LINE:COLUMN: what is wrong; how to fix it". The checks: the
// bytes are UTF-8 and not binary (NUL), the file is not empty, it has a
// header with non-empty, distinct names, every row has the header's width,
// quotes are balanced.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
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

 private:
  friend Result<CsvTable> ParseCsv(std::string, std::string);
  std::string source_;
  std::vector<std::string> header_;
  size_t rows_ = 0;
  std::vector<std::vector<std::string_view>> columns_;  // [col][row]
  std::vector<size_t> lines_;                           // [row]
  std::vector<std::unique_ptr<std::string>> buffers_;   // owns the bytes views point into
  std::vector<std::pair<size_t, std::string>> parts_;   // (first row, source) per Append
};

// Parses CSV text; `source` names the file in errors.
Result<CsvTable> ParseCsv(std::string text, std::string source);
// Reads and parses a file (NotFound when missing, InvalidArgument when not a
// regular readable file).
Result<CsvTable> ReadCsvFile(const std::filesystem::path& path);

}  // namespace modelbay
