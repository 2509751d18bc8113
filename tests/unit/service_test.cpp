// Service::Handle in process (as TF Serving's handler tests do): a real
// trained model in a local-folder registry, a real ModelCache and prediction
// log, no sockets. Routes, errors through the one error writer, auth, HEAD,
// and what /ready says when the prediction log cannot ship.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/data_store.h"
#include "data/sample_data.h"
#include "registry/registry.h"
#include "results/prediction_log.h"
#include "serve/codec.h"
#include "serve/metrics.h"
#include "serve/model_cache.h"
#include "serve/service.h"
#include "store/local_store.h"
#include "train/trainer.h"
#include "test_util.h"

namespace modelbay::serve {
namespace {
using results::FsyncPolicy;
using results::PredictionLog;
using results::PredictionLogOptions;

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

// One trained version in a local model store, shared by the tests below
// (training is the slow part).
class TrainedStore {
 public:
  static const fs::path& Root() {
    static const TrainedStore instance;  // its folder is removed at exit
    return instance.tmp_.path();
  }

 private:
  TrainedStore() {
    const fs::path& root = tmp_.path();
    auto data = std::make_shared<LocalStore>(root / "data");
    auto models = std::make_shared<LocalStore>(root / "models");
    Registry registry(models);
    const fs::path csv = root / "churn.csv";
    EXPECT_TRUE(WriteSampleData(csv, {.rows = 400}).ok());
    EXPECT_TRUE(UploadData(*data, csv, {.name = "churn.csv"}).ok());
    TrainOptions o;
    o.show_progress = false;
    o.params = {{"num_boost_round", 5}};
    auto out = Train(o, *data, registry);
    EXPECT_THAT(out, IsOk());
  }
  ScopedTempDir tmp_{"mb-service-test"};
};

class ServiceTest : public TempDirTest {
 protected:
  void SetUp() override {
    dir_ = tmp();
    fs::copy(TrainedStore::Root() / "models", dir_ / "models", fs::copy_options::recursive);
  }
  void TearDown() override {
    service_.reset();
    if (log_) (void)log_->Close();
    log_.reset();
    cache_.reset();
  }

  // Opens cache, log and service; `results` is the results store's folder.
  void Start(std::string token = "", fs::path results = {}) {
    registry_ = std::make_shared<Registry>(std::make_shared<LocalStore>(dir_ / "models"));
    cache_ = std::make_unique<ModelCache>(registry_, metrics_, std::chrono::hours(1));
    (void)cache_->Refresh();  // may fail: a test may have damaged the store
    PredictionLogOptions o;
    o.spool_dir = dir_ / "spool";
    o.fsync = FsyncPolicy::kNever;
    o.ship_interval = std::chrono::hours(1);  // shipped only by Flush() here
    o.writer_id = "test";
    auto log = PredictionLog::Open(o, std::make_shared<LocalStore>(results.empty() ? dir_ / "results" : results));
    ASSERT_THAT(log, IsOk());
    log_ = std::move(*log);
    service_ = std::make_unique<Service>(ServiceOptions{.max_rows = 10, .max_body_bytes = 1 << 20,
                                                        .api_token = std::move(token)},
                                         *cache_, log_.get(), metrics_);
  }

  Reply Call(std::string_view method, std::string_view target, std::string body = "",
             std::string_view authorization = "") {
    body_ = std::move(body);
    Request request{method, target, "application/json", authorization, "", body_};
    Reply reply;
    service_->Handle(request, reply);
    return reply;
  }
  static nlohmann::json Json(const Reply& r) { return nlohmann::json::parse(r.body); }

  fs::path dir_;
  Metrics metrics_;
  std::shared_ptr<Registry> registry_;
  std::unique_ptr<ModelCache> cache_;
  std::unique_ptr<PredictionLog> log_;
  std::unique_ptr<Service> service_;
  std::string body_;
};

constexpr std::string_view kSeedBody = R"({"data": [["aa", 2, 2]], "model_version": "1"})";

TEST_F(ServiceTest, InferenceAndGetRoutes) {
  Start();
  Reply r = Call("POST", "/inference", std::string(kSeedBody));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r)["model_version"], "1");
  EXPECT_EQ(Json(r)["predictions"].size(), 1u);
  EXPECT_FALSE(r.request_id.empty());
  for (std::string_view path : {"/health", "/ready", "/models", "/models/1", "/metrics", "/openapi.json"}) {
    Reply g = Call("GET", path);
    EXPECT_EQ(g.status, 200) << path << ": " << g.body;
    EXPECT_FALSE(g.body.empty()) << path;
    EXPECT_FALSE(g.head_only);
  }
  EXPECT_EQ(Json(Call("GET", "/ready"))["status"], "ready");
}

