// The serve subsystem's pure parts: the /inference codec, routing, auth and
// limits, and the Prometheus exposition. No sockets, no models.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "churn_schema.h"
#include "serve/codec.h"
#include "serve/metrics.h"
#include "serve/service.h"
#include "test_util.h"

namespace modelbay::serve {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

struct Parsed {
  simdjson::dom::parser parser;
  std::string body;
  Result<InferenceRequest> req = InvalidArgument("unset");
  CellMatrix cells;
  Status build;
  explicit Parsed(std::string b, size_t max_rows = 100) : body(std::move(b)) {
    req = ParseInferenceRequest(parser, body, max_rows);
    if (req.ok()) build = BuildCells(*req, ChurnSchema(), cells);
  }
};

TEST(Codec, SeedRequestAsLists) {
  Parsed p(R"({"data": [["aa", 2, 2]], "model_version": "1"})");
  ASSERT_THAT(p.req, IsOk());
  ASSERT_THAT(p.build, IsOk());
  EXPECT_EQ(*p.req->model_spec, "1");
  ASSERT_EQ(p.cells.rows, 1u);
  EXPECT_EQ(std::get<std::string_view>(p.cells.at(0, 0)), "aa");
  EXPECT_EQ(std::get<double>(p.cells.at(0, 1)), 2.0);
}

TEST(Codec, RowsAsObjectsAnyOrderMissingIsMissing) {
  Parsed p(R"({"data": [{"months": 3, "plan": "bb"}, {"calls": "7", "churn": 1}], "model_version": 2})");
  ASSERT_THAT(p.build, IsOk());
  EXPECT_EQ(*p.req->model_spec, "2");
  EXPECT_EQ(std::get<std::string_view>(p.cells.at(0, 0)), "bb");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(p.cells.at(0, 1)));
  EXPECT_EQ(std::get<double>(p.cells.at(0, 2)), 3.0);
  EXPECT_EQ(std::get<std::string_view>(p.cells.at(1, 1)), "7");  // the model parses numeric text
}

TEST(Codec, OmittedOrNullVersionMeansDefault) {
  EXPECT_FALSE(Parsed(R"({"data": [["a",1,1]]})").req->model_spec.has_value());
  EXPECT_FALSE(Parsed(R"({"data": [["a",1,1]], "model_version": null})").req->model_spec.has_value());
  EXPECT_EQ(*Parsed(R"({"data": [["a",1,1]], "model_version": "production"})").req->model_spec,
            "production");
}

