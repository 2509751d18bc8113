#include "serve/service.h"

#include <charconv>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "core/config.h"
#include "core/hash.h"
#include "core/strings.h"
#include "modelbay_version.h"
#include "registry/model_name.h"
#include "serve/codec.h"
#include "serve/ui.h"

namespace modelbay::serve {
namespace {

constexpr std::string_view kGetMethods = "GET, HEAD";
constexpr std::string_view kPostOnly = "POST";

std::string_view PathOf(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}



std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A byte that may end a path inside a message.
bool EndsPath(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == ')' || c == ',' ||
         c == ';';
}

}  // namespace

std::string WithoutLocalPaths(std::string_view message) {
  constexpr std::string_view kFileUrl = "file://";
  constexpr std::string_view kHidden = "<local path>";
  std::string out;
  out.reserve(message.size());
  size_t i = 0;
  while (i < message.size()) {
    const bool at_word_start = i == 0 || message[i - 1] == ' ' || message[i - 1] == '(' ||
                               message[i - 1] == '\'' || message[i - 1] == '"' || message[i - 1] == '=';
    size_t start = std::string_view::npos;
    if (at_word_start && message.substr(i).starts_with(kFileUrl)) {
      start = i;
    } else if (at_word_start && message[i] == '/' && i + 1 < message.size() && message[i + 1] != '/' &&
               !EndsPath(message[i + 1])) {
      start = i;
    }
    if (start == std::string_view::npos) {
      out += message[i++];
      continue;
    }
    size_t end = start;
    while (end < message.size() && !EndsPath(message[end])) ++end;
    // A path followed by ": reason" or ending a sentence keeps its punctuation.
    while (end > start + 1 && (message[end - 1] == ':' || message[end - 1] == '.')) --end;
    out += kHidden;
    i = end;
  }
  return out;
}

void WriteErrorReply(const Status& status, Reply& reply) {
  reply.status = HttpStatusFor(status.code());
  reply.retry_after = 0;
  if (reply.status >= 500 && status.code() != Code::kInternal && status.code() != Code::kDataLoss) {
    reply.retry_after = 1;
  }
  if (status.code() == Code::kFailedPrecondition) reply.retry_after = 5;
  reply.www_authenticate = reply.status == 401;
  reply.content_type = "application/json";
  std::string message = RedactUrlCredentials(status.message());
  if (reply.status >= 500) message = WithoutLocalPaths(message);
  if (reply.bare_error) {
    reply.body = "{\"error\":";
    AppendJsonString(message, reply.body);
    reply.body += '}';
  } else {
    reply.body = ErrorBody(ErrorCodeName(status.code()), message);
  }
}

bool IsJsonContentType(std::string_view content_type) {
  std::string_view media = Trim(content_type.substr(0, content_type.find(';')));
  if (EqualsIgnoreCase(media, "application/json")) return true;
  const std::string_view prefix = "application/", suffix = "+json";
  return media.size() > prefix.size() + suffix.size() &&
         EqualsIgnoreCase(media.substr(0, prefix.size()), prefix) &&
         EqualsIgnoreCase(media.substr(media.size() - suffix.size()), suffix);
}

Service::Service(ServiceOptions options, ModelCache& cache, results::PredictionLog* log, Metrics& metrics)
    : options_(std::move(options)), cache_(cache), log_(log), metrics_(metrics) {
  id_prefix_ = RandomHex(6);
}

std::string Service::NextRequestId() {
  // "<prefix>-<hex>", the hot path of every request without an id of its own.
  char hex[17];
  const auto end = std::to_chars(hex, hex + sizeof hex, next_id_.fetch_add(1, std::memory_order_relaxed), 16).ptr;
  std::string id;
  id.reserve(id_prefix_.size() + 1 + static_cast<size_t>(end - hex));
  id += id_prefix_;
  id += '-';
  id.append(hex, end);
  return id;
}

bool Service::SaneRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Route Service::RouteOf(std::string_view target) {
  const std::string_view path = PathOf(target);
  if (path == "/inference") return Route::kInference;
  if (path == "/health") return Route::kHealth;
  if (path == "/ready") return Route::kReady;
  if (path == "/models") return Route::kModels;
  if (path.size() > 8 && path.substr(0, 8) == "/models/" &&
      path.find('/', 8) == std::string_view::npos) {
    return Route::kModel;
  }
  if (path.starts_with("/models/") && path.ends_with("/drift") && path.size() > 14 &&
      path.substr(8, path.size() - 14).find('/') == std::string_view::npos) {
    return Route::kDrift;
  }
  if (path.starts_with("/models/") && path.ends_with("/feedback") && path.size() > 17 &&
      path.substr(8, path.size() - 17).find('/') == std::string_view::npos) {
    return Route::kModelFeedback;
  }
  if (path == "/feedback") return Route::kFeedback;
  if (path == "/metrics") return Route::kMetrics;
  if (path == "/openapi.json") return Route::kOpenApi;
  if (path == "/v2" || path.starts_with("/v2/")) return Route::kV2;
  if (path == "/invocations") return Route::kInvocations;
  if (path == "/ping") return Route::kPing;
  if (path == "/version") return Route::kVersion;
  if (path == "/ui" || path.starts_with("/ui/") || path == "/docs" || path == "/docs/") return Route::kUi;
  if (path == "/traffic") return Route::kTraffic;
  return Route::kOther;
}

bool Service::Authorized(std::string_view authorization) const {
  if (options_.api_token.empty()) return true;
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() < kScheme.size() ||
      !EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  const std::string_view given = Trim(authorization.substr(kScheme.size()));
  const std::string& want = options_.api_token;
  // Compare in constant time; a length difference still compares want to itself.
  const bool same_len = given.size() == want.size();
  const char* other = same_len ? given.data() : want.data();
  return (CRYPTO_memcmp(other, want.data(), want.size()) == 0) && same_len;
}

void Service::Error(const Status& status, Reply& reply) {
  if (HttpStatusFor(status.code()) >= 500) {
    // The client gets the message without local paths; the log keeps them.
    spdlog::warn("{} {}", HttpStatusFor(status.code()), status.message());
  }
  WriteErrorReply(status, reply);
}

void Service::Handle(const Request& request, Reply& reply, bool defer_log) {
  const Route route = RouteOf(request.target);
  const std::string_view path = PathOf(request.target);
  reply.head_only = request.method == "HEAD";
  if (route == Route::kV2) reply.bare_error = true;
  // The dashboard's files hold no data (its fetches carry the token): serve/ui.h.
  const bool open_route = route == Route::kHealth || route == Route::kPing || route == Route::kUi;
  if (!open_route && !Authorized(request.authorization)) {
    return Error(PermissionDenied("this service requires `Authorization: Bearer <token>` "
                                  "(the value of MODELBAY_API_TOKEN)"),
                 reply);
  }
  const bool post_route = route == Route::kInference || route == Route::kInvocations || route == Route::kFeedback;
  const bool allowed = post_route ? request.method == "POST" : request.method == "GET" || request.method == "HEAD";
  // The v2 routes check their methods themselves (infer is POST, the rest GET).
  if (route != Route::kOther && route != Route::kV2 && !allowed) {
    reply.allow = post_route ? kPostOnly : kGetMethods;
    return Error(MethodNotAllowed(fmt::format("{} accepts only {}", path, reply.allow)), reply);
  }
  switch (route) {
    case Route::kInference: return Inference(request, reply, defer_log);
    case Route::kHealth: reply.body = R"({"status":"ok"})"; return;
    case Route::kReady: return Ready(reply);
    case Route::kModels: return Models(reply);
    case Route::kModel: return ModelMetadata(request, path.substr(8), reply);
    case Route::kMetrics: return MetricsText(reply);
    case Route::kDrift: return Drift(request, path.substr(8, path.size() - 14), reply);
    case Route::kFeedback: return PostFeedback(request, reply);
    case Route::kModelFeedback: return ModelFeedback(request, path.substr(8, path.size() - 17), reply);
    case Route::kOpenApi: reply.body = OpenApiDocument(!options_.api_token.empty()); return;
    case Route::kV2: return V2(request, reply, defer_log);
    case Route::kInvocations: return Invocations(request, reply, defer_log);
    case Route::kPing: return Ping(reply);
    case Route::kVersion:
      reply.content_type = "text/plain; charset=utf-8";
      reply.body = MODELBAY_VERSION;
      return;
    case Route::kUi:
      if (Status s = UiAsset(path, !options_.api_token.empty(), reply); !s.ok()) Error(s, reply);
      return;
    case Route::kTraffic: return Traffic(request, reply);
    case Route::kOther:
    case Route::kCount: break;
  }
  Error(NotFound(fmt::format("no route {}; see GET /openapi.json for the routes", path)), reply);
}

void Service::Inference(const Request& request, Reply& reply, bool defer_log) {
  reply.request_id = SaneRequestId(request.request_id) ? std::string(request.request_id)
                                                       : NextRequestId();
  if (!IsJsonContentType(request.content_type)) {
    return Error(UnsupportedMedia(fmt::format(
                     "Content-Type is \"{}\"; send the body as JSON with "
                     "`Content-Type: application/json`", request.content_type)),
                 reply);
  }
  thread_local simdjson::dom::parser parser;
  auto parsed = ParseInferenceRequest(parser, request.body, options_.max_rows);
  if (!parsed.ok()) return Error(parsed.status(), reply);
  auto target = Target(parsed->model_name);
  if (!target.ok()) return Error(target.status(), reply);
  auto model = target->cache->Get(parsed->model_spec);
  if (!model.ok()) return Error(model.status(), reply);
  CellMatrix cells;
  if (Status s = BuildCells(*parsed, (*model)->schema(), cells); !s.ok()) return Error(s, reply);
  ScoreAndLog(*target, std::move(*model), std::move(cells), parsed->options, reply, defer_log, {});
}

Result<ModelTarget> Service::Target(std::string_view name) {
  MB_ASSIGN_OR_RETURN(std::string parsed, ParseModelName(name));
  if (parsed.empty()) return UnnamedTarget();
  if (named_ == nullptr) {
    return NotFound(fmt::format("model '{}' not found: this server serves only the unnamed model (\"default\")",
                                parsed));
  }
  return named_->Get(parsed);
}

void Service::ScoreAndLog(const ModelTarget& target, std::shared_ptr<const LoadedModel> model, CellMatrix cells,
                          const PredictOptions& options, Reply& reply, bool defer_log,
                          std::function<void(const LoadedModel&, const Predictions&, Reply&)> respond) {
  auto pending = std::make_unique<PendingLog>();
  pending->model = std::move(model);
  pending->target = target;
  pending->cells = std::move(cells);
  pending->respond = std::move(respond);
  auto predictions = pending->model->Predict(pending->cells, options);
  if (!predictions.ok()) return Error(predictions.status(), reply);
  pending->predictions = std::move(*predictions);
  pending->OwnText();
  // The drift windows are per model and version (monitor/drift.h).
  if (drift_ != nullptr) {
    drift_->Observe(pending->model, pending->cells, pending->predictions, DisplayModelName(target.name));
  }
  if (reply.request_id.empty()) reply.request_id = NextRequestId();
  reply.pending = std::move(pending);
  if (defer_log) return;
  results::PredictionLog* log = reply.pending->target.log;
  Status logged = log == nullptr ? Status::Ok()
                                 : log->Append(*reply.pending->model, reply.request_id, reply.pending->cells,
                                                 reply.pending->predictions, std::chrono::system_clock::now());
  CompleteInference(reply, logged);
}

void PendingLog::OwnText() {
  size_t bytes = 0;
  for (const Cell& c : cells.cells) {
    if (const auto* sv = std::get_if<std::string_view>(&c)) bytes += sv->size();
  }
  text.clear();
  text.reserve(bytes);  // no reallocation below: the views stay valid
  for (Cell& c : cells.cells) {
    if (auto* sv = std::get_if<std::string_view>(&c)) {
      const size_t at = text.size();
      text.append(*sv);
      *sv = std::string_view(text.data() + at, sv->size());
    }
  }
}

void Service::LogInference(Reply& reply, results::PredictionLog::Done logged) {
  const PendingLog& p = *reply.pending;
  if (p.target.log == nullptr) return logged(Status::Ok());  // CompleteInference answers 503
  p.target.log->AppendAsync(*p.model, reply.request_id, p.cells, p.predictions, std::chrono::system_clock::now(),
                    std::move(logged));
}

void Service::CompleteInference(Reply& reply, const Status& logged) {
  if (!reply.pending) return;
  const std::unique_ptr<PendingLog> p = std::move(reply.pending);
  const LoadedModel& m = *p->model;
  if (p->target.log == nullptr) return Error(Unavailable("the prediction log is not open"), reply);
  if (!logged.ok()) {
    metrics_.LogAppendFailed();
    spdlog::error("prediction log: {}", logged.message());
    {
      std::lock_guard lock(append_mu_);
      append_failed_.store(true, std::memory_order_relaxed);
      last_append_failure_ = std::chrono::steady_clock::now();
      last_append_error_ = WithoutLocalPaths(logged.message());
    }
    return WriteErrorReply(Unavailable("the prediction could not be logged (" + logged.message() +
                                       "); nothing was recorded, retry"),
                           reply);
  }
  if (append_failed_.load(std::memory_order_relaxed)) {
    std::lock_guard lock(append_mu_);
    append_failed_.store(false, std::memory_order_relaxed);
    last_append_failure_ = {};
  }
  metrics_.AddRows(DisplayModelName(p->target.name), m.version(), p->predictions.rows);
  reply.model_version = std::to_string(m.version());
  reply.rows = p->predictions.rows;
  if (p->respond) return p->respond(m, p->predictions, reply);
  reply.body.reserve(128 + p->predictions.rows * 48);
  AppendInferenceResponse(m, p->predictions, reply.request_id, reply.body);
}

std::string Service::LogProblem() const {
  if (log_ == nullptr) return "the prediction log is not open";
  {
    std::lock_guard lock(append_mu_);
    if (last_append_failure_ != std::chrono::steady_clock::time_point{} &&
        std::chrono::steady_clock::now() - last_append_failure_ < kAppendFailureMemory) {
      return "the prediction log refuses rows (" + last_append_error_ +
             "), so /inference answers 503: is the spool's disk full?";
    }
  }
  const results::PredictionLog::Stats stats = log_->stats();
  if (stats.ship_failing) {
    return fmt::format("shipping the prediction log to the results store fails ({} rows wait in the "
                       "local spool); check the results store and its credentials",
                       stats.backlog_rows);
  }
  return {};
}

// MLflow's and SageMaker's health check: 200 once the default model is
// loaded (traffic can be scored), else 503.
void Service::Ping(Reply& reply) {
  const auto view = cache_.view();
  if (view->default_version == 0 || !view->models.count(view->default_version)) {
    reply.status = 503;
    reply.retry_after = 5;
    reply.body = R"({"status":"not_ready"})";
    return;
  }
  reply.body = R"({"status":"ok"})";
}

// 200 "ready" (or "degraded" while the model store is unreachable but cached
// models serve); 503 "not_ready" without a model, 503 "degraded" when the
// prediction log cannot take or ship rows. The reason never holds local paths.
void Service::Ready(Reply& reply) {
  const auto view = cache_.view();
  const int v = view->default_version;
  nlohmann::json j;
  if (v == 0 || !view->models.count(v)) {
    j["status"] = "not_ready";
    j["reason"] = !view->refreshed ? "the model store is unreachable: " + view->store_error
                                   : std::string("no model yet: train one with `modelbay train`");
    reply.status = 503;
    reply.retry_after = 5;
  } else {
    j["model_version"] = std::to_string(v);
    std::string reason;
    if (std::string log_problem = LogProblem(); !log_problem.empty()) {
      reason = std::move(log_problem);
      reply.status = 503;
      reply.retry_after = 5;
    }
    if (!view->store_ok) {
      reason += reason.empty() ? "" : "; ";
      reason += "the model store is unreachable (" + view->store_error + "); serving cached models";
    }
    j["status"] = reason.empty() ? "ready" : "degraded";
    if (!reason.empty()) j["reason"] = reason;
  }
  if (j.contains("reason")) j["reason"] = RedactUrlCredentials(WithoutLocalPaths(j["reason"].get<std::string>()));
  reply.body = j.dump();
}

namespace {

// One model's part of GET /models.
nlohmann::json ModelListing(const ModelView& view) {
  nlohmann::json j;
  j["versions"] = view.versions;
  j["archived"] = view.archived;
  nlohmann::json states = nlohmann::json::object();
  for (const auto& [v, state] : view.states) states[std::to_string(v)] = state.ToJson();
  j["state"] = std::move(states);
  nlohmann::json aliases = nlohmann::json::object();
  for (const auto& [name, v] : view.aliases) aliases[name] = v;
  if (view.latest()) aliases["latest"] = view.latest();
  j["aliases"] = aliases;
  j["default"] = view.default_version ? nlohmann::json(view.default_version) : nlohmann::json();
  nlohmann::json loaded = nlohmann::json::array();
  for (const auto& [v, m] : view.models) loaded.push_back(v);
  j["loaded"] = loaded;
  j["store_ok"] = view.store_ok;
  return j;
}

}  // namespace

// The unnamed model's listing at the top level (as before named models), and
// every model's under "models" (the unnamed one as "default").
void Service::Models(Reply& reply) {
  nlohmann::json j = ModelListing(*cache_.view());
  nlohmann::json models = nlohmann::json::object();
  models[std::string(kDefaultModelName)] = j;
  if (named_ != nullptr) {
    for (const std::string& name : named_->Names()) {
      auto target = named_->Get(name);
      if (target.ok()) {
        models[name] = ModelListing(*target->cache->view());
      } else {
        models[name] = {{"error", WithoutLocalPaths(target.status().message())}};
      }
    }
  }
  j["models"] = std::move(models);
  reply.body = j.dump();
}

ModelTarget Service::UnnamedTarget() { return ModelTarget{"", &cache_, log_, feedback_log_, feedback_join_}; }

Result<ModelTarget> Service::QueryTarget(const Request& request) {
  return Target(QueryParam(request.target, "model").value_or(""));
}

void Service::ModelMetadata(const Request& request, std::string_view spec, Reply& reply) {
  auto target = QueryTarget(request);
  if (!target.ok()) return Error(target.status(), reply);
  auto meta = target->cache->Metadata(spec);
  if (!meta.ok()) return Error(meta.status(), reply);
  reply.body = meta->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Service::MetricsText(Reply& reply) {
  SpoolStats spool;
  if (log_ != nullptr) {
    const auto s = log_->stats();
    spool = {s.backlog_rows, s.shipped_objects, s.ship_errors, s.commits, s.commit_appends, s.commit_seconds};
  }
  const auto view = cache_.view();
  reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
  reply.body = metrics_.Render(spool, view->default_version, view->store_ok);
  if (drift_ != nullptr) reply.body += drift_->Prometheus();
  reply.body += FeedbackGauges();
}

// The modelbay_feedback_* gauges of every loaded version of every open model
// (each join answers from its cache unless new objects shipped).
std::string Service::FeedbackGauges() {
  std::vector<ModelTarget> targets = {UnnamedTarget()};
  if (named_ != nullptr) {
    std::vector<ModelTarget> named = named_->OpenTargets();
    targets.insert(targets.end(), named.begin(), named.end());
  }
  std::vector<monitor::FeedbackMetrics> figures;
  for (const ModelTarget& target : targets) {
    if (target.feedback_join == nullptr) continue;
    const auto view = target.cache->view();  // held: the loop reads into it
    for (const auto& [v, model] : view->models) {
      auto m = target.feedback_join->Compute(*model);
      if (!m.ok()) {  // the store is down: the other gauges still answer
        spdlog::warn("feedback metrics of model {} version {}: {}", DisplayModelName(target.name), v,
                     m.status().message());
        break;
      }
      figures.push_back(std::move(*m));
    }
  }
  return monitor::FeedbackPrometheus(figures);
}

void Service::Traffic(const Request& request, Reply& reply) {
  auto target = QueryTarget(request);
  if (!target.ok()) return Error(target.status(), reply);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  reply.body = TrafficJson(metrics_, now, DisplayModelName(target->name));
}

void Service::Drift(const Request& request, std::string_view spec, Reply& reply) {
  if (drift_ == nullptr) return Error(FailedPrecondition("drift monitoring is not enabled in this server"), reply);
  auto target = QueryTarget(request);
  if (!target.ok()) return Error(target.status(), reply);
  auto model = target->cache->Get(std::string(spec));
  if (!model.ok()) return Error(model.status(), reply);
  reply.body = drift_->Report(**model, DisplayModelName(target->name))
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// POST /feedback[?model=NAME]: the labels are checked against the model's
// default version's classes (the version /inference serves), written to the
// model's feedback log, and acknowledged once durable in its spool. The
// append waits on this thread: feedback is light traffic next to inference.
void Service::PostFeedback(const Request& request, Reply& reply) {
  auto target = QueryTarget(request);
  if (!target.ok()) return Error(target.status(), reply);
  if (target->feedback_log == nullptr) {
    return Error(FailedPrecondition("feedback is not enabled in this server"), reply);
  }
  if (!IsJsonContentType(request.content_type)) {
    return Error(UnsupportedMedia(fmt::format("Content-Type is \"{}\"; send the body as JSON with "
                                              "`Content-Type: application/json`",
                                              request.content_type)),
                 reply);
  }
  auto model = target->cache->Get(std::nullopt);
  if (!model.ok()) return Error(model.status(), reply);
  auto records = monitor::ParseFeedbackJson(request.body, (*model)->schema(), options_.max_rows);
  if (!records.ok()) return Error(records.status(), reply);
  const std::string rows = monitor::FormatFeedback(*records, std::chrono::system_clock::now());
  Status logged = target->feedback_log->Append(monitor::kFeedbackStream, monitor::FeedbackHeaderLine(), rows, records->size());
  if (!logged.ok()) {
    spdlog::error("feedback log: {}", logged.message());
    return Error(Unavailable("the feedback could not be recorded (" + logged.message() + "); nothing was recorded, retry"),
                 reply);
  }
  reply.body = fmt::format(R"({{"recorded":{}}})", records->size());
}

void Service::ModelFeedback(const Request& request, std::string_view spec, Reply& reply) {
  auto target = QueryTarget(request);
  if (!target.ok()) return Error(target.status(), reply);
  if (target->feedback_join == nullptr) {
    return Error(FailedPrecondition("feedback is not enabled in this server"), reply);
  }
  auto model = target->cache->Get(std::string(spec));
  if (!model.ok()) return Error(model.status(), reply);
  auto m = target->feedback_join->Compute(**model);
  if (!m.ok()) return Error(m.status(), reply);
  reply.body = monitor::FeedbackJson(*m).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace modelbay::serve
