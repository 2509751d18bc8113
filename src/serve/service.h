// The routes of DESIGN §5, independent of the HTTP transport: a request's
// method, path, a few headers and body in; status, headers and body out.
// The Beast server (http_server.h) only translates to and from the wire.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "monitor/drift.h"
#include "monitor/feedback.h"
#include "results/row_log.h"
#include "results/prediction_log.h"
#include "serve/metrics.h"
#include "serve/model_cache.h"
#include "serve/named_models.h"

namespace modelbay::serve {

struct ServiceOptions {
  size_t max_rows = 10000;
  size_t max_body_bytes = 8 << 20;
  std::string api_token;  // empty: no authentication
};

struct Request {
  std::string_view method;
  std::string_view target;  // path and query
  std::string_view content_type;
  std::string_view authorization;
  std::string_view request_id;  // X-Request-Id, may be empty
  const std::string& body;
  std::string_view inference_header_length = {};  // the binary tensor extension's header
  std::string_view accept = {};                   // Accept (honoured by /invocations)
};

// The prediction-log append of a successful inference, when the caller
// defers it (the HTTP server starts it with LogInference and answers when
// the log calls back, so that group commit can cover many requests with one
// fsync and no thread waits). It owns the text of its cells: the request's
// strings live in a per-thread JSON parser that the io thread reuses for the
// next request.
struct Reply;

struct PendingLog {
  std::shared_ptr<const LoadedModel> model;
  ModelTarget target;  // the model's name and the log its rows go to
  CellMatrix cells;
  Predictions predictions;
  std::string text;  // backing store of the string cells
  // Writes the 200 reply once the rows are logged; empty: /inference's body.
  // Runs on the thread that calls CompleteInference; owns what it captures.
  std::function<void(const LoadedModel&, const Predictions&, Reply&)> respond;

  // Copies every string cell into `text` and points the cell at the copy.
  void OwnText();
};

struct Reply {
  int status = 200;
  std::string_view content_type = "application/json";
  std::string body;
  int retry_after = 0;         // seconds; 0 = no Retry-After header
  std::string_view allow;      // for 405
  bool www_authenticate = false;
  // A HEAD request: the transport sends this reply's headers (Content-Length
  // of `body` included) and not `body` itself.
  bool head_only = false;
  std::string request_id;      // echoed as X-Request-Id when set
  // Open Inference Protocol routes: error bodies are {"error": "message"}.
  bool bare_error = false;
  // Sent as Inference-Header-Content-Length when >= 0 (a binary v2 response).
  long inference_header_length = -1;
  std::unique_ptr<PendingLog> pending;  // set by Handle(..., defer_log=true)
  // Sent as Content-Security-Policy (with nosniff and no-referrer) when set:
  // the dashboard's files (serve/ui.h).
  std::string_view content_security_policy;
  // For the access log: the model version that scored, and how many rows.
  std::string model_version;
  size_t rows = 0;
};

// The one writer of error replies, for the routes and the transport alike:
// the status from HttpStatusFor, a JSON body {"error": ErrorCodeName, "message"},
// ({"error": "message"} when reply.bare_error), Retry-After on retryable 5xx, WWW-Authenticate on 401. The message of a 5xx
// reply has local file paths replaced by "<local path>" (the full message
// belongs in the server's log, not in a client's hands), and no message
// carries a password embedded in a URL.
void WriteErrorReply(const Status& status, Reply& reply);
// `message` with every absolute local path ("/var/lib/x/spool/seg-1",
// "file:///srv/models") replaced by "<local path>".
std::string WithoutLocalPaths(std::string_view message);

// Ownership: the service owns nothing it is given. `cache`, `log` and
// `metrics` (and whatever the Attach* calls hand it) are owned by the caller
// (serve_cmd) and must outlive it; the models it scores are held by
// shared_ptr for as long as a request (or its PendingLog) needs them.
// Thread-safety: Handle, LogInference and CompleteInference run concurrently
// on any threads. The Attach* calls are set-up: make them before the first
// Handle, never concurrently with it.
class Service {
 public:
  // `log` may be null only in tests that never reach a successful inference.
  Service(ServiceOptions options, ModelCache& cache, results::PredictionLog* log, Metrics& metrics);