TEST_F(ServiceTest, HeadAnswersLikeGetWithoutTheBody) {
  Start();
  for (std::string_view path : {"/health", "/ready", "/models", "/models/1", "/metrics", "/openapi.json"}) {
    Reply get = Call("GET", path);
    Reply head = Call("HEAD", path);
    EXPECT_EQ(head.status, get.status) << path;
    EXPECT_TRUE(head.head_only) << path;  // the transport sends the headers only
    EXPECT_EQ(head.content_type, get.content_type) << path;
    if (path != "/metrics") {
      EXPECT_EQ(head.body.size(), get.body.size()) << path;  // its Content-Length
    }
  }
  Reply head_inference = Call("HEAD", "/inference");
  EXPECT_EQ(head_inference.status, 405);
  EXPECT_EQ(head_inference.allow, "POST");
}

TEST_F(ServiceTest, EveryErrorIsOneJsonShape) {
  Start();
  struct Case {
    std::string_view method, target;
    std::string body;
    int status;
    std::string_view error, words;
  };
  const Case cases[] = {
      {"GET", "/inference", "", 405, "method_not_allowed", "/inference accepts only POST"},
      {"POST", "/models", "", 405, "method_not_allowed", "/models accepts only GET, HEAD"},
      {"DELETE", "/ready", "", 405, "method_not_allowed", "GET, HEAD"},
      {"GET", "/nope", "", 404, "not_found", "no route /nope"},
      {"GET", "/models/42", "", 404, "not_found", "42"},
      {"POST", "/inference", "{", 400, "invalid_argument", "not valid JSON"},
      {"POST", "/inference", R"({"data": [["aa", 2]]})", 400, "invalid_argument", "row 0 has 2 values"},
      {"POST", "/inference", R"({"data": [["a\u0000b", 2, 2]]})", 400, "invalid_argument", "\\u0000"},
      {"POST", "/inference", R"({"data": [["aa", 2, 2]], "model_version": "staging"})", 404, "not_found",
       "staging"},
      {"POST", "/inference", R"({"data": [[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3]]})",
       413, "too_large", "limit is 10"},
  };
  for (const Case& c : cases) {
    Reply r = Call(c.method, c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.target << " " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    auto j = Json(r);
    EXPECT_EQ(j.size(), 2u) << r.body;
    EXPECT_EQ(j["error"], c.error) << r.body;
    EXPECT_THAT(j["message"].get<std::string>(), HasSubstr(c.words));
    if (c.status == 405) {
      EXPECT_FALSE(r.allow.empty());
    }
  }
}

TEST_F(ServiceTest, BearerTokenGuardsEveryRouteButHealth) {
  Start("t0ken");
  for (std::string_view path : {"/ready", "/models", "/metrics", "/openapi.json", "/nope"}) {
    Reply r = Call("GET", path);
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_TRUE(r.www_authenticate);
    EXPECT_EQ(Json(r)["error"], "unauthorized");
  }
  EXPECT_EQ(Call("POST", "/inference", std::string(kSeedBody), "Bearer wrong").status, 401);
  EXPECT_EQ(Call("GET", "/health").status, 200);
  EXPECT_EQ(Call("POST", "/inference", std::string(kSeedBody), "Bearer t0ken").status, 200);
  EXPECT_EQ(Call("GET", "/ready", "", "bearer t0ken").status, 200);
}

// Issue 12 §5: /ready said "ready" while the log could not ship.
TEST_F(ServiceTest, ReadyIsDegradedWhileShippingFails) {
  // A results "folder" that is a file: every shipment fails (ENOTDIR).
  const fs::path blocked = dir_ / "results-is-a-file";
  std::ofstream(blocked) << "x";
  Start("", blocked / "results");
  ASSERT_EQ(Call("POST", "/inference", std::string(kSeedBody)).status, 200);
  EXPECT_FALSE(log_->Flush().ok());
  Reply r = Call("GET", "/ready");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_GT(r.retry_after, 0);
  auto j = Json(r);
  EXPECT_EQ(j["status"], "degraded");
  EXPECT_THAT(j["reason"].get<std::string>(), HasSubstr("results store"));
  EXPECT_THAT(j["reason"].get<std::string>(), HasSubstr("1 rows wait"));
  EXPECT_THAT(r.body, Not(HasSubstr(dir_.string())));
  // Requests still succeed meanwhile: the rows wait in the spool.
  EXPECT_EQ(Call("POST", "/inference", std::string(kSeedBody)).status, 200);

  // The store comes back: ready again after the next shipment.
  fs::remove(blocked);
  ASSERT_TRUE(log_->Flush().ok());
  EXPECT_EQ(Call("GET", "/ready").status, 200);
}

// Issue 12 §5: a 503 must not show the server's local paths.
TEST_F(ServiceTest, ModelLoadFailureIs503WithoutLocalPaths) {
  // Version 1's model file replaced by a folder: reading it fails (EISDIR).
  const fs::path model = dir_ / "models" / "1" / "model.json";
  ASSERT_TRUE(fs::exists(model));
  fs::remove(model);
  fs::create_directories(model / "x");
  Start();
  Reply r = Call("POST", "/inference", std::string(kSeedBody));
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr(dir_.string())));
  EXPECT_THAT(r.body, Not(HasSubstr("/tmp")));
}

