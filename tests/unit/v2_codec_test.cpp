// The Open Inference Protocol codec (serve/v2_codec.h): JSON and binary
// tensors in, the response's JSON header and binary section out, and the
// errors a hostile body gets. No sockets, no models.
#include <cstring>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "churn_schema.h"
#include "serve/v2_codec.h"
#include "test_util.h"

namespace modelbay::serve {
namespace {

using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace modelbay::testutil;  // NOLINT: StatusIs, IsOk, IsOkAndHolds

// BYTES elements as the extension writes them: 4-byte little-endian length + bytes.
std::string Bytes(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view s : items) {
    const auto n = static_cast<uint32_t>(s.size());
    out.append(reinterpret_cast<const char*>(&n), 4);
    out += s;
  }
  return out;
}

template <typename N>
std::string Raw(std::initializer_list<N> items) {
  std::string out;
  for (N v : items) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

struct Parsed {
  simdjson::dom::parser parser;
  std::string body;
  Result<V2InferRequest> req = InvalidArgument("unset");
  // `json` then `binary`, split as Inference-Header-Content-Length says
  // (`header_length` overrides the true length, for hostile cases).
  Parsed(const std::string& json, const std::string& binary = "", std::string header_length = "",
         size_t max_rows = 100)
      : body(json + binary) {
    if (header_length.empty() && !binary.empty()) header_length = std::to_string(json.size());
    auto split = SplitV2Body(body, header_length);
    req = split.ok() ? ParseV2Infer(parser, *split, ChurnSchema({"no", "yes"}, false), max_rows) : Result<V2InferRequest>(split.status());
  }
  std::string error() const { return req.ok() ? "" : req.status().message(); }
};

double Num(const Cell& c) { return std::get<double>(c); }
std::string_view Text(const Cell& c) { return std::get<std::string_view>(c); }

TEST(V2Codec, ColumnTensorsAsJson) {
  Parsed p(R"({"id": "r1", "inputs": [
      {"name": "calls", "shape": [2], "datatype": "FP64", "data": [2, 3.5]},
      {"name": "plan", "shape": [2, 1], "datatype": "BYTES", "data": [["aa"], ["bb"]]}]})");
  ASSERT_TRUE(p.req.ok()) << p.error();
  const CellMatrix& m = p.req->cells;
  ASSERT_EQ(m.rows, 2u);
  EXPECT_EQ(Text(m.at(0, 0)), "aa");
  EXPECT_EQ(Text(m.at(1, 0)), "bb");
  EXPECT_EQ(Num(m.at(1, 1)), 3.5);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(m.at(0, 2)));  // no tensor: missing
  EXPECT_EQ(p.req->id, "r1");
  ASSERT_EQ(p.req->outputs.size(), 2u);  // none listed: all, as JSON
  EXPECT_FALSE(p.req->outputs[0].binary);
}

TEST(V2Codec, MatrixTensorInColumnOrder) {
  Parsed p(R"({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "BYTES",
               "data": ["aa", "2", "7", "bb", "3", "8"]}]})");
  ASSERT_TRUE(p.req.ok()) << p.error();
  EXPECT_EQ(Text(p.req->cells.at(1, 0)), "bb");
  EXPECT_EQ(Text(p.req->cells.at(1, 2)), "8");
}

TEST(V2Codec, BinaryBytesAndNumbers) {
  const std::string binary = Bytes({"aa", "ccc"}) + Raw<float>({1.5f, 2.0f}) + Raw<int64_t>({7, -9});
  const std::string json = R"({"inputs": [
      {"name": "plan", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 13}},
      {"name": "calls", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
      {"name": "months", "shape": [2], "datatype": "INT64", "parameters": {"binary_data_size": 16}}],
    "outputs": [{"name": "probabilities", "parameters": {"binary_data": true}}]})";
  Parsed p(json, binary);
  ASSERT_TRUE(p.req.ok()) << p.error();
  const CellMatrix& m = p.req->cells;
  EXPECT_EQ(Text(m.at(0, 0)), "aa");
  EXPECT_EQ(Text(m.at(1, 0)), "ccc");
  EXPECT_EQ(Num(m.at(0, 1)), 1.5);
  EXPECT_EQ(Num(m.at(1, 2)), -9);
  ASSERT_EQ(p.req->outputs.size(), 1u);
  EXPECT_EQ(p.req->outputs[0].output, V2Output::kProbabilities);
  EXPECT_TRUE(p.req->outputs[0].binary);
}

TEST(V2Codec, HostileHeaderLengths) {
  const std::string json = R"({"inputs": [{"name": "calls", "shape": [1], "datatype": "FP64", "data": [1]}]})";
  EXPECT_THAT(Parsed(json, "", "100000").error(), HasSubstr("body has only"));
  EXPECT_THAT(Parsed(json, "", "-1").error(), HasSubstr("not a byte count"));
  EXPECT_THAT(Parsed(json, "", "12abc").error(), HasSubstr("not a byte count"));
  // A header length that cuts the JSON: not valid JSON, no crash.
  EXPECT_THAT(Parsed(json, "", "10").error(), HasSubstr("not valid JSON"));
  // Bytes after the header that no tensor claims.
  EXPECT_THAT(Parsed(json, "xxxx").error(), HasSubstr("follow the JSON header"));
}