  // Answers one request. Never throws; bad input is a 4xx; every error reply
  // goes through WriteErrorReply. HEAD on a GET route answers as GET with
  // `reply.head_only` set. With `defer_log`,
  // a successful inference returns with `reply.pending` set and no body yet:
  // LogInference then CompleteInference complete it.
  void Handle(const Request& request, Reply& reply, bool defer_log = false);
  // Queues the pending rows in the prediction log and returns at once;
  // `logged` runs on the log's committer thread once they are durable (or
  // failed) and must not block: post CompleteInference to the connection.
  // `reply` must stay alive and untouched until then.
  void LogInference(Reply& reply, results::PredictionLog::Done logged);
  // Counts every scored row of every model in `drift`'s live windows (per
  // model and version) and answers GET /models/{v}/drift[?model=NAME] from
  // it (src/monitor). Call before serving;
  // `drift` must outlive the service. Without it the route says so (503).
  void AttachDrift(monitor::DriftTracker* drift) { drift_ = drift; }
  // Serves named models (the "model" field of /inference, ?model= on
  // /invocations and /models/{v}, /v2/models/{name}). Without it only the
  // unnamed model ("default") is served. Call before serving; `named` must
  // outlive the service.
  void AttachNamedModels(NamedModels* named) { named_ = named; }
  // The unnamed model's feedback: records POST /feedback in `log` (the
  // feedback stream, monitor/feedback.h) and answers GET /models/{v}/feedback
  // and its modelbay_feedback_* gauges from `join`; a named model's come
  // from its ModelTarget (NamedModelsOptions::feedback). Call before
  // serving; both must outlive the service. Without them those routes
  // answer 503.
  void AttachFeedback(results::RowLog* log, monitor::FeedbackJoin* join) {
    feedback_log_ = log;
    feedback_join_ = join;
  }
  // Writes the 200 body, or a 503 if the log refused the rows.
  void CompleteInference(Reply& reply, const Status& logged);
  // Which metrics route a path belongs to (for counting).
  static Route RouteOf(std::string_view path);

  // Fresh request ids: a random per-process prefix and a counter.
  std::string NextRequestId();
  // An incoming X-Request-Id is used when 1-128 chars of [A-Za-z0-9._:-].
  static bool SaneRequestId(std::string_view id);

 private:
  void Inference(const Request& request, Reply& reply, bool defer_log);
  // The model a request names ("" and "default": the unnamed one).
  // InvalidArgument (400) for a malformed name, NotFound (404) for a valid
  // name this server does not have.
  Result<ModelTarget> Target(std::string_view name);
  // The one scoring path of every inference route: predicts `cells` with
  // `model` (threshold, contributions as `options` asks) and hands the rows to the prediction log (now, or deferred);
  // `respond` (empty: /inference's body) writes the reply once they are logged.
  void ScoreAndLog(const ModelTarget& target, std::shared_ptr<const LoadedModel> model, CellMatrix cells, const PredictOptions& options,
                   Reply& reply, bool defer_log,
                   std::function<void(const LoadedModel&, const Predictions&, Reply&)> respond);
  // The Open Inference Protocol (v2_routes.cpp): /v2/...
  void V2(const Request& request, Reply& reply, bool defer_log);
  void V2Model(const Request& request, std::string_view rest, Reply& reply, bool defer_log);
  void V2Infer(const Request& request, const ModelTarget& target, std::optional<std::string> spec, Reply& reply,
               bool defer_log);
  void V2Stats(const ModelTarget& target, Reply& reply);
  // MLflow's scoring contract (invocations.cpp): POST /invocations.
  void Invocations(const Request& request, Reply& reply, bool defer_log);
  void Ready(Reply& reply);
  void Ping(Reply& reply);
  void Models(Reply& reply);
  void ModelMetadata(const Request& request, std::string_view spec, Reply& reply);
  void MetricsText(Reply& reply);
  void Drift(const Request& request, std::string_view spec, Reply& reply);
  void PostFeedback(const Request& request, Reply& reply);
  void ModelFeedback(const Request& request, std::string_view spec, Reply& reply);
  // The model named by the request's ?model= (the unnamed one without it).
  Result<ModelTarget> QueryTarget(const Request& request);
  ModelTarget UnnamedTarget();
  std::string FeedbackGauges();
  void Traffic(const Request& request, Reply& reply);
  void Error(const Status& status, Reply& reply);
  bool Authorized(std::string_view authorization) const;
  // Why /ready must say the prediction log cannot take rows now, or "".
  std::string LogProblem() const;

  // How long after a refused append /ready keeps reporting it (then traffic
  // is let back in, and the next refusal reports it again).
  static constexpr std::chrono::seconds kAppendFailureMemory{10};

  ServiceOptions options_;
  ModelCache& cache_;
  results::PredictionLog* log_;
  Metrics& metrics_;
  monitor::DriftTracker* drift_ = nullptr;
  NamedModels* named_ = nullptr;
  results::RowLog* feedback_log_ = nullptr;
  monitor::FeedbackJoin* feedback_join_ = nullptr;
  std::string id_prefix_;
  std::atomic<uint64_t> next_id_{0};
  std::atomic<uint64_t> v2_inferences_{0}, v2_rows_{0};  // for /v2/models/{m}/stats

  // Set with last_append_failure_, cleared with it: a success reads only
  // this (no lock, no shared cache line written) while nothing failed.
  std::atomic<bool> append_failed_{false};
  mutable std::mutex append_mu_;
  // guarded by append_mu_; epoch: none since the last success
  std::chrono::steady_clock::time_point last_append_failure_{};
  std::string last_append_error_;  // guarded by append_mu_; without local paths
};

// True for application/json and application/*+json (parameters ignored).
bool IsJsonContentType(std::string_view content_type);

// The OpenAPI 3.0 document served at /openapi.json; with `bearer_auth`, it
// declares the bearer-token scheme on every route but /health.
const std::string& OpenApiDocument(bool bearer_auth);

}  // namespace modelbay::serve
