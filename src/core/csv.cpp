#include "core/csv.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

namespace modelbay {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Offset of the first byte that breaks UTF-8 (overlong forms, surrogates and
// code points above U+10FFFF included), or npos when the text is valid.
size_t FindInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, eight bytes at a time.
    while (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if (word & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;  // continuation byte without a lead, C0/C1 overlongs, F5..FF
    }
    if (i + 1 >= n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// Bytes that end an unquoted field or make it invalid.
constexpr std::array<bool, 256> kSpecial = [] {
  std::array<bool, 256> t{};
  t[static_cast<unsigned char>(',')] = true;
  t[static_cast<unsigned char>('\n')] = true;
  t[static_cast<unsigned char>('\r')] = true;
  t[static_cast<unsigned char>('"')] = true;
  return t;
}();

class Parser {
 public:
  // `first_line` is the file line `text` starts on (a block of a larger file).
  Parser(std::string_view text, const std::string& source, size_t first_line = 1)
      : text_(text), source_(source), line_(first_line), first_line_(first_line) {}

  // 1-based line and character column of a byte offset, for messages.
  Status ErrorAt(size_t offset, std::string_view what) const {
    size_t line = first_line_ + static_cast<size_t>(std::count(text_.begin(), text_.begin() + offset, '\n'));
    size_t line_start = text_.substr(0, offset).rfind('\n');
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    line_start = std::max(line_start, begin_);
    size_t col = 1;
    for (size_t i = line_start; i < offset; ++i) {
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++col;
    }
    return InvalidArgument(fmt::format("{}:{}:{}: {}", source_, line, col, what));
  }
  Status FileError(std::string_view what) const {
    return InvalidArgument(fmt::format("{}: {}", source_, what));
  }

  // Checks on the untouched bytes: encoding, binary, emptiness. A whole
  // file (or a file's first block) may start with a BOM and must not be
  // empty; trailing line ends are ignored only at the end of the file.
  Status CheckBytes(bool file_start = true, bool file_end = true) {
    if (file_start && (text_.starts_with("\xFF\xFE") || text_.starts_with("\xFE\xFF"))) {
      return FileError("is UTF-16 encoded; save it as UTF-8 (e.g. `iconv -f utf-16 -t utf-8`)");
    }
    if (file_start && text_.starts_with(kBom)) begin_ = kBom.size();
    if (const void* nul = std::memchr(text_.data(), '\0', text_.size())) {
      size_t at = static_cast<size_t>(static_cast<const char*>(nul) - text_.data());
      return ErrorAt(at, "NUL byte: this looks like a binary file, not CSV; "
                         "upload a comma-separated text file");
    }
    if (size_t bad = FindInvalidUtf8(text_); bad != std::string_view::npos) {
      return ErrorAt(bad, fmt::format("invalid UTF-8 byte 0x{:02X}; save the file as UTF-8 "
                                      "(e.g. `iconv -f latin1 -t utf-8`)",
                                      static_cast<unsigned char>(text_[bad])));
    }
    content_end_ = text_.size();
    while (file_end && content_end_ > begin_ &&
           (text_[content_end_ - 1] == '\n' || text_[content_end_ - 1] == '\r')) {
      --content_end_;
    }
    if (file_start && content_end_ == begin_) {
      return FileError("the file is empty; a CSV file needs a header line and at least one data row");
    }
    pos_ = begin_;
    return Status::Ok();
  }

  // For a window of a file's data rows that CheckBytes already checked as
  // part of the whole: the rows run from its first byte to its last.
  void Window() {
    pos_ = begin_ = 0;
    content_end_ = text_.size();
  }

  bool AtEnd() const { return pos_ >= content_end_; }
  size_t content_end() const { return content_end_; }
  size_t pos() const { return pos_; }
  size_t line() const { return line_; }
  bool AtBlankLine() const { return text_[pos_] == '\n' || text_[pos_] == '\r'; }
  // Whether the field that starts at `offset` is in quotes.
  bool QuotedAt(size_t offset) const { return offset < text_.size() && text_[offset] == '"'; }

  // Parses one record starting at pos_. For each field calls
  // sink(index, view, escaped, offset); `escaped` fields still hold "" pairs.
  template <typename Sink>
  Status Row(Sink&& sink) {
    const char* const base = text_.data();
    const size_t end = text_.size();
    size_t index = 0;
    for (;;) {
      size_t start = pos_;
      if (pos_ < end && base[pos_] == '"') {
        size_t q = pos_ + 1;
        bool escaped = false;
        for (;;) {
          const void* found = std::memchr(base + q, '"', end - q);
          if (found == nullptr) {
            return ErrorAt(start, "unterminated quoted field: the quote that opens here is never "
                                  "closed; close it with \" (write a quote inside a quoted field as \"\")");
          }
          size_t r = static_cast<size_t>(static_cast<const char*>(found) - base);
          line_ += static_cast<size_t>(std::count(base + q, base + r, '\n'));
          if (r + 1 < end && base[r + 1] == '"') {
            escaped = true;
            q = r + 2;
            continue;
          }
          sink(index++, std::string_view(base + start + 1, r - start - 1), escaped, start);
          pos_ = r + 1;
          break;
        }
        if (pos_ < end && base[pos_] != ',' && base[pos_] != '\n' && base[pos_] != '\r') {
          return ErrorAt(pos_, "unexpected text after a closing quote; a quoted field must end at a "
                               "comma or the line end (write a quote inside a quoted field as \"\")");
        }
      } else {
        while (pos_ < end && !kSpecial[static_cast<unsigned char>(base[pos_])]) ++pos_;
        if (pos_ < end && base[pos_] == '"') {
          return ErrorAt(pos_, "quote in the middle of an unquoted field; put the whole field in "
                               "quotes and double the quotes inside it (\"a \"\"b\"\" c\")");
        }
        sink(index++, std::string_view(base + start, pos_ - start), false, start);
      }
      if (pos_ >= end) return Status::Ok();
      char c = base[pos_];
      if (c == ',') {
        ++pos_;
        continue;
      }
      if (c == '\r') {
        if (pos_ + 1 >= end || base[pos_ + 1] != '\n') {
          return ErrorAt(pos_, "carriage return (CR) without a line feed; save the file with LF or "
                               "CRLF line ends");
        }
        ++pos_;
      }
      ++pos_;  // '\n'
      ++line_;
      return Status::Ok();
    }
  }

 private:
  std::string_view text_;
  const std::string& source_;
  size_t begin_ = 0;        // after the BOM
  size_t content_end_ = 0;  // before trailing line ends
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t first_line_ = 1;
};

// Finds row starts in bytes read in order from a row start on: a row starts
// just after a newline outside quotes, and whether a newline is quoted is the
// parity of the quote characters before it (exact for every file the parser
// accepts: quotes open only at a field's start and come in pairs inside).
// Counts the line ends it passes. The one way modelbay splits CSV bytes
// into ranges of whole rows: CsvFileReader::SetRange and ParseCsv's chunks.
class RowStartScanner {
 public:
  // Scans `bytes` (which begin at offset `at` of the file) for the first row
  // start at or after `target`: its offset, with the scan stopped there; or
  // nullopt when `bytes` hold none (all of them scanned: feed the next).
  std::optional<uint64_t> Find(std::string_view bytes, uint64_t at, uint64_t target) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      const char c = bytes[i];
      if (c == '"') {
        quoted_ = !quoted_;
      } else if (c == '\n') {
        ++lines_;
        if (!quoted_ && at + i + 1 >= target) return at + i + 1;
      }
    }
    return std::nullopt;
  }
  // Line ends passed so far.
  size_t lines() const { return lines_; }

 private:
  bool quoted_ = false;
  size_t lines_ = 0;
};

// Removes the "" escapes of a quoted field in place; returns the new view.
std::string_view Unescape(std::string& buffer, std::string_view field) {
  char* out = buffer.data() + (field.data() - buffer.data());
  char* w = out;
  for (size_t i = 0; i < field.size(); ++i) {
    *w++ = field[i];
    if (field[i] == '"') ++i;  // the second quote of a pair
  }
  return std::string_view(out, static_cast<size_t>(w - out));
}

std::string JoinHeader(const std::vector<std::string>& header) {
  return fmt::format("{}", fmt::join(header, ","));
}

}  // namespace

long CsvTable::find_column(std::string_view name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return static_cast<long>(i);
  }
  return -1;
}

