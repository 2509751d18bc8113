// The routes of DESIGN §5, independent of the HTTP transport: a request's
// method, path, a few headers and body in; status, headers and body out.
// The Beast server (http_server.h) only translates to and from the wire.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "results/prediction_log.h"
#include "serve/metrics.h"
#include "serve/model_cache.h"

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
};

// The prediction-log append of a successful inference, when the caller
// defers it (the HTTP server starts it with LogInference and answers when
// the log calls back, so that group commit can cover many requests with one
// fsync and no thread waits). It owns the text of its cells: the request's
// strings live in a per-thread JSON parser that the io thread reuses for the
// next request.
struct PendingLog {
  std::shared_ptr<const LoadedModel> model;
  CellMatrix cells;
  Predictions predictions;
  std::string text;  // backing store of the string cells

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
  std::string request_id;      // echoed as X-Request-Id when set
  std::unique_ptr<PendingLog> pending;  // set by Handle(..., defer_log=true)
};

class Service {
 public:
  // `log` may be null only in tests that never reach a successful inference.
  Service(ServiceOptions options, ModelCache& cache, PredictionLog* log, Metrics& metrics);

  // Answers one request. Never throws; bad input is a 4xx. With `defer_log`,
  // a successful inference returns with `reply.pending` set and no body yet:
  // LogInference then CompleteInference complete it.
  void Handle(const Request& request, Reply& reply, bool defer_log = false);
  // Queues the pending rows in the prediction log and returns at once;
  // `logged` runs on the log's committer thread once they are durable (or
  // failed) and must not block: post CompleteInference to the connection.
  // `reply` must stay alive and untouched until then.
  void LogInference(Reply& reply, PredictionLog::Done logged);
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
  void Ready(Reply& reply);
  void Models(Reply& reply);
  void ModelMetadata(std::string_view spec, Reply& reply);
  void MetricsText(Reply& reply);
  void Error(const Status& status, Reply& reply);
  bool Authorized(std::string_view authorization) const;

  ServiceOptions options_;
  ModelCache& cache_;
  PredictionLog* log_;
  Metrics& metrics_;
  std::string id_prefix_;
  std::atomic<uint64_t> next_id_{0};
};

// True for application/json and application/*+json (parameters ignored).
bool IsJsonContentType(std::string_view content_type);

// The OpenAPI 3.0 document served at /openapi.json; with `bearer_auth`, it
// declares the bearer-token scheme on every route but /health.
const std::string& OpenApiDocument(bool bearer_auth);

}  // namespace modelbay::serve
