#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/csv.h"
#include "core/hash.h"
#include "core/posix_file.h"
#include "core/strings.h"
#include "core/status.h"
#include "core/suggest.h"
#include "test_util.h"

namespace modelbay {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

using Env = std::map<std::string, std::string, std::less<>>;

TEST(Status, MacrosPropagate) {
  auto inner = [](bool fail) -> Result<int> {
    if (fail) return NotFound("no such thing");
    return 7;
  };
  auto outer = [&](bool fail) -> Result<int> {
    MB_ASSIGN_OR_RETURN(int v, inner(fail));
    return v + 1;
  };
  EXPECT_EQ(*outer(false), 8);
  EXPECT_THAT(outer(true), StatusIs(Code::kNotFound, _));
  EXPECT_EQ(HttpStatusFor(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(Code::kUnsupportedMedia), 415);
}

TEST(Hash, Sha256KnownVector) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Config, DefaultsAreLocalFoldersUnderHome) {
  auto c = BuildConfig({}, {}, {}, "/work/p");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->data.kind, StoreLocation::Kind::kLocal);
  EXPECT_EQ(c->data.path, "/work/p/.modelbay/data");
  EXPECT_EQ(c->models.path, "/work/p/.modelbay/models");
  EXPECT_EQ(c->results.path, "/work/p/.modelbay/results");
}

TEST(Config, SeedNamesAndBareBucket) {
  Env env{{"MODEL_ARTIFACTS_STORE", "model-artifacts"}, {"AWS_ACCESS_KEY", "AKIAX"},
          {"AWS_SECRET_ACCESS_KEY", "s3cr3t"}};
  auto c = BuildConfig({}, env, {}, "/w");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->models.kind, StoreLocation::Kind::kS3);
  EXPECT_EQ(c->models.bucket, "model-artifacts");
  EXPECT_EQ(c->models.ToString(), "s3://model-artifacts");
  EXPECT_EQ(c->aws.access_key_id, "AKIAX");
}

TEST(Config, PrecedenceFlagsOverEnvOverDotenv) {
  Env dotenv{{"DATA_STORE", "s3://from-dotenv/p"}, {"RESULTS_STORE", "s3://res-dotenv"}};
  Env env{{"DATA_STORE", "s3://from-env/a/b/"}};
  ConfigOverrides flags;
  flags.results_store = "./local-results";
  auto c = BuildConfig(flags, env, dotenv, "/w");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data.bucket, "from-env");
  EXPECT_EQ(c->data.prefix, "a/b/");
  EXPECT_EQ(c->results.kind, StoreLocation::Kind::kLocal);
  EXPECT_EQ(c->results.path, "/w/local-results");
}

TEST(Config, HalfCredentialsAreAnErrorWithoutTheSecret) {
  Env env{{"AWS_SECRET_ACCESS_KEY", "topsecretvalue"}};
  auto c = BuildConfig({}, env, {}, "/w");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c, StatusIs(_, Not(HasSubstr("topsecretvalue"))));
}

// Issue 12 §5: `modelbay config` printed a password embedded in a URL.
TEST(Config, RedactUrlCredentialsHidesUserInfo) {
  EXPECT_EQ(RedactUrlCredentials("http://user:pass@host:9000/x"), "http://***@host:9000/x");
  EXPECT_EQ(RedactUrlCredentials("http://host:9000/a@b"), "http://host:9000/a@b");  // '@' in the path
  EXPECT_EQ(RedactUrlCredentials("see https://a:b@c and s3://bucket/k"), "see https://***@c and s3://bucket/k");
  EXPECT_EQ(RedactUrlCredentials("no url"), "no url");
  EXPECT_EQ(RedactUrlCredentials(""), "");
  EXPECT_EQ(RedactUrlCredentials("http://u:p@w@host/"), "http://***@host/");
}

