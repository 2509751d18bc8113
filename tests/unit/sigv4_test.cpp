// SigV4 against AWS's published test suite (service "service", AKIDEXAMPLE,
// 2015-08-30T12:36:00Z) and the S3 documentation's GetObject example.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>

#include "core/hash.h"
#include "store/sigv4.h"
#include "test_util.h"

namespace modelbay {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

using std::chrono::system_clock;

system_clock::time_point At(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return system_clock::from_time_t(timegm(&tm));
}

const AwsCredentials kSuiteCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const std::string kEmptySha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string kScope = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";

SigV4Request SuiteRequest(std::string method, std::string path = "/") {
  SigV4Request r;
  r.method = std::move(method);
  r.host = "example.amazonaws.com";
  r.path = std::move(path);
  r.payload_sha256 = kEmptySha;
  r.region = "us-east-1";
  r.service = "service";
  return r;
}

std::string Header(const SignedHeaders& h, const std::string& name) {
  for (const auto& [k, v] : h.headers) {
    if (k == name) return v;
  }
  return "<missing>";
}

std::string SignSuite(const SigV4Request& r, const AwsCredentials& c = kSuiteCreds) {
  return Header(SignV4(r, c, At(2015, 8, 30, 12, 36, 0)), "authorization");
}

TEST(SigV4, GetVanilla) {
  auto r = SuiteRequest("GET");
  auto h = SignV4(r, kSuiteCreds, At(2015, 8, 30, 12, 36, 0));
  EXPECT_EQ(h.canonical_request,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + kEmptySha);
  EXPECT_EQ(Header(h, "x-amz-date"), "20150830T123600Z");
  EXPECT_EQ(Header(h, "x-amz-content-sha256"), "<missing>");  // not S3
  EXPECT_EQ(Header(h, "authorization"),
            kScope + "SignedHeaders=host;x-amz-date, "
                     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, PostVanilla) {
  EXPECT_EQ(SignSuite(SuiteRequest("POST")),
            kScope + "SignedHeaders=host;x-amz-date, "
                     "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
}

TEST(SigV4, QueryOrderKeyCase) {
  auto r = SuiteRequest("GET");
  r.query = {{"Param2", "value2"}, {"Param1", "value1"}};
  EXPECT_EQ(SignSuite(r), kScope + "SignedHeaders=host;x-amz-date, "
                                   "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4, UnreservedPath) {
  auto r = SuiteRequest("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(SignSuite(r), kScope + "SignedHeaders=host;x-amz-date, "
                                   "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f");
}

TEST(SigV4, HeaderValuesTrimmedAndCollapsed) {
  auto r = SuiteRequest("GET");
  r.headers = {{"My-Header1", " value1"}, {"My-Header2", "\"a   b   c\""}};
  EXPECT_EQ(SignSuite(r), kScope + "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                                   "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(SigV4, PostFormUrlEncoded) {
  auto r = SuiteRequest("POST");
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  r.payload_sha256 = Sha256Hex("Param1=value1");
  EXPECT_EQ(SignSuite(r), kScope + "SignedHeaders=content-type;host;x-amz-date, "
                                   "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4, SessionTokenIsSentAndSigned) {
  AwsCredentials c = kSuiteCreds;
  c.session_token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
  auto h = SignV4(SuiteRequest("GET"), c, At(2015, 8, 30, 12, 36, 0));
  EXPECT_EQ(Header(h, "x-amz-security-token"), c.session_token);
  EXPECT_THAT(Header(h, "authorization"), HasSubstr("SignedHeaders=host;x-amz-date;x-amz-security-token,"));
}

// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html
TEST(SigV4, S3GetObjectDocumentationExample) {
  SigV4Request r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  r.payload_sha256 = kEmptySha;
  r.region = "us-east-1";
  r.service = "s3";
  AwsCredentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  auto h = SignV4(r, c, At(2013, 5, 24, 0, 0, 0));
  EXPECT_EQ(Header(h, "x-amz-content-sha256"), kEmptySha);
  EXPECT_EQ(h.string_to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(Header(h, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, UriEncodingFollowsAwsRules) {
  EXPECT_EQ(UriEncode("a b+c/ü~._-", false), "a%20b%2Bc%2F%C3%BC~._-");
  EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(CanonicalUri("/bucket/a b", true), "/bucket/a%20b");
  EXPECT_EQ(CanonicalUri("/a b", false), "/a%2520b");  // non-S3 services encode twice
  QueryParams q{{"prefix", "x/y z"}, {"list-type", "2"}, {"delete", ""}, {"a", "2"}, {"a", "1"}};
  EXPECT_EQ(CanonicalQueryString(q), "a=1&a=2&delete=&list-type=2&prefix=x%2Fy%20z");
}

TEST(SigV4, ContentMd5) {
  // RFC 1321 test vector "abc" = 900150983cd24fb0d6963f7d28e17f72.
  EXPECT_EQ(Md5Base64("abc"), "kAFQmDzST7DWlj99KOF/cg==");
}

}  // namespace
}  // namespace modelbay