TEST(Codec, ErrorsNameWhatIsWrong) {
  auto message = [](std::string body) {
    Parsed p(std::move(body), 2);
    if (!p.req.ok()) return p.req.status().ToString();
    return p.build.ToString();
  };
  EXPECT_THAT(message("{\"data\": [["), HasSubstr("INVALID_ARGUMENT: the body is not valid JSON"));
  EXPECT_THAT(message("[1,2]"), HasSubstr("not a JSON object"));
  EXPECT_THAT(message("{}"), HasSubstr("no \"data\" field"));
  EXPECT_THAT(message(R"({"data": []})"), HasSubstr("\"data\" is empty"));
  EXPECT_THAT(message(R"({"data": {"a": 1}})"), HasSubstr("must be a list of rows"));
  EXPECT_THAT(message(R"({"data": [["a",1,1]], "model_version": 1.5})"), HasSubstr("non-integer"));
  EXPECT_THAT(message(R"({"data": [["a",1,1]], "model_version": true})"), HasSubstr("a boolean"));
  EXPECT_THAT(message(R"({"data": [["a",1,1]], "model_version": ""})"), HasSubstr("empty"));
  EXPECT_THAT(message(R"({"data": [["a",1,1],["a",1]]})") , HasSubstr("row 1 has 2 values; the model expects 3 in this order: plan, calls, months"));
  EXPECT_THAT(message(R"({"data": [{"plan": "a", "colour": 3}]})"), HasSubstr("row 0: unknown column \"colour\""));
  EXPECT_THAT(message(R"({"data": [["a", [1], 1]]})"), HasSubstr("row 0, column \"calls\": a list"));
  EXPECT_THAT(message(R"({"data": [["a", true, 1]]})"), HasSubstr("row 0, column \"calls\": a boolean"));
  EXPECT_THAT(message(R"({"data": [7]})"), HasSubstr("row 0 is a number"));
  // Issue 12 §5: a NUL would reach the prediction log and the exported CSV.
  EXPECT_THAT(message(R"({"data": [["a\u0000b", 1, 1]]})"), HasSubstr("row 0, column \"plan\": the string contains \\u0000"));
  const std::string too_many = message(R"({"data": [["a",1,1],["a",1,1],["a",1,1]]})");
  EXPECT_THAT(too_many, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(too_many, HasSubstr("limit is 2"));
}

TEST(Codec, ResponseNumbersForNumericLabelsStringsOtherwise) {
  Schema s = ChurnSchema();
  Predictions p;
  p.rows = 2;
  p.num_classes = 2;
  p.values = {1, 0};
  p.probabilities = {0.25f, 0.75f, 0.5f, 0.5f};
  std::string out;
  AppendResponseParts(3, s, p, "rid-1", out);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["model_version"], "3");
  EXPECT_EQ(j["predictions"], nlohmann::json::parse("[1, 0]"));
  EXPECT_EQ(j["probabilities"][0][1], 0.75);
  EXPECT_EQ(j["request_id"], "rid-1");
  EXPECT_EQ(j["message"], "inference completed");

  s.class_labels = {"gold", "silver"};
  s.labels_numeric = false;
  out.clear();
  AppendResponseParts(3, s, p, "r\"2", out);
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["predictions"], nlohmann::json::parse(R"(["silver", "gold"])"));
  EXPECT_EQ(j["request_id"], "r\"2");

  s.task = TaskType::kRegression;
  p.num_classes = 0;
  p.values = {1.5, -2e10};
  p.probabilities.clear();
  out.clear();
  AppendResponseParts(4, s, p, "r", out);
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["predictions"], nlohmann::json::parse("[1.5, -2e10]"));
  EXPECT_FALSE(j.contains("probabilities"));
}

TEST(Codec, ThresholdAndExplainFields) {
  simdjson::dom::parser parser;
  std::string body = R"({"data": [["aa", 1, 2]], "threshold": 0.2, "explain": true})";
  auto r = ParseInferenceRequest(parser, body, 10);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->options.threshold, 0.2);
  EXPECT_TRUE(r->options.contributions);
  body = R"({"data": [["aa", 1, 2]]})";
  r = ParseInferenceRequest(parser, body, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->options.threshold.has_value());
  EXPECT_FALSE(r->options.contributions);
  body = R"({"data": [["aa", 1, 2]], "threshold": 2})";
  r = ParseInferenceRequest(parser, body, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r, StatusIs(_, HasSubstr("threshold must be a number from 0 to 1")));
  body = R"({"data": [["aa", 1, 2]], "explain": 1})";
  r = ParseInferenceRequest(parser, body, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "\"explain\" is a number; send true (contributions per column) or false");
}

TEST(Codec, ContributionsByColumnName) {
  Schema s = ChurnSchema();
  Predictions p;
  p.rows = 1;
  p.num_classes = 2;
  p.values = {1};
  p.probabilities = {0.25f, 0.75f};
  p.contribution_groups = 1;
  p.contributions = {0.5f, 0.25f, -0.125f, 0.5f};
  std::string out;
  AppendResponseParts(3, s, p, "r", out);
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["contributions"], nlohmann::json::parse(
                                    R"([{"bias": 0.5, "columns": {"plan": 0.5, "calls": 0.25, "months": -0.125}}])"));
  s.task = TaskType::kMulticlass;
  s.class_labels = {"a", "b"};
  p.contribution_groups = 2;
  p.contributions = {1, 2, 3, 4, 5, 6, 7, 8};
  out.clear();
  AppendContributions(s, p, out);
  j = nlohmann::json::parse(out);
  ASSERT_EQ(j.size(), 1u);
  ASSERT_EQ(j[0].size(), 2u);
  EXPECT_EQ(j[0][1]["bias"], 8);
  EXPECT_EQ(j[0][1]["columns"]["plan"], 5);
}

