#include <gtest/gtest.h>

#include "core/config.h"
#include "core/hash.h"
#include "core/status.h"

namespace modelbay {
namespace {

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
  EXPECT_EQ(outer(true).status().code(), Code::kNotFound);
  EXPECT_EQ(HttpStatusFor(Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(Code::kUnsupportedMedia), 415);
}

TEST(Hash, Sha256KnownVector) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Config, DefaultsAreLocalFoldersUnderHome) {
  auto c = BuildConfig({}, {}, {}, "/work/p");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->data.kind, StoreLocation::Kind::kLocal);
  EXPECT_EQ(c->data.path, "/work/p/.modelbay/data");
  EXPECT_EQ(c->models.path, "/work/p/.modelbay/models");
  EXPECT_EQ(c->results.path, "/work/p/.modelbay/results");
}

TEST(Config, SeedNamesAndBareBucket) {
  Env env{{"MODEL_ARTIFACTS_STORE", "model-artifacts"}, {"AWS_ACCESS_KEY", "AKIAX"},
          {"AWS_SECRET_ACCESS_KEY", "s3cr3t"}};
  auto c = BuildConfig({}, env, {}, "/w");
  ASSERT_TRUE(c.ok()) << c.status().message();
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
  EXPECT_EQ(c.status().message().find("topsecretvalue"), std::string::npos);
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
  EXPECT_NE(c.status().message().find("DATA_STORE"), std::string::npos);
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
  EXPECT_NE(bad.status().message().find("/p/.env:2"), std::string::npos);
}

}  // namespace
}  // namespace modelbay
