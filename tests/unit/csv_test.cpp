#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "core/csv.h"
#include "test_util.h"

namespace modelbay {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

namespace fs = std::filesystem;

CsvTable MustParse(std::string text) {
  auto t = ParseCsv(std::move(text), "t.csv");
  EXPECT_THAT(t, IsOk());
  return t.ok() ? std::move(t).value() : CsvTable();
}

// The error message of a parse that must fail with InvalidArgument.
std::string ParseError(std::string text) {
  auto t = ParseCsv(std::move(text), "t.csv");
  EXPECT_FALSE(t.ok());
  if (t.ok()) return "";
  EXPECT_THAT(t, StatusIs(Code::kInvalidArgument, _));
  return t.status().message();
}

TEST(Csv, SimpleTableIsColumnar) {
  CsvTable t = MustParse("Country,Count,id,churn\naa,2,1,0\nbb,10,2,1\n");
  ASSERT_EQ(t.cols(), 4u);
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.header()[3], "churn");
  EXPECT_EQ(t.cell(1, 0), "bb");
  EXPECT_EQ(t.column(1)[0], "2");
  EXPECT_EQ(t.find_column("id"), 2);
  EXPECT_EQ(t.find_column("nope"), -1);
  EXPECT_EQ(t.line_of(0), 2u);
  EXPECT_EQ(t.line_of(1), 3u);
  EXPECT_EQ(t.source(), "t.csv");
}

TEST(Csv, QuotedFieldsWithCommasQuotesAndNewlines) {
  CsvTable t = MustParse("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",\"\"\nlast,\"\"\"\"\n");
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.cell(0, 0), "x, y");
  EXPECT_EQ(t.cell(0, 1), "say \"hi\"");
  EXPECT_EQ(t.cell(1, 0), "two\nlines");
  EXPECT_EQ(t.cell(1, 1), "");
  EXPECT_EQ(t.cell(2, 1), "\"");
  // The embedded newline moves the next row one line further.
  EXPECT_EQ(t.line_of(1), 3u);
  EXPECT_EQ(t.line_of(2), 5u);
}

TEST(Csv, QuotedHeaderNames) {
  CsvTable t = MustParse("\"first, name\",\"the \"\"id\"\"\"\nann,1\n");
  EXPECT_EQ(t.header()[0], "first, name");
  EXPECT_EQ(t.header()[1], "the \"id\"");
}

TEST(Csv, CrLfBomAndNoFinalNewline) {
  CsvTable t = MustParse("\xEF\xBB\xBFname,n\r\n\"a\r\nb\",1\r\nc,2");
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.header()[0], "name");  // BOM not part of the first name
  EXPECT_EQ(t.cell(0, 0), "a\r\nb");  // inside quotes, bytes are kept
  EXPECT_EQ(t.cell(0, 1), "1");
  EXPECT_EQ(t.cell(1, 1), "2");
}

TEST(Csv, TrailingEmptyLinesAreIgnored) {
  CsvTable t = MustParse("a,b\n1,2\n\n\r\n\n");
  EXPECT_EQ(t.rows(), 1u);
}

TEST(Csv, EmptyFieldsAndTrailingComma) {
  CsvTable t = MustParse("a,b,c\n,,\n1,,\n");
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.cell(0, 0), "");
  EXPECT_EQ(t.cell(1, 0), "1");
  EXPECT_EQ(t.cell(1, 2), "");
}

TEST(Csv, OneColumnFileKeepsEmptyValuesInTheMiddle) {
  CsvTable t = MustParse("x\n1\n\n3\n\n");
  ASSERT_EQ(t.cols(), 1u);
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.cell(1, 0), "");
  EXPECT_EQ(t.cell(2, 0), "3");
}

TEST(Csv, Utf8MultiByteText) {
  CsvTable t = MustParse("pays,ville\nFrance,Zürich\n日本,東京\nemoji,😀\n");
  EXPECT_EQ(t.cell(0, 1), "Zürich");
  EXPECT_EQ(t.cell(1, 0), "日本");
  EXPECT_EQ(t.cell(2, 1), "😀");
}

TEST(Csv, VeryLongFields) {
  std::string big(3 << 20, 'x');
  std::string quoted(1 << 20, ',');
  CsvTable t = MustParse("a,b\n" + big + ",\"" + quoted + "\"\n");
  EXPECT_EQ(t.cell(0, 0).size(), big.size());
  EXPECT_EQ(t.cell(0, 1), quoted);
}