TEST(V2Codec, HostileBinarySizes) {
  auto with = [](std::string_view datatype, size_t size, const std::string& binary) {
    return Parsed(fmt::format(R"({{"inputs": [{{"name": "plan", "shape": [2], "datatype": "{}",
                                  "parameters": {{"binary_data_size": {}}}}}]}})", datatype, size),
                  binary).error();
  };
  // Declared beyond what follows the header.
  EXPECT_THAT(with("BYTES", 999, Bytes({"aa", "bb"})), HasSubstr("only 12 bytes of binary data remain"));
  // FP64 of the wrong size.
  EXPECT_THAT(with("FP64", 12, std::string(12, '\0')), HasSubstr("2 elements of FP64 take 16"));
  // A BYTES length running past the tensor.
  std::string lying = Bytes({"aa"});
  lying += std::string("\xff\xff\xff\x7f", 4);
  EXPECT_THAT(with("BYTES", lying.size(), lying), HasSubstr("element 1: its length"));
  // Too few bytes for the second element's length.
  EXPECT_THAT(with("BYTES", 6, Bytes({"aa"})), HasSubstr("element 1: the binary data ends"));
  // Extra bytes inside the tensor.
  EXPECT_THAT(with("BYTES", 12, Bytes({"a", "b"}) + "zz"), HasSubstr("take 10 bytes"));
  // Not UTF-8, and a NUL.
  EXPECT_THAT(with("BYTES", 12, Bytes({"\xff\xfe", "ok"})), HasSubstr("element 0: the bytes are not UTF-8"));
  EXPECT_THAT(with("BYTES", 12, Bytes({std::string_view("a\0", 2), "ok"})), HasSubstr("NUL"));
}

TEST(V2Codec, HostileShapes) {
  auto err = [](const std::string& inputs) { return Parsed(R"({"inputs": )" + inputs + "}").error(); };
  EXPECT_THAT(err(R"([{"name": "calls", "shape": [3], "datatype": "FP64", "data": [1, 2]}])") , HasSubstr("input tensor \"calls\": \"data\" holds 2 elements but its shape declares 3"));
  EXPECT_THAT(err(R"([{"name": "calls", "shape": [1], "datatype": "FP64", "data": [1, 2]}])"), HasSubstr("more than the 1"));
  EXPECT_THAT(err(R"([{"name": "calls", "shape": [-1], "datatype": "FP64", "data": [1]}])"), HasSubstr("non-negative"));
  EXPECT_THAT(err(R"([{"name": "x", "shape": [1, 2], "datatype": "BYTES", "data": ["a", "b"]}])") , HasSubstr("the model takes 3 in this order: plan, calls, months"));
  EXPECT_THAT(err(R"([{"name": "calls", "shape": [1], "datatype": "FP64", "data": [1]}, {"name": "months", "shape": [2], "datatype": "FP64", "data": [1, 2]}])") , HasSubstr("\"months\": has 2 rows but \"calls\" has 1"));
  EXPECT_THAT(err(R"([{"name": "bogus", "shape": [1], "datatype": "FP64", "data": [1]}])") , HasSubstr("\"bogus\": is not a column"));
  EXPECT_THAT(err(R"([{"name": "calls", "shape": [1], "datatype": "FP16", "data": [1]}])"), HasSubstr("not supported"));
  EXPECT_THAT(err(R"([{"name": "calls", "shape": [1], "datatype": "FP64", "data": [[1, [2]]]}])"), HasSubstr("more than"));
  EXPECT_THAT(err(R"([{"name": "plan", "shape": [1], "datatype": "BYTES", "data": [{"a": 1}]}])") , HasSubstr("input tensor \"plan\": element 0: row 0, column \"plan\": an object"));
  // A huge shape is refused before anything is allocated.
  Parsed huge(R"({"inputs": [{"name": "calls", "shape": [4000000000, 4000000000], "datatype": "FP64",
                              "parameters": {"binary_data_size": 0}}]})");
  EXPECT_EQ(huge.req.status().code(), Code::kResourceExhausted) << huge.error();
  Parsed rows(R"({"inputs": [{"name": "calls", "shape": [5], "datatype": "FP64", "data": [1,2,3,4,5]}]})", "", "", 4);
  EXPECT_EQ(rows.req.status().code(), Code::kResourceExhausted);
}

TEST(V2Codec, UnknownOutputIsNamed) {
  Parsed p(R"({"inputs": [{"name": "calls", "shape": [1], "datatype": "FP64", "data": [1]}],
               "outputs": [{"name": "shap"}]})");
  EXPECT_THAT(p.error(), HasSubstr("output \"shap\" does not exist"));
  EXPECT_THAT(p.error(), HasSubstr("\"contributions\""));
}

