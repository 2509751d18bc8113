// The Open Inference Protocol (KServe v2) REST routes of Service: health,
// server and model metadata, readiness, infer and stats. Inference goes
// through Service::ScoreAndLog, the path /inference takes, so every
// acknowledged row is in the prediction log. Errors are {"error": "..."}
// (reply.bare_error, set by Handle for every /v2 path).
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "modelbay_version.h"
#include "registry/model_name.h"
#include "serve/codec.h"
#include "serve/service.h"
#include "serve/v2_codec.h"

namespace modelbay::serve {
namespace {

std::string_view PathOnly(std::string_view target) { return target.substr(0, target.find('?')); }

bool IsGet(std::string_view method) { return method == "GET" || method == "HEAD"; }

}  // namespace

void Service::V2(const Request& request, Reply& reply, bool defer_log) {
  const std::string_view path = PathOnly(request.target);
  constexpr std::string_view kModels = "/v2/models/";
  if (path.starts_with(kModels)) return V2Model(request, path.substr(kModels.size()), reply, defer_log);
  const bool known = path == "/v2" || path == "/v2/health/live" || path == "/v2/health/ready";
  if (!known) {
    return Error(NotFound(fmt::format("no route {}; see GET /openapi.json for the routes", path)), reply);
  }
  if (!IsGet(request.method)) {
    reply.allow = "GET, HEAD";
    return Error(MethodNotAllowed(fmt::format("{} accepts only GET, HEAD", path)), reply);
  }
  if (path == "/v2") {
    reply.body = fmt::format(R"({{"name":"modelbay","version":"{}","extensions":["binary_tensor_data"]}})",
                             MODELBAY_VERSION);
  } else if (path == "/v2/health/live") {
    reply.body = R"({"live":true})";
  } else {
    Ready(reply);  // the same judgement as /ready: a model and a working prediction log
    reply.body = reply.status == 200 ? R"({"ready":true})" : R"({"ready":false})";
  }
}

// `rest` is what follows /v2/models/: {m}[/versions/{v}][/ready|/infer|/stats].
void Service::V2Model(const Request& request, std::string_view rest, Reply& reply, bool defer_log) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (parts[0].empty()) {  // "" would be the unnamed model; the protocol names it `default`
    return Error(NotFound(fmt::format("no route {}; the unnamed model is /v2/models/default",
                                      PathOnly(request.target))), reply);
  }
  auto target = Target(parts[0]);
  if (!target.ok()) return Error(target.status(), reply);
  const std::string_view name = DisplayModelName(target->name);
  std::optional<std::string> spec;  // nullopt: the default version
  size_t i = 1;
  if (parts.size() >= 3 && parts[1] == "versions" && !parts[2].empty()) {
    spec = std::string(parts[2]);
    i = 3;
  }
  const std::string_view action = i < parts.size() ? parts[i] : "";
  const bool valid = parts.size() == i || (parts.size() == i + 1 && (action == "ready" || action == "infer" ||
                                                                     (action == "stats" && !spec)));
  if (!valid) {
    return Error(NotFound(fmt::format("no route {}; see GET /openapi.json for the routes",
                                      PathOnly(request.target))), reply);
  }
  const bool post = action == "infer";
  if (post ? request.method != "POST" : !IsGet(request.method)) {
    reply.allow = post ? "POST" : "GET, HEAD";
    return Error(MethodNotAllowed(fmt::format("{} accepts only {}", PathOnly(request.target), reply.allow)), reply);
  }
  if (post) return V2Infer(request, *target, std::move(spec), reply, defer_log);
  if (action == "stats") return V2Stats(*target, reply);
  auto model = target->cache->Get(spec);
  if (!model.ok()) return Error(model.status(), reply);
  const LoadedModel& m = **model;
  if (action == "ready") {
    reply.body = fmt::format(R"({{"name":"{}","version":"{}","ready":true}})", name, m.version());
    return;
  }
  // Metadata: one input per column, the outputs, and the class order.
  const Schema& schema = m.schema();
  nlohmann::json j;
  j["name"] = name;
  j["versions"] = nlohmann::json::array();
  for (int v : target->cache->view()->versions) j["versions"].push_back(std::to_string(v));
  j["platform"] = "xgboost";
  j["inputs"] = nlohmann::json::array();
  for (const Feature& f : schema.features) {
    j["inputs"].push_back({{"name", f.name}, {"datatype", V2InputDatatype(f)}, {"shape", {-1}}});
  }
  j["outputs"] = nlohmann::json::array({{{"name", "predict"}, {"datatype", V2PredictDatatype(schema)},
                                         {"shape", {-1}}}});
  if (schema.is_classifier()) {
    const auto classes = static_cast<int64_t>(schema.class_labels.size());
    j["outputs"].push_back({{"name", "probabilities"}, {"datatype", "FP32"}, {"shape", {-1, classes}}});
  }
  // Sent only when listed in a request's "outputs".
  j["outputs"].push_back({{"name", "contributions"}, {"datatype", "FP32"}, {"shape", V2ContributionsShape(schema)}});
  j["parameters"] = {{"version", std::to_string(m.version())},
                     {"class_labels", schema.class_labels},
                     {"contribution_names", V2ContributionNames(schema)}};
  reply.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Service::V2Infer(const Request& request, const ModelTarget& target, std::optional<std::string> spec,
                      Reply& reply, bool defer_log) {
  reply.request_id = SaneRequestId(request.request_id) ? std::string(request.request_id) : NextRequestId();
  auto body = SplitV2Body(request.body, request.inference_header_length);
  if (!body.ok()) return Error(body.status(), reply);
  auto model = target.cache->Get(spec);
  if (!model.ok()) return Error(model.status(), reply);
  thread_local simdjson::dom::parser parser;
  auto parsed = ParseV2Infer(parser, *body, (*model)->schema(), options_.max_rows);
  if (!parsed.ok()) return Error(parsed.status(), reply);
  CellMatrix cells = std::move(parsed->cells);
  // What the response needs after logging, owned (the parser moves on).
  auto wanted = std::make_shared<V2InferRequest>();
  wanted->id = std::move(parsed->id);
  wanted->has_id = parsed->has_id;
  wanted->outputs = std::move(parsed->outputs);
  const PredictOptions options = parsed->options;
  ScoreAndLog(target, std::move(*model), std::move(cells), options, reply, defer_log,
              [this, wanted, name = std::string(DisplayModelName(target.name))](const LoadedModel& m,
                                                                                const Predictions& p, Reply& out) {
                std::string binary;
                AppendV2Response(name, m.version(), m.schema(), p, *wanted, out.body, binary);
                if (!binary.empty()) {
                  out.inference_header_length = static_cast<long>(out.body.size());
                  out.body += binary;
                  out.content_type = "application/octet-stream";
                }
                v2_inferences_.fetch_add(1, std::memory_order_relaxed);
                v2_rows_.fetch_add(p.rows, std::memory_order_relaxed);
              });
}

// Counts only: modelbay does not time the protocol's phases, so every "ns"
// is 0 (perf_analyzer reads the counts). The counts are the server's, over
// every model.
void Service::V2Stats(const ModelTarget& target, Reply& reply) {
  const uint64_t n = v2_inferences_.load(), rows = v2_rows_.load();
  const int v = target.cache->view()->default_version;
  auto zero = [](uint64_t count) { return nlohmann::json{{"count", count}, {"ns", 0}}; };
  nlohmann::json stats = {
      {"name", DisplayModelName(target.name)},
      {"version", std::to_string(v)},
      {"last_inference", 0},
      {"inference_count", rows},
      {"execution_count", n},
      {"inference_stats",
       {{"success", zero(n)}, {"fail", zero(0)}, {"queue", zero(n)}, {"compute_input", zero(n)},
        {"compute_infer", zero(n)}, {"compute_output", zero(n)}}},
      {"batch_stats", nlohmann::json::array()}};
  reply.body = nlohmann::json{{"model_stats", nlohmann::json::array({stats})}}.dump();
}

}  // namespace modelbay::serve