TEST(Csv, HeaderOnlyGivesZeroRows) {
  CsvTable t = MustParse("a,b,c\n");
  EXPECT_EQ(t.rows(), 0u);
  EXPECT_EQ(t.cols(), 3u);
}

TEST(CsvErrors, EmptyFile) {
  EXPECT_EQ(ParseError(""), "t.csv: the file is empty; a CSV file needs a header line and at least one data row");
  EXPECT_THAT(ParseError("\xEF\xBB\xBF\n\r\n"), HasSubstr("t.csv: the file is empty"));
}

TEST(CsvErrors, EmptyAndDuplicateHeaderNames) {
  std::string m = ParseError("a,,c\n1,2,3\n");
  EXPECT_THAT(m, HasSubstr("t.csv:1:3: column 2 of the header has an empty name"));
  m = ParseError("id,x,id\n1,2,3\n");
  EXPECT_THAT(m, HasSubstr("t.csv:1:6: column 3 of the header is named 'id' like column 1"));
}

TEST(CsvErrors, RaggedRowsNameLineAndCounts) {
  std::string m = ParseError("a,b,c\n1,2,3\n4,5\n");
  EXPECT_THAT(m, HasSubstr("t.csv:3:4: this row has 2 fields but the header has 3 (a,b,c)"));
  m = ParseError("a,b\n1,2\n3,4\n5,6,7,8\n");
  EXPECT_THAT(m, HasSubstr("t.csv:4:5: this row has 4 fields but the header has 2"));
  m = ParseError("a,b\r\n1,2\r\nonly\r\n");
  EXPECT_THAT(m, HasSubstr("t.csv:3:5: this row has 1 field but"));
  // A row after a multi-line quoted field is reported on its real line.
  m = ParseError("a,b\n\"x\ny\",1\n2\n");
  EXPECT_THAT(m, HasSubstr("t.csv:4:"));
}

TEST(CsvErrors, BlankLineInTheMiddle) {
  std::string m = ParseError("a,b\n1,2\n\n3,4\n");
  EXPECT_THAT(m, HasSubstr("t.csv:3:1: empty line"));
}

TEST(CsvErrors, UnterminatedQuoteNamesTheLineItOpened) {
  std::string m = ParseError("a,b\n1,2\n3,\"open\n4,5\n6,7\n");
  EXPECT_THAT(m, HasSubstr("t.csv:3:3: unterminated quoted field"));
}

TEST(CsvErrors, QuoteInsideUnquotedField) {
  std::string m = ParseError("a,b\n1,ab\"c\n");
  EXPECT_THAT(m, HasSubstr("t.csv:2:5: quote in the middle of an unquoted field"));
  m = ParseError("a,b\n1,\"ab\"c\n");
  EXPECT_THAT(m, HasSubstr("t.csv:2:7: unexpected text after a closing quote"));
}

TEST(CsvErrors, InvalidUtf8NamesLineAndCharacterColumn) {
  // Latin-1 'é' (0xE9) after two-byte 'ü' (column counts characters).
  std::string m = ParseError("a,b\nü,caf\xE9\n");
  EXPECT_THAT(m, HasSubstr("t.csv:2:6: invalid UTF-8 byte 0xE9"));
  const char* bad[] = {
      "\xC0\x80",          // overlong NUL
      "\xC1\xBF",          // overlong
      "\xE0\x80\xAF",      // overlong '/'
      "\xED\xA0\x80",      // UTF-16 surrogate
      "\xF0\x80\x80\x80",  // overlong
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "\xF5\x80\x80\x80",  // invalid lead
      "\x80",              // lone continuation
      "\xE2\x82",          // truncated
  };
  for (const char* b : bad) {
    m = ParseError(std::string("a\nx") + b + "\n");
    EXPECT_THAT(m, HasSubstr("t.csv:2:2: invalid UTF-8"));
  }
  // Truncated at the very end of the file.
  m = ParseError("a\nx\xF0\x9F\x98");
  EXPECT_THAT(m, HasSubstr("t.csv:2:2: invalid UTF-8"));
}

TEST(CsvErrors, BinaryContent) {
  std::string m = ParseError(std::string("PK\x03\x04\x14\x00\x00\x00", 8));
  EXPECT_THAT(m, HasSubstr("t.csv:1:6: NUL byte: this looks like a binary file, not CSV"));
  m = ParseError(std::string("\xFF\xFE" "a\0,\0b\0", 8));
  EXPECT_THAT(m, HasSubstr("UTF-16"));
}