TEST(Status, EveryCodeMapsToTheDocumentedHttpStatus) {
  EXPECT_EQ(HttpStatusFor(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(Code::kPermissionDenied), 401);
  EXPECT_EQ(HttpStatusFor(Code::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(Code::kMethodNotAllowed), 405);
  EXPECT_EQ(HttpStatusFor(Code::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(Code::kResourceExhausted), 413);
  EXPECT_EQ(HttpStatusFor(Code::kUnsupportedMedia), 415);
  EXPECT_EQ(HttpStatusFor(Code::kHeadersTooLarge), 431);
  EXPECT_EQ(HttpStatusFor(Code::kDataLoss), 500);
  EXPECT_EQ(HttpStatusFor(Code::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(Code::kFailedPrecondition), 503);
  EXPECT_EQ(HttpStatusFor(Code::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(Code::kCancelled), 503);
}

TEST(Config, BadStoreUrlNamesTheVariable) {
  Env env{{"DATA_STORE", "gs://bucket"}};
  auto c = BuildConfig({}, env, {}, "/w");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c, StatusIs(_, HasSubstr("DATA_STORE")));
}

// Issue 15: store settings never fall back to a folder by guessing.
TEST(Config, StoreUrlsAreParsedStrictly) {
  struct Case { const char* value; const char* expect_in_error; };
  for (const Case& c : {Case{"s3:/ux-data", "did you mean s3://ux-data"}, Case{"s3:ux-data", "malformed"},
                        Case{"file:/srv/x", "did you mean file:///srv/x"}, Case{"ux-data/", "ambiguous"},
                        Case{"team/data", "ambiguous"}, Case{"gs://b", "unsupported"},
                        Case{"My_Data", "not a valid S3 bucket name"}}) {
    auto r = BuildConfig({}, Env{{"DATA_STORE", c.value}}, {}, "/w");
    ASSERT_FALSE(r.ok()) << c.value;
    EXPECT_THAT(r, StatusIs(_, HasSubstr("DATA_STORE")));
    EXPECT_THAT(r, StatusIs(_, HasSubstr(c.expect_in_error)));
    EXPECT_THAT(r, StatusIs(_, HasSubstr("accepted forms")));
  }
  ConfigOverrides flags;
  flags.model_store = "s3:/m";
  auto r = BuildConfig(flags, {}, {}, "/w");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r, StatusIs(_, HasSubstr("--model-store")));
}

TEST(Config, EveryDocumentedStoreFormStillWorks) {
  Env env{{"DATA_STORE", "mydata"}, {"MODEL_ARTIFACTS_STORE", "~/models"}, {"RESULTS_STORE", "../res/"},
          {"HOME", "/home/u"}};
  auto c = BuildConfig({}, env, {}, "/w/p");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->data.ToString(), "s3://mydata");
  EXPECT_EQ(c->models.path, "/home/u/models");
  EXPECT_EQ(c->results.kind, StoreLocation::Kind::kLocal);
  EXPECT_EQ(c->results.path, "/w/res/");
  env = {{"DATA_STORE", "file:///srv/d"}, {"MODEL_ARTIFACTS_STORE", "s3://bkt/p/q/"}, {"RESULTS_STORE", ".hidden"}};
  c = BuildConfig({}, env, {}, "/w");
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(c->data.path, "/srv/d");
  EXPECT_EQ(c->models.prefix, "p/q/");
  EXPECT_EQ(c->results.path, "/w/.hidden");
}

TEST(Suggest, NearestNameWithinATypo) {
  EXPECT_EQ(EditDistance("trian", "train"), 1u);  // a swap is one edit
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("max_dept", "max_depth"), 1u);
  std::vector<std::string> names = {"train", "predict", "models", "--target", "--tolerance"};
  EXPECT_EQ(NearestName("trian", names), "train");
  EXPECT_EQ(NearestName("--traget", names), "--target");
  EXPECT_EQ(NearestName("zzzzzz", names), std::nullopt);
  EXPECT_EQ(NearestName("xx", {"ab"}), std::nullopt);  // 2 edits on a short word is not a typo
}

TEST(Csv, OtherDelimiterIsNamed) {
  EXPECT_EQ(OtherDelimiterIn("a;b;c"), ';');
  EXPECT_EQ(OtherDelimiterIn("a\tb"), '\t');
  EXPECT_EQ(OtherDelimiterIn("a|b;c|d"), '|');
  EXPECT_EQ(OtherDelimiterIn("a,b;c"), std::nullopt);
  EXPECT_EQ(OtherDelimiterIn("abc"), std::nullopt);
  auto t = ParseCsv("Country;Count;churn\naa;1,5;0\n", "eu.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t, StatusIs(_, HasSubstr("eu.csv:1:")));
  EXPECT_THAT(t, StatusIs(_, HasSubstr("semicolon")));
  EXPECT_TRUE(ParseCsv("\"a;b\"\n1\n", "q.csv").ok());
  EXPECT_TRUE(ParseCsv("name\nx\n", "one.csv").ok());
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Pages of `path` in the page cache (mincore(2) on a fresh mapping).
size_t CachedPages(const std::filesystem::path& path, size_t* total) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st{};
  ::fstat(fd, &st);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  *total = (static_cast<size_t>(st.st_size) + page - 1) / page;
  void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  std::vector<unsigned char> in_core(*total);
  size_t cached = 0;
  if (map != MAP_FAILED && ::mincore(map, static_cast<size_t>(st.st_size), in_core.data()) == 0) {
    for (unsigned char c : in_core) cached += c & 1;
  }
  if (map != MAP_FAILED) ::munmap(map, static_cast<size_t>(st.st_size));
  ::close(fd);
  return cached;
}

// Every byte lands, in order, from appends of any size; with O_DIRECT the
// file's pages stay out of the page cache but for the last partial block,
// and buffered (the fallback) writes the same bytes through the cache.
TEST(UncachedWriter, WritesEveryByteAroundThePageCache) {
  ScopedTempDir dir("mb-uncached");
  std::string data(3 * (1 << 20) + 4096 + 123, '\0');
  std::mt19937 rng(5);
  for (char& c : data) c = static_cast<char>('a' + rng() % 26);
  for (bool try_direct : {true, false}) {
    const auto path = dir.path() / (try_direct ? "direct.csv" : "buffered.csv");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    bool direct = false;
    {
      UncachedWriter out(fd, path, try_direct);
      std::string_view rest = data;
      for (size_t piece : {size_t{1}, size_t{4095}, size_t{700000}, size_t{2 << 20}}) {
        ASSERT_THAT(out.Append(rest.substr(0, piece)), IsOk());
        rest.remove_prefix(piece);
      }
      ASSERT_THAT(out.Append(rest), IsOk());
      direct = out.direct();
      ASSERT_THAT(out.Finish(), IsOk());
    }
    ::close(fd);
    size_t total = 0;
    const size_t cached = CachedPages(path, &total);  // before reading it back
    ASSERT_EQ(ReadAll(path), data) << path;
    std::cout << path.filename() << ": O_DIRECT " << (direct ? "on" : "off") << ", " << cached << " of " << total
              << " pages in the page cache\n";
    if (!try_direct) {
      EXPECT_FALSE(direct);
      EXPECT_GT(cached, total / 2) << "buffered writes go through the cache (else this check proves nothing)";
    } else if (direct) {
      EXPECT_LE(cached, 1u) << "only the last partial block is written through the cache";
    } else {
      std::cout << "this file system refuses O_DIRECT: the buffered fallback was used\n";
    }
  }
  // Two writers at once on one thread: the second gets its own buffer.
  const auto a = dir.path() / "a", b = dir.path() / "b";
  const int fa = ::open(a.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  const int fb = ::open(b.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  // a gets data's 300 kB pieces in order, b the same pieces from the end.
  std::vector<std::string_view> forward, backward;
  for (size_t at = 0; at < data.size(); at += 300000) {
    forward.push_back(std::string_view(data).substr(at, 300000));
    backward.push_back(std::string_view(data).substr(data.size() - std::min(data.size(), at + 300000),
                                                     std::min<size_t>(300000, data.size() - at)));
  }
  {
    UncachedWriter wa(fa, a), wb(fb, b);
    for (size_t i = 0; i < forward.size(); ++i) {
      ASSERT_THAT(wa.Append(forward[i]), IsOk());
      ASSERT_THAT(wb.Append(backward[i]), IsOk());
    }
    ASSERT_THAT(wa.Finish(), IsOk());
    ASSERT_THAT(wb.Finish(), IsOk());
  }
  ::close(fa);
  ::close(fb);
  EXPECT_EQ(ReadAll(a), data);
  std::string reversed_blocks;
  for (std::string_view piece : backward) reversed_blocks += piece;
  EXPECT_EQ(ReadAll(b), reversed_blocks);
}

TEST(OutputFile, RegularFileReplacedByRenameSymlinkKept) {
  ScopedTempDir dir("mb-out");
  auto real = dir.path() / "real.csv";
  auto link = dir.path() / "link.csv";
  std::ofstream(real) << "old";
  std::filesystem::create_symlink(real, link);
  {
    auto out = OutputFile::Open(link);
    ASSERT_THAT(out, IsOk());
    EXPECT_TRUE((*out)->atomic());
    ASSERT_TRUE((*out)->Write("new").ok());
    EXPECT_EQ(ReadAll(real), "old");  // nothing visible before Commit
    ASSERT_TRUE((*out)->Commit().ok());
  }
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(ReadAll(real), "new");
  {
    auto out = OutputFile::Open(dir.path() / "abandoned.csv");
    ASSERT_TRUE(out.ok());
    ASSERT_TRUE((*out)->Write("x").ok());
  }  // no Commit: nothing left
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "abandoned.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "abandoned.csv.partial"));
  EXPECT_FALSE(OutputFile::Open(dir.path()).ok());  // a folder
}

TEST(OutputFile, FifoBehindASymlinkIsWrittenThrough) {
  ScopedTempDir dir("mb-out");
  auto fifo = dir.path() / "pipe";
  auto link = dir.path() / "stdout";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::filesystem::create_symlink(fifo, link);
  std::string got;
  std::thread reader([&] { got = ReadAll(fifo); });
  {
    auto out = OutputFile::Open(link);
    ASSERT_THAT(out, IsOk());
    EXPECT_FALSE((*out)->atomic());
    ASSERT_TRUE((*out)->Write("streamed\n").ok());
    ASSERT_TRUE((*out)->Commit().ok());
  }
  reader.join();
  EXPECT_EQ(got, "streamed\n");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_TRUE(std::filesystem::is_symlink(link));
}

TEST(DotEnv, ParsesQuotesCommentsExport) {
  auto m = ParseDotEnv("# c\nexport A=1\nB = \"two words\"\nC='x#y'\nD=v # trailing\n\n", ".env");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)["A"], "1");
  EXPECT_EQ((*m)["B"], "two words");
  EXPECT_EQ((*m)["C"], "x#y");
  EXPECT_EQ((*m)["D"], "v");
  auto bad = ParseDotEnv("A=1\nnot a pair\n", "/p/.env");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad, StatusIs(_, HasSubstr("/p/.env:2")));
}

}  // namespace
}  // namespace modelbay