const std::string& CsvTable::source_of(size_t row) const {
  for (auto it = parts_.rbegin(); it != parts_.rend(); ++it) {
    if (row >= it->first) return it->second;
  }
  return source_;
}

Status CsvTable::Append(CsvTable&& other) {
  if (other.header_ != header_) {
    return InvalidArgument(fmt::format(
        "{} and {} have different columns ({} vs {}); training on several files needs the same "
        "header in each: pick one file with --data KEY or fix the headers",
        source_, other.source_, JoinHeader(header_), JoinHeader(other.header_)));
  }
  parts_.emplace_back(rows_, other.source_);
  for (const auto& [first, src] : other.parts_) parts_.emplace_back(rows_ + first, src);
  for (size_t c = 0; c < columns_.size(); ++c) {
    columns_[c].insert(columns_[c].end(), other.columns_[c].begin(), other.columns_[c].end());
  }
  lines_.insert(lines_.end(), other.lines_.begin(), other.lines_.end());
  for (auto& b : other.buffers_) buffers_.push_back(std::move(b));
  rows_ += other.rows_;
  other = CsvTable();
  return Status::Ok();
}

CsvTable CsvTable::Subset(std::span<const uint32_t> rows, std::span<const size_t> columns) const {
  CsvTable out;
  out.source_ = source_;
  out.rows_ = rows.size();
  for (size_t c : columns) out.header_.push_back(header_[c]);
  size_t bytes = 0;
  for (uint32_t r : rows) {
    for (size_t c : columns) bytes += columns_[c][r].size();
  }
  auto buffer = std::make_unique<std::string>();
  buffer->reserve(bytes);  // never reallocates below: the views stay valid
  out.columns_.assign(columns.size(), {});
  for (auto& column : out.columns_) column.reserve(rows.size());
  out.lines_.reserve(rows.size());
  const std::string* last_source = &source_;
  for (size_t i = 0; i < rows.size(); ++i) {
    const uint32_t r = rows[i];
    for (size_t k = 0; k < columns.size(); ++k) {
      const std::string_view cell = columns_[columns[k]][r];
      const size_t at = buffer->size();
      buffer->append(cell);
      out.columns_[k].emplace_back(buffer->data() + at, cell.size());
    }
    out.lines_.push_back(lines_[r]);
    const std::string& src = source_of(r);
    if (&src != last_source) {
      out.parts_.emplace_back(i, src);
      last_source = &src;
    }
  }
  out.buffers_.push_back(std::move(buffer));
  return out;
}