TEST(V2Codec, ContributionsOnlyWhenAskedAndThresholdFromParameters) {
  Parsed plain(R"({"inputs": [{"name": "calls", "shape": [1], "datatype": "FP64", "data": [1]}]})");
  ASSERT_TRUE(plain.req.ok()) << plain.error();
  EXPECT_FALSE(plain.req->options.contributions);
  EXPECT_FALSE(plain.req->options.threshold.has_value());
  Parsed asked(R"({"inputs": [{"name": "calls", "shape": [1], "datatype": "FP64", "data": [1]}],
                   "parameters": {"threshold": 0.25},
                   "outputs": [{"name": "contributions"}, {"name": "predict"}]})");
  ASSERT_TRUE(asked.req.ok()) << asked.error();
  EXPECT_TRUE(asked.req->options.contributions);
  EXPECT_EQ(asked.req->options.threshold, 0.25);
  ASSERT_EQ(asked.req->outputs.size(), 2u);
  EXPECT_EQ(asked.req->outputs[0].output, V2Output::kContributions);
  for (const char* bad : {"1.5", "\"0.3\"", "null", "-1"}) {
    Parsed p(fmt::format(R"({{"inputs": [{{"name": "calls", "shape": [1], "datatype": "FP64", "data": [1]}}],
                             "parameters": {{"threshold": {}}}}})", bad));
    EXPECT_EQ(p.error(), "parameters.threshold must be a number from 0 to 1 (class 1 when its probability exceeds "
                         "it; default 0.5)") << bad;
  }
}

TEST(V2Codec, ContributionsResponse) {
  const Schema schema = ChurnSchema({"no", "yes"}, false);
  EXPECT_EQ(V2ContributionsShape(schema), (std::vector<int64_t>{-1, 4}));
  EXPECT_EQ(V2ContributionNames(schema), (std::vector<std::string>{"plan", "calls", "months", "bias"}));
  Predictions preds;
  preds.rows = 2;
  preds.num_classes = 2;
  preds.values = {1, 0};
  preds.probabilities = {0.25f, 0.75f, 0.5f, 0.5f};
  preds.contribution_groups = 1;
  preds.contributions = {0.5f, 0.25f, -0.125f, 0.475f, -1, 0, 0.5f, 0.5f};
  V2InferRequest req;
  req.outputs = {{V2Output::kContributions, false}};
  std::string json, binary;
  AppendV2Response("default", 3, schema, preds, req, json, binary);
  auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["outputs"][0]["name"], "contributions");
  EXPECT_EQ(j["outputs"][0]["shape"], nlohmann::json({2, 4}));
  EXPECT_EQ(j["outputs"][0]["data"], nlohmann::json({0.5, 0.25, -0.125, 0.4749999940395355, -1, 0, 0.5, 0.5}));
  EXPECT_TRUE(binary.empty());
  req.outputs = {{V2Output::kContributions, true}};
  json.clear();
  AppendV2Response("default", 3, schema, preds, req, json, binary);
  j = nlohmann::json::parse(json);
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 32);
  ASSERT_EQ(binary.size(), 32u);
  float back[8];
  std::memcpy(back, binary.data(), 32);
  EXPECT_EQ(back[3], 0.475f);
  // Multi-class: [rows, classes, columns + 1].
  Schema medal = schema;
  medal.task = TaskType::kMulticlass;
  medal.class_labels = {"a", "b", "c"};
  EXPECT_EQ(V2ContributionsShape(medal), (std::vector<int64_t>{-1, 3, 4}));
}

TEST(V2Codec, ResponseJsonAndBinary) {
  const Schema schema = ChurnSchema({"no", "yes"}, false);
  Predictions preds;
  preds.rows = 2;
  preds.num_classes = 2;
  preds.values = {1, 0};
  preds.probabilities = {0.25f, 0.75f, 0.5f, 0.5f};
  V2InferRequest req;
  req.id = "abc";
  req.has_id = true;
  req.outputs = {{V2Output::kPredict, false}, {V2Output::kProbabilities, true}};
  std::string json, binary;
  AppendV2Response("default", 3, schema, preds, req, json, binary);
  const auto j = nlohmann::json::parse(json);
  EXPECT_EQ(j["id"], "abc");
  EXPECT_EQ(j["model_version"], "3");
  EXPECT_EQ(j["outputs"][0]["data"], nlohmann::json({"yes", "no"}));
  EXPECT_EQ(j["outputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(j["outputs"][1]["shape"], nlohmann::json({2, 2}));
  EXPECT_EQ(j["outputs"][1]["parameters"]["binary_data_size"], 16);
  EXPECT_FALSE(j["outputs"][1].contains("data"));
  ASSERT_EQ(binary.size(), 16u);
  float back[4];
  std::memcpy(back, binary.data(), 16);
  EXPECT_EQ(back[1], 0.75f);

  // Binary labels: length-prefixed, in row order.
  req.outputs = {{V2Output::kPredict, true}};
  json.clear();
  binary.clear();
  AppendV2Response("default", 3, schema, preds, req, json, binary);
  EXPECT_EQ(binary, Bytes({"yes", "no"}));
}

}  // namespace
}  // namespace modelbay::serve