// core/strings.h: the one copy of each small string helper.
TEST(Strings, LowerTrimAndCompareAreAsciiOnly) {
  EXPECT_EQ(modelbay::AsciiLower("Content-TYPE: \xC3\x89"), "content-type: \xC3\x89");
  EXPECT_EQ(modelbay::TrimAscii(" \t\r\n value \v\f"), "value");
  EXPECT_EQ(modelbay::TrimAscii("   "), "");
  EXPECT_EQ(modelbay::TrimAscii(""), "");
  EXPECT_TRUE(modelbay::EqualsIgnoreCase("X-Amz-Date", "x-amz-date"));
  EXPECT_FALSE(modelbay::EqualsIgnoreCase("x-amz-date", "x-amz-dates"));
}

TEST(Ids, RandomHexHasTheAskedLengthAndDiffers) {
  std::string a = modelbay::RandomHex(8), b = modelbay::RandomHex(8);
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(modelbay::RandomHex(3).size(), 6u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_NE(modelbay::RandomU64(), 0u);
  EXPECT_FALSE(modelbay::HostName().empty());
}

// The fast path for whole numbers writes what fmt's "{}" writes, on both
// sides of its bounds and for the values it must leave to fmt (-0, NaN,
// fractions, 1e15 and beyond).
TEST(Strings, AppendShortestNumberMatchesFmt) {
  std::vector<double> values = {0.0, -0.0, 1.0, -1.0, 42.0, 0.5, -2.25, 1e-7, 123456789012345.0, -123456789012345.0,
                                999999999999999.0, 1e15, -1e15, 1e16, 4503599627370496.0, 1e300,
                                std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::denorm_min()};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    values.push_back(static_cast<double>(static_cast<int64_t>(rng() % 4'000'000'000'000'000ULL) - 2'000'000'000'000'000LL));
    values.push_back(std::ldexp(static_cast<double>(rng() % 1000000), static_cast<int>(rng() % 80) - 20));
  }
  for (double v : values) {
    std::string got = "x";
    modelbay::AppendShortestNumber(v, got);
    EXPECT_EQ(got, "x" + fmt::format("{}", v)) << "value " << fmt::format("{}", v);
  }
}

namespace modelbay {
namespace {

// The cached-second formatter writes what FormatIso8601 writes, across
// second boundaries, backwards steps and times before 1970.
TEST(Clock, AppendIso8601MatchesFormatIso8601) {
  using std::chrono::milliseconds;
  using std::chrono::system_clock;
  std::mt19937_64 rng(7);
  std::vector<int64_t> millis = {0, 999, 1000, 1001, -1, -999, -1000, 1764600000000, 1764600000999,
                                 1764600001000, 9214646399999 /* 2261-12-31, near system_clock's end */};
  for (int i = 0; i < 20000; ++i) millis.push_back(static_cast<int64_t>(rng() % 4102444800000));
  for (int i = 0; i < 3000; ++i) millis.push_back(1764600000000 + i);  // runs within one second
  for (int64_t ms : millis) {
    const system_clock::time_point t{milliseconds(ms)};
    std::string out = "x";
    AppendIso8601(t, out);
    ASSERT_EQ(out, "x" + FormatIso8601(t)) << ms;
  }
}

}  // namespace
}  // namespace modelbay