std::optional<char> OtherDelimiterIn(std::string_view header_line) {
  if (header_line.find(',') != std::string_view::npos) return std::nullopt;
  std::optional<char> best;
  size_t best_count = 0;
  for (char d : {';', '\t', '|'}) {
    size_t n = static_cast<size_t>(std::count(header_line.begin(), header_line.end(), d));
    if (n > best_count) {
      best = d;
      best_count = n;
    }
  }
  return best;
}

std::string DelimiterName(char d) {
  switch (d) {
    case ';': return "semicolon (;)";
    case '\t': return "tab";
    case '|': return "pipe (|)";
    case ',': return "comma (,)";
  }
  return fmt::format("'{}'", d);
}

namespace {

// The header record at the parser's position: names non-empty and distinct,
// and not one column of a file written with another delimiter.
Result<std::vector<std::string>> ParseHeader(Parser& parser) {
  std::vector<std::string> header;
  std::vector<size_t> header_offsets;
  bool any_quoted = false;
  MB_RETURN_IF_ERROR(parser.Row([&](size_t, std::string_view v, bool escaped, size_t offset) {
    std::string name(v);
    if (escaped) name = std::string(Unescape(name, name));
    any_quoted = any_quoted || parser.QuotedAt(offset);
    header.push_back(std::move(name));
    header_offsets.push_back(offset);
  }));
  if (header.size() == 1 && !any_quoted) {
    // One unquoted column whose name holds another delimiter: the file was
    // written with that delimiter, and reading it as one column would only
    // fail later, far away (in train).
    if (auto d = OtherDelimiterIn(header[0])) {
      return parser.ErrorAt(header_offsets[0], fmt::format(
          "the header is one column '{}' that contains {}: this file looks {}-separated, and modelbay "
          "reads comma-separated CSV (RFC 4180); `modelbay upload FILE --sep '{}'` stores it with commas, "
          "or save it with commas yourself",
          header[0].size() > 80 ? header[0].substr(0, 80) + "..." : header[0], DelimiterName(*d),
          DelimiterName(*d), *d == '\t' ? "\\t" : std::string(1, *d)));
    }
  }
  // One pass with a hash index: linear in the number of columns (a wide
  // file, e.g. 200k columns, must not take quadratic time here).
  std::unordered_map<std::string_view, size_t> first_with_name;
  first_with_name.reserve(header.size());
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string& name = header[i];
    if (name.find_first_not_of(" \t") == std::string::npos) {
      return parser.ErrorAt(header_offsets[i], fmt::format(
          "column {} of the header has an empty name; give every column a name", i + 1));
    }
    auto [it, inserted] = first_with_name.emplace(name, i);
    if (!inserted) {
      return parser.ErrorAt(header_offsets[i], fmt::format(
          "column {} of the header is named '{}' like column {}; column names must be unique, "
          "rename one of them", i + 1, name, it->second + 1));
    }
  }
  return header;
}