TEST(CsvErrors, BareCarriageReturn) {
  std::string m = ParseError("a,b\r1,2\r");
  EXPECT_THAT(m, HasSubstr("t.csv:1:4: carriage return (CR) without a line feed"));
}

class CsvFiles : public testutil::TempDirTest {
 protected:
  fs::path Write(const std::string& name, const std::string& content) {
    fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  const fs::path dir_ = tmp();
};

TEST_F(CsvFiles, ReadsAFileAndNamesItInErrors) {
  auto t = ReadCsvFile(Write("good.csv", "a,b\n1,2\n"));
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->rows(), 1u);
  auto bad = ReadCsvFile(Write("bad.csv", "a,b\n1\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind((dir_ / "bad.csv").string() + ":2:2: ", 0), 0u)
      << bad.status().message();
}

TEST_F(CsvFiles, MissingFileAndFolder) {
  auto missing = ReadCsvFile(dir_ / "nope.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing, StatusIs(Code::kNotFound, _));
  EXPECT_THAT(missing, StatusIs(_, HasSubstr("nope.csv: no such file")));
  auto folder = ReadCsvFile(dir_);
  ASSERT_FALSE(folder.ok());
  EXPECT_THAT(folder, StatusIs(Code::kInvalidArgument, _));
}

// Rows of a file read in blocks (optionally a byte range): (line, cells).
std::vector<std::pair<size_t, std::vector<std::string>>> ReadBlocks(const fs::path& path, size_t block_rows,
                                                                     uint64_t begin = 0, uint64_t end = UINT64_MAX,
                                                                     std::string* error = nullptr) {
  std::vector<std::pair<size_t, std::vector<std::string>>> rows;
  auto reader = CsvFileReader::Open(path, "f.csv");
  if (!reader.ok()) {
    if (error) *error = reader.status().message();
    return rows;
  }
  EXPECT_TRUE((*reader)->SetRange(begin, end).ok());
  for (;;) {
    auto block = (*reader)->NextBlock(block_rows);
    if (!block.ok()) {
      if (error) *error = block.status().message();
      return rows;
    }
    if (block->rows() == 0) return rows;
    EXPECT_LE(block->rows(), block_rows);
    for (size_t r = 0; r < block->rows(); ++r) {
      std::vector<std::string> cells;
      for (size_t c = 0; c < block->cols(); ++c) cells.emplace_back(block->cell(r, c));
      rows.emplace_back(block->line_of(r), std::move(cells));
    }
  }
}

std::string QuotedNewlineFile(int rows) {
  std::string text = "\xEF\xBB\xBFnote,n\r\n";
  for (int i = 0; i < rows; ++i) {
    if (i % 3 == 0) {
      text += "\"multi\nline, \"\"q\"\"\n" + std::to_string(i) + "\"," + std::to_string(i) + "\r\n";
    } else {
      text += "plain" + std::to_string(i) + "," + std::to_string(i) + "\n";
    }
  }
  return text + "\n\n";
}

TEST_F(CsvFiles, BlocksGiveTheRowsAndLinesOfAWholeFileParse) {
  const std::string text = QuotedNewlineFile(200);
  fs::path p = Write("q.csv", text);
  CsvTable whole = MustParse(text);
  for (size_t block : {1, 7, 64, 1000}) {
    auto rows = ReadBlocks(p, block);
    ASSERT_EQ(rows.size(), whole.rows()) << block;
    for (size_t r = 0; r < whole.rows(); ++r) {
      EXPECT_EQ(rows[r].first, whole.line_of(r));
      EXPECT_EQ(rows[r].second[0], whole.cell(r, 0));
      EXPECT_EQ(rows[r].second[1], whole.cell(r, 1));
    }
  }
}

TEST_F(CsvFiles, ByteRangesHoldEveryRowExactlyOnceEvenAcrossQuotedNewlines) {
  const std::string text = QuotedNewlineFile(300);
  fs::path p = Write("r.csv", text);
  auto all = ReadBlocks(p, 50);
  ASSERT_EQ(all.size(), 300u);
  for (uint64_t split : {1, 5, 17, 100, 1000}) {
    std::vector<std::pair<size_t, std::vector<std::string>>> joined;
    for (uint64_t b = 0; b < text.size(); b += split) {
      auto part = ReadBlocks(p, 13, b, std::min<uint64_t>(b + split, text.size()));
      joined.insert(joined.end(), part.begin(), part.end());
    }
    ASSERT_EQ(joined.size(), all.size()) << "split " << split;
    for (size_t i = 0; i < all.size(); ++i) {
      ASSERT_EQ(joined[i], all[i]) << "split " << split << ", row " << i;
    }
  }
}

TEST_F(CsvFiles, BlockErrorsNameTheFilesOwnLineAndColumn) {
  std::string text = "a,b\n";
  for (int i = 0; i < 100; ++i) text += "x,\"y\ny\"\n";
  text += "1,2,3\n";  // line 202
  std::string error;
  ReadBlocks(Write("e.csv", text), 10, 0, UINT64_MAX, &error);
  EXPECT_EQ(error.rfind("f.csv:202:5: this row has 3 fields", 0), 0u) << error;
  error.clear();
  ReadBlocks(Write("u.csv", "a,b\n1,2\n3,\"open\n4,5\n"), 1, 0, UINT64_MAX, &error);
  EXPECT_EQ(error.rfind("f.csv:3:3: unterminated quoted field", 0), 0u) << error;
  error.clear();
  ReadBlocks(Write("n.csv", "a,b\n1,2\n3,4\n\n5,6\n"), 1, 0, UINT64_MAX, &error);
  EXPECT_EQ(error.rfind("f.csv:4:1: empty line", 0), 0u) << error;
  error.clear();
  ReadBlocks(Write("z.csv", ""), 1, 0, UINT64_MAX, &error);
  EXPECT_THAT(error, HasSubstr("the file is empty"));
}

TEST(CsvAppend, SameHeaderConcatenatesAndKeepsSources) {
  CsvTable a = MustParse("x,y\n1,2\n");
  auto b = ParseCsv("x,y\n3,4\n5,\"6\"\"\"\n", "b.csv");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(a.Append(std::move(b).value()).ok());
  ASSERT_EQ(a.rows(), 3u);
  EXPECT_EQ(a.cell(2, 1), "6\"");
  EXPECT_EQ(a.source_of(0), "t.csv");
  EXPECT_EQ(a.source_of(2), "b.csv");
  EXPECT_EQ(a.line_of(2), 3u);
}

TEST(CsvAppend, DifferentHeadersAreRejected) {
  CsvTable a = MustParse("x,y\n1,2\n");
  auto b = ParseCsv("x,z\n3,4\n", "b.csv");
  ASSERT_TRUE(b.ok());
  Status st = a.Append(std::move(b).value());
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("t.csv and b.csv have different columns (x,y vs x,z)"));
}

// The promotion gate keeps the holdout's text after the training table is
// freed (issue 9 §3): the subset must own its bytes, keep the chosen columns
// in order, and still name each row's file and line.
TEST(CsvSubset, OwnsItsBytesAndKeepsLinesAndSources) {
  auto a = std::make_unique<CsvTable>(MustParse("x,y,z\n1,2,3\n4,\"5\"\"\",6\n"));
  auto b = ParseCsv("x,y,z\n7,8,9\n", "b.csv");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(a->Append(std::move(b).value()).ok());
  const std::vector<uint32_t> rows = {1, 2};
  const std::vector<size_t> columns = {2, 1};
  CsvTable sub = a->Subset(rows, columns);
  a.reset();  // the subset outlives the table it came from
  ASSERT_EQ(sub.rows(), 2u);
  EXPECT_EQ(sub.header(), (std::vector<std::string>{"z", "y"}));
  EXPECT_EQ(sub.cell(0, 0), "6");
  EXPECT_EQ(sub.cell(0, 1), "5\"");
  EXPECT_EQ(sub.cell(1, 0), "9");
  EXPECT_EQ(sub.line_of(0), 3u);
  EXPECT_EQ(sub.source_of(0), "t.csv");
  EXPECT_EQ(sub.source_of(1), "b.csv");
  EXPECT_EQ(sub.line_of(1), 2u);
}

// Issue 12 §5: the header checks (empty and duplicate names) were quadratic
// in the number of columns (100k columns took 14 s). With a hash index the
// 200k-column header below is a fraction of a second; the quadratic check
// would take about a minute.
TEST(CsvWide, TwoHundredThousandColumnHeaderParses) {
  constexpr size_t kCols = 200000;
  std::string text;
  for (size_t i = 0; i < kCols; ++i) text += (i ? ",c" : "c") + std::to_string(i);
  text += '\n';
  for (size_t i = 0; i < kCols; ++i) text += i ? ",1" : "1";
  text += '\n';
  CsvTable t = MustParse(text);
  ASSERT_EQ(t.cols(), kCols);
  EXPECT_EQ(t.find_column("c199999"), 199999);
  EXPECT_EQ(t.find_column("c0"), 0);

  // The duplicate check still names both columns on a wide header.
  std::string dup = text.substr(0, text.find('\n')) + ",c5\n" + text.substr(text.find('\n') + 1);
  dup.insert(dup.size() - 1, ",1");
  EXPECT_THAT(ParseError(dup), HasSubstr("column 200001 of the header is named 'c5' like column 6"));
}


// Every row of a table with its line: what two parses must agree on.
std::vector<std::pair<size_t, std::vector<std::string>>> AllRows(const CsvTable& t) {
  std::vector<std::pair<size_t, std::vector<std::string>>> rows;
  for (size_t r = 0; r < t.rows(); ++r) {
    std::vector<std::string> cells;
    for (size_t c = 0; c < t.cols(); ++c) cells.emplace_back(t.cell(r, c));
    rows.emplace_back(t.line_of(r), std::move(cells));
  }
  return rows;
}

// Parsing in byte ranges on threads gives the one-pass table, whatever the
// number of ranges: quoted newlines, "" escapes, CRLF, a BOM, trailing blank
// lines and empty fields across the cut points.
TEST(Csv, ChunkedParseEqualsOnePass) {
  for (const std::string& text : {QuotedNewlineFile(200), std::string("a,b\n1,2\n3,4\n"),
                                  std::string("a,b\n\"x\ny\",1\n,\n\"\"\"\",2\n\n\n"), std::string("only\n")}) {
    auto one = ParseCsvInChunks(text, "t.csv", 1);
    ASSERT_THAT(one, IsOk());
    for (size_t chunks : {2, 3, 5, 16, 200}) {
      auto many = ParseCsvInChunks(text, "t.csv", chunks);
      ASSERT_THAT(many, IsOk());
      EXPECT_EQ(many->header(), one->header());
      EXPECT_EQ(AllRows(*many), AllRows(*one)) << chunks << " chunks";
    }
  }
}

// Bad input fails with the error of a one-pass parse (the first in the
// file), not one a later range found first.
TEST(Csv, ChunkedParseReportsTheFirstError) {
  std::string text = "a,b\n";
  for (int i = 0; i < 300; ++i) text += std::to_string(i) + ",x\n";
  std::string early = text + "1,2,3\n";  // too many fields at line 302
  for (int i = 0; i < 300; ++i) early += "\"open,\n";  // later: quote errors
  std::string late = text;
  late.insert(late.size() / 3, "\"q\"x");  // text after a closing quote, a third in
  late += "1\n";                            // and a short row at the end
  for (const std::string& bad : {early, late}) {
    auto one = ParseCsvInChunks(bad, "t.csv", 1);
    ASSERT_FALSE(one.ok());
    for (size_t chunks : {2, 4, 7, 64}) {
      auto many = ParseCsvInChunks(bad, "t.csv", chunks);
      ASSERT_FALSE(many.ok());
      EXPECT_EQ(many.status().message(), one.status().message()) << chunks << " chunks";
    }
  }
}

// ---- upload --sep (issue 15): another delimiter rewritten as commas.

TEST(ToCommaSeparated, RewritesDelimitersOutsideQuotesOnly) {
  using testutil::IsOkAndHolds;
  using testutil::StatusIs;
  EXPECT_THAT(ToCommaSeparated("a;b;c\n1;2,5;\"x;\"\"y\"\"\"\r\n;;\n", ';', "f.csv"),
              IsOkAndHolds(std::string("a,b,c\n1,\"2,5\",\"x;\"\"y\"\"\"\r\n,,\n")));
  EXPECT_THAT(ToCommaSeparated("a\tb\n1\t2", '\t', "f.csv"), IsOkAndHolds(std::string("a,b\n1,2")));
  EXPECT_THAT(ToCommaSeparated("a,b\n1,2\n", ',', "f.csv"), IsOkAndHolds(std::string("a,b\n1,2\n")));
  EXPECT_THAT(ToCommaSeparated("a,b\n1;2\n", ';', "f.csv"),
              StatusIs(Code::kInvalidArgument, ::testing::HasSubstr("f.csv:1: --sep semicolon (;)")));
  // What the rewrite cannot fix is left for the parser, which names the line.
  auto text = ToCommaSeparated("a;b\n1;x\"y\n", ';', "f.csv");
  ASSERT_TRUE(text.ok());
  EXPECT_THAT(ParseCsv(*text, "f.csv"), StatusIs(Code::kInvalidArgument, ::testing::HasSubstr("f.csv:2:")));
}

}  // namespace
}  // namespace modelbay