TEST(ErrorWriter, MapsCodesAndHidesPathsAndPasswords) {
  Reply r;
  WriteErrorReply(Unavailable("cannot create spool file /var/lib/modelbay/spool/v1/seg-7: No space left on "
                              "device; see file:///srv/x and (/opt/a/b)"),
                  r);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.retry_after, 1);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"], "unavailable");
  EXPECT_EQ(j["message"],
            "cannot create spool file <local path>: No space left on device; see <local path> and (<local path>)");

  Reply denied;
  WriteErrorReply(PermissionDenied("no token"), denied);
  EXPECT_EQ(denied.status, 401);
  EXPECT_TRUE(denied.www_authenticate);

  Reply too_big;
  WriteErrorReply(HeadersTooLarge("headers over 16384 bytes"), too_big);
  EXPECT_EQ(too_big.status, 431);
  EXPECT_EQ(nlohmann::json::parse(too_big.body)["error"], "headers_too_large");

  Reply method;
  WriteErrorReply(MethodNotAllowed("only GET"), method);
  EXPECT_EQ(method.status, 405);

  // 4xx messages keep their text (a route such as /a/b is the client's own);
  // passwords in URLs go everywhere.
  Reply bad;
  WriteErrorReply(NotFound("no route /a/b; endpoint http://user:pa55@host:9000/x"), bad);
  EXPECT_THAT(bad.body, HasSubstr("/a/b"));
  EXPECT_THAT(bad.body, Not(HasSubstr("pa55")));
  EXPECT_THAT(bad.body, HasSubstr("http://***@host:9000/x"));
}

// Issue 14: the server once had its own version parser and served "01" as
// version 1 while the CLI refused it. Every route now answers what the
// registry's one parser says.
TEST_F(ServiceTest, VersionsAreParsedByTheRegistrysOneParser) {
  Start();
  for (std::string_view bad : {"01", "1.0", "-1", " 1", "latest ", "../1"}) {
    const std::string body = nlohmann::json{{"data", {{"aa", 2, 2}}}, {"model_version", bad}}.dump();
    Reply r = Call("POST", "/inference", body);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
    EXPECT_THAT(Json(r)["message"].get<std::string>(), HasSubstr("not a valid version")) << bad;
    EXPECT_THAT(registry_->Resolve(bad), StatusIs(Code::kInvalidArgument, HasSubstr("not a valid version")))
        << "the CLI's resolver says the same about " << bad;
  }
  EXPECT_EQ(Call("GET", "/models/01").status, 400);
  EXPECT_EQ(Call("POST", "/inference", std::string(kSeedBody)).status, 200);
}

}  // namespace
}  // namespace modelbay::serve