// The data records from the parser's position to the end of its text (all
// of `buf`, or a window of it that starts at a row start) into `columns`
// (one per column of `table`'s header), `lines` and `rows`; views point into
// `buf`, which the caller then hands to the table. Only the window's bytes
// are touched (unescaping rewrites them in place), so windows of one buffer
// can be parsed on several threads at once.
Status ParseRecords(Parser& parser, std::string& buf, std::string_view text, const CsvTable& table,
                    std::vector<std::vector<std::string_view>>& columns, std::vector<size_t>& lines, size_t& rows) {
  const size_t ncols = table.cols();
  // Every data row starts on a line, so line ends bound the row count.
  size_t max_rows = static_cast<size_t>(std::count(text.begin() + static_cast<long>(parser.pos()), text.end(), '\n')) + 1;
  columns.resize(ncols);
  for (auto& col : columns) col.reserve(col.size() + max_rows);
  lines.reserve(lines.size() + max_rows);

  std::vector<std::pair<size_t, size_t>> escaped_cells;  // (col, row)
  size_t extra_offset = 0;
  while (!parser.AtEnd()) {
    size_t row_start = parser.pos();
    if (ncols > 1 && parser.AtBlankLine()) {
      return parser.ErrorAt(row_start, fmt::format(
          "empty line; remove it or fill in its {} fields", ncols));
    }
    const size_t row = rows;
    lines.push_back(parser.line());
    size_t got = 0;
    MB_RETURN_IF_ERROR(parser.Row([&](size_t index, std::string_view v, bool escaped, size_t offset) {
      got = index + 1;
      if (index < ncols) {
        columns[index].push_back(v);
        if (escaped) escaped_cells.emplace_back(index, row);
      } else if (index == ncols) {
        extra_offset = offset;
      }
    }));
    if (got != ncols) {
      size_t at = got > ncols ? extra_offset : parser.pos();
      if (got < ncols) {
        // Point at the end of the row's text, before its line end.
        while (at > row_start && (text[at - 1] == '\n' || text[at - 1] == '\r')) --at;
      }
      return parser.ErrorAt(at, fmt::format(
          "this row has {} field{} but the header has {} ({}); every row needs one value per "
          "column (leave a value empty, e.g. a,,c, when it is missing; quote values that "
          "contain commas)", got, got == 1 ? "" : "s", ncols, JoinHeader(table.header())));
    }
    ++rows;
  }
  for (auto [c, r] : escaped_cells) columns[c][r] = Unescape(buf, columns[c][r]);
  return Status::Ok();
}

}  // namespace

Result<CsvTable> ParseCsv(std::string text, std::string source) {
  const size_t by_size = text.size() / kParallelChunkBytes;
  const size_t chunks = std::clamp<size_t>(std::min<size_t>(std::thread::hardware_concurrency(), by_size), 1, 16);
  return ParseCsvInChunks(std::move(text), std::move(source), chunks);
}