TEST(Codec, JsonHelpers) {
  EXPECT_TRUE(IsJsonNumber("0"));
  EXPECT_TRUE(IsJsonNumber("-1.5e3"));
  EXPECT_FALSE(IsJsonNumber("01"));
  EXPECT_FALSE(IsJsonNumber("1."));
  EXPECT_FALSE(IsJsonNumber("nan"));
  std::string s;
  AppendJsonString(std::string_view("a\x01\n\xff", 4), s);
  EXPECT_EQ(s, "\"a\\u0001\\n?\"");
  EXPECT_TRUE(nlohmann::json::accept(ErrorBody("x", "bad \"quote\" \t")));
}

TEST(Service, RoutesAndContentType) {
  EXPECT_EQ(Service::RouteOf("/inference"), Route::kInference);
  EXPECT_EQ(Service::RouteOf("/models/3"), Route::kModel);
  EXPECT_EQ(Service::RouteOf("/models/3/x"), Route::kOther);
  EXPECT_EQ(Service::RouteOf("/models/"), Route::kOther);
  EXPECT_EQ(Service::RouteOf("/health?x=1"), Route::kHealth);
  EXPECT_EQ(Service::RouteOf("/version"), Route::kVersion);
  EXPECT_EQ(Service::RouteOf("/invocations?threshold=0.3"), Route::kInvocations);
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_TRUE(IsJsonContentType("application/vnd.api+json"));
  EXPECT_FALSE(IsJsonContentType("application/x-www-form-urlencoded"));
  EXPECT_FALSE(IsJsonContentType(""));
  EXPECT_TRUE(Service::SaneRequestId("abc-123_x.y:z"));
  EXPECT_FALSE(Service::SaneRequestId("a b"));
  EXPECT_FALSE(Service::SaneRequestId(std::string(129, 'a')));
}

TEST(Service, OpenApiDocumentIsValidJsonWithEveryRoute) {
  for (bool auth : {false, true}) {
    auto doc = nlohmann::json::parse(OpenApiDocument(auth));
    EXPECT_EQ(doc["openapi"], "3.0.3");
    for (const char* path : {"/inference", "/health", "/ready", "/models", "/models/{version}",
                             "/metrics", "/openapi.json"}) {
      EXPECT_TRUE(doc["paths"].contains(path)) << path;
    }
    EXPECT_EQ(doc.contains("security"), auth);
  }
}

TEST(Metrics, ExpositionFormat) {
  Metrics m;
  m.ObserveRequest(Route::kInference, 200, 0.0003);
  m.ObserveRequest(Route::kInference, 200, 2.0);
  m.ObserveRequest(Route::kInference, 400, 0.0001);
  m.ObserveRequest(Route::kHealth, 200, 0);
  m.AddRows("default", 3, 100);
  m.AddRows("default", 3, 1);
  m.CacheHit();
  m.StoreReadDone(StoreRead::kFetch);
  const std::string text = m.Render({5, 2, 1}, 3, true);
  EXPECT_THAT(text, HasSubstr("modelbay_http_requests_total{route=\"/inference\",status=\"200\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("modelbay_http_requests_total{route=\"/inference\",status=\"400\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("modelbay_inference_duration_seconds_bucket{le=\"0.0005\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("modelbay_inference_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("modelbay_inference_duration_seconds_count 3\n"));
  EXPECT_THAT(text, HasSubstr("modelbay_rows_predicted_total{model=\"default\",version=\"3\"} 101\n"));
  EXPECT_THAT(text, HasSubstr("modelbay_store_reads_total{kind=\"fetch\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("modelbay_spool_backlog_rows 5\n"));
  // Every sample line belongs to a family declared by # TYPE before it.
  std::string declared;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      declared = line.substr(7, line.find(' ', 7) - 7);
    } else if (line[0] != '#') {
      EXPECT_EQ(line.rfind(declared, 0), 0u) << line;
    }
  }
}

}  // namespace
}  // namespace modelbay::serve