namespace {

// One chunk's rows: the window [begin, end) of the buffer, starting at a row
// start on file line `first_line`.
struct Chunk {
  size_t begin = 0, end = 0, first_line = 1;
  std::vector<std::vector<std::string_view>> columns;
  std::vector<size_t> lines;
  size_t rows = 0;
  Status status;
};

// Windows of whole rows covering [from, to): `count` near-equal byte ranges,
// each moved forward to the next row start (RowStartScanner); fewer when
// rows are long. `from` is a row start on line `line`.
std::vector<Chunk> CutChunks(std::string_view buf, size_t from, size_t to, size_t line, size_t count) {
  std::vector<Chunk> chunks;
  RowStartScanner scanner;
  size_t at = from;
  for (size_t k = 1; k <= count && at < to; ++k) {
    const size_t target = k < count ? from + (to - from) * k / count : to;
    if (target <= at) continue;  // the last chunk's final row reached past it
    Chunk c;
    c.begin = at;
    c.first_line = line + scanner.lines();
    std::optional<uint64_t> next;
    if (target < to) next = scanner.Find(buf.substr(at, to - at), at, target);
    c.end = next ? static_cast<size_t>(*next) : to;
    at = c.end;
    chunks.push_back(std::move(c));
  }
  return chunks;
}

}  // namespace

Result<CsvTable> ParseCsvInChunks(std::string text, std::string source, size_t chunk_count) {
  CsvTable table;
  table.source_ = std::move(source);
  auto owned = std::make_unique<std::string>(std::move(text));
  std::string& buf = *owned;
  Parser parser(buf, table.source_);
  MB_RETURN_IF_ERROR(parser.CheckBytes());
  MB_ASSIGN_OR_RETURN(table.header_, ParseHeader(parser));
  // Cut the data rows into windows, parse each on its own thread, and keep
  // the first error in file order (what one pass would have reported).
  std::vector<Chunk> chunks;
  if (chunk_count > 1) chunks = CutChunks(buf, parser.pos(), parser.content_end(), parser.line(), chunk_count);
  if (chunks.size() <= 1) {
    MB_RETURN_IF_ERROR(ParseRecords(parser, buf, buf, table, table.columns_, table.lines_, table.rows_));
    table.buffers_.push_back(std::move(owned));
    return table;
  }
  {
    std::vector<std::jthread> threads;
    for (size_t k = 1; k < chunks.size(); ++k) {
      threads.emplace_back([&, k] {
        Chunk& c = chunks[k];
        const std::string_view window(buf.data() + c.begin, c.end - c.begin);
        Parser part(window, table.source_, c.first_line);
        part.Window();
        c.status = ParseRecords(part, buf, window, table, c.columns, c.lines, c.rows);
      });
    }
    Chunk& c = chunks[0];
    const std::string_view window(buf.data() + c.begin, c.end - c.begin);
    Parser part(window, table.source_, c.first_line);
    part.Window();
    c.status = ParseRecords(part, buf, window, table, c.columns, c.lines, c.rows);
  }
  for (const Chunk& c : chunks) MB_RETURN_IF_ERROR(c.status);
  // Concatenate, freeing each chunk's views once copied.
  for (const Chunk& c : chunks) table.rows_ += c.rows;
  table.columns_.resize(table.cols());
  for (size_t col = 0; col < table.cols(); ++col) {
    table.columns_[col].reserve(table.rows_);
    for (Chunk& c : chunks) {
      table.columns_[col].insert(table.columns_[col].end(), c.columns[col].begin(), c.columns[col].end());
      std::vector<std::string_view>().swap(c.columns[col]);
    }
  }
  table.lines_.reserve(table.rows_);
  for (Chunk& c : chunks) {
    table.lines_.insert(table.lines_.end(), c.lines.begin(), c.lines.end());
    std::vector<size_t>().swap(c.lines);
  }
  table.buffers_.push_back(std::move(owned));
  return table;
}

Result<CsvTable> ReadCsvFile(const std::filesystem::path& path) {
  MB_ASSIGN_OR_RETURN(std::string text, ReadCsvText(path));
  return ParseCsv(std::move(text), path.string());
}

Result<std::string> ToCommaSeparated(std::string_view text, char delimiter, std::string_view source) {
  if (delimiter == ',') return std::string(text);
  const size_t eol = text.find('\n');
  if (text.substr(0, eol).find(delimiter) == std::string_view::npos) {
    return InvalidArgument(fmt::format("{}:1: --sep {} but the header line holds no {}; give the file's delimiter "
                                       "(or leave --sep out for a comma-separated file)",
                                       source, DelimiterName(delimiter), DelimiterName(delimiter)));
  }
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    // One field, from i.
    if (text[i] == '"') {  // quoted: copied as is ("" stays an escaped quote)
      size_t j = i + 1;
      while (j < n) {
        if (text[j] == '"') {
          if (j + 1 < n && text[j + 1] == '"') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      const size_t end = std::min(j + 1, n);
      out.append(text.substr(i, end - i));
      i = end;
      // Text after the closing quote is the parser's to refuse.
      while (i < n && text[i] != delimiter && text[i] != '\n' && text[i] != '\r') out += text[i++];
    } else {
      size_t j = i;
      while (j < n && text[j] != delimiter && text[j] != '\n' && text[j] != '\r') ++j;
      std::string_view field = text.substr(i, j - i);
      if (field.find(',') != std::string_view::npos && field.find('"') == std::string_view::npos) {
        out += '"';
        out.append(field);
        out += '"';
      } else {
        out.append(field);  // a stray quote is the parser's to refuse, naming the line
      }
      i = j;
    }
    if (i < n && text[i] == delimiter) {
      out += ',';
      ++i;
      if (i == n) break;
      continue;
    }
    while (i < n && (text[i] == '\r' || text[i] == '\n')) out += text[i++];
  }
  return out;
}

Result<std::string> ReadCsvText(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return NotFound(fmt::format("{}: no such file; check the path", name));
    }
    return InvalidArgument(fmt::format("{}: cannot open: {}; check the file's permissions", name,
                                       std::strerror(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(fmt::format("{}: not a regular file (a folder?); pass a CSV file", name));
  }
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t off = 0;
  for (;;) {
    if (off == text.size()) text.resize(std::max<size_t>(text.size() * 2, 1 << 16));
    ssize_t n = ::read(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return InvalidArgument(fmt::format("{}: cannot read: {}", name, std::strerror(err)));
    }
    if (n == 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(off);
  return text;
}


namespace {
constexpr size_t kReadChunk = 1 << 20;
// A row longer than this is refused (an unclosed quote would otherwise make
// the reader hold the rest of the file).
constexpr size_t kMaxRowBytes = size_t{256} << 20;

Result<size_t> PRead(int fd, char* out, size_t n, uint64_t offset, const std::string& source) {
  for (;;) {
    ssize_t got = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    return InvalidArgument(fmt::format("{}: cannot read: {}", source, std::strerror(errno)));
  }
}
}  // namespace

CsvFileReader::~CsvFileReader() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<CsvFileReader>> CsvFileReader::Open(const std::filesystem::path& path,
                                                           std::string source) {
  std::unique_ptr<CsvFileReader> r(new CsvFileReader());
  r->source_ = std::move(source);
  r->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (r->fd_ < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return NotFound(fmt::format("{}: no such file; check the path", r->source_));
    }
    return InvalidArgument(fmt::format("{}: cannot open: {}; check the file's permissions", r->source_,
                                       std::strerror(err)));
  }
  struct stat st {};
  if (::fstat(r->fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    return InvalidArgument(fmt::format("{}: not a regular file (a folder?); pass a CSV file", r->source_));
  }
  r->size_ = static_cast<uint64_t>(st.st_size);

  // The header: bytes up to the first newline outside quotes.
  size_t end = 0;
  bool quoted = false;
  for (bool more = true;;) {
    while (end < r->buf_.size()) {
      char c = r->buf_[end++];
      if (c == '"') quoted = !quoted;
      else if (c == '\n' && !quoted) goto found;
    }
    if (end > kMaxRowBytes) {
      return InvalidArgument(fmt::format("{}: the header line is longer than {} MiB; is this a CSV file?",
                                         r->source_, kMaxRowBytes >> 20));
    }
    MB_ASSIGN_OR_RETURN(more, r->Fill());
    if (!more) break;
  }
found:
  {
    std::string text = r->buf_.substr(0, end);
    Parser parser(text, r->source_);
    MB_RETURN_IF_ERROR(parser.CheckBytes(/*file_start=*/true, /*file_end=*/true));
    MB_ASSIGN_OR_RETURN(r->header_, ParseHeader(parser));
    r->line_ = 1 + static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  r->data_start_ = end;
  r->pos_ = end;
  return r;
}

Result<bool> CsvFileReader::Fill() {
  if (eof_) return false;
  size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  MB_ASSIGN_OR_RETURN(size_t got, PRead(fd_, buf_.data() + old, kReadChunk, read_offset_, source_));
  buf_.resize(old + got);
  read_offset_ += got;
  if (got == 0) eof_ = true;
  return got > 0;
}

Status CsvFileReader::SetRange(uint64_t begin, uint64_t end) {
  stop_ = end;
  if (begin <= data_start_) return Status::Ok();
  // Quote parity and line count from the first data row to the first row
  // start at or after `begin` (just after a newline outside quotes).
  RowStartScanner scanner;
  uint64_t offset = data_start_;
  uint64_t start = size_;
  std::string chunk(kReadChunk, '\0');
  while (offset < size_ && start == size_) {
    MB_ASSIGN_OR_RETURN(size_t got, PRead(fd_, chunk.data(), chunk.size(), offset, source_));
    if (got == 0) break;
    if (auto found = scanner.Find(std::string_view(chunk.data(), got), offset, begin)) start = *found;
    offset += got;
  }
  const size_t lines = scanner.lines();
  buf_.clear();
  pos_ = 0;
  buf_offset_ = start;
  read_offset_ = start;
  eof_ = false;
  line_ += lines;
  done_ = start >= stop_ || start >= size_;
  return Status::Ok();
}

Result<CsvTable> CsvFileReader::NextBlock(size_t max_rows) {
  CsvTable block;
  block.source_ = source_;
  block.header_ = header_;
  block.columns_.resize(header_.size());
  if (done_ || max_rows == 0) return block;
  // Drop the bytes already parsed so positions below stay valid while Fill appends.
  buf_.erase(0, pos_);
  buf_offset_ += pos_;
  pos_ = 0;

  // The cut: after `max_rows` non-blank rows, before the first row starting
  // at or after stop_, or at the end of the file.
  size_t i = 0, row_start = 0, rows = 0, cut = 0;
  bool quoted = false;
  for (;;) {
    if (!quoted && i == row_start) {
      if (rows == max_rows) {
        cut = row_start;
        break;
      }
      if (buf_offset_ + row_start >= stop_) {
        cut = row_start;
        done_ = true;
        break;
      }
    }
    if (i == buf_.size()) {
      if (i - row_start > kMaxRowBytes) {
        return InvalidArgument(fmt::format(
            "{}:{}: a row longer than {} MiB; is a quote never closed? (write a quote inside a "
            "quoted field as \"\")", source_, line_ + static_cast<size_t>(std::count(buf_.begin(), buf_.begin() + static_cast<long>(row_start), '\n')),
            kMaxRowBytes >> 20));
      }
      MB_ASSIGN_OR_RETURN(bool more, Fill());
      if (more) continue;
      cut = buf_.size();
      done_ = true;
      break;
    }
    char c = buf_[i++];
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\n' && !quoted) {
      size_t len = i - row_start;
      if (len > 2 || (len == 2 && buf_[row_start] != '\r')) ++rows;
      row_start = i;
    }
  }

  auto owned = std::make_unique<std::string>(buf_.substr(0, cut));
  pos_ = cut;
  Parser parser(*owned, source_, line_);
  const bool file_end = done_ && ((eof_ && cut == buf_.size()) || buf_offset_ + cut >= size_);
  // Counted before parsing: unescaping "" rewrites bytes in place.
  const size_t lines = static_cast<size_t>(std::count(owned->begin(), owned->end(), '\n'));
  MB_RETURN_IF_ERROR(parser.CheckBytes(/*file_start=*/false, file_end));
  MB_RETURN_IF_ERROR(ParseRecords(parser, *owned, *owned, block, block.columns_, block.lines_, block.rows_));
  line_ += lines;
  block.buffers_.push_back(std::move(owned));
  return block;
}

}  // namespace modelbay
