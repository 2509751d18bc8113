#include "store/http_client.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <pugixml.hpp>
#include <spdlog/spdlog.h>

#include "core/hash.h"
#include "core/strings.h"

namespace modelbay {
namespace {

bool RetryableResponse(const AwsResponse& r) {
  if (r.status == 429 || r.status >= 500) return true;
  if (r.status == 400 || r.status == 409) {
    std::string code = ParseAwsError(r).code;
    return code == "RequestTimeout" || code == "Throttling" || code == "ThrottlingException" ||
           code == "ConditionalRequestConflict" || code == "OperationAborted";
  }
  return false;
}

// "Equal jitter": a random wait in [cap/2, cap], cap = base * 2^attempt
// bounded by max_backoff. Half the wait is fixed, so retries never bunch
// at zero; the other half spreads concurrent clients apart.
std::chrono::milliseconds Backoff(const HttpOptions& o, int attempt) {
  thread_local std::mt19937_64 rng{RandomU64()};
  auto cap = std::min<int64_t>(o.max_backoff.count(), o.base_backoff.count() << std::min(attempt, 20));
  std::uniform_int_distribution<int64_t> dist(cap / 2, std::max<int64_t>(cap, 1));
  return std::chrono::milliseconds(dist(rng));
}

}  // namespace

AwsError ParseAwsError(const AwsResponse& r) {
  AwsError e;
  if (!r.body.empty() && r.body.find('<') != std::string::npos) {
    pugi::xml_document doc;
    if (doc.load_buffer(r.body.data(), r.body.size())) {
      // S3: <Error><Code>; SQS query protocol: <ErrorResponse><Error><Code>.
      if (auto n = doc.select_node("//Error/Code")) e.code = n.node().text().get();
      if (auto n = doc.select_node("//Error/Message")) e.message = n.node().text().get();
    }
  } else if (size_t t = r.body.find("\"__type\""); t != std::string::npos) {
    // JSON protocol: {"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"..."}
    size_t q1 = r.body.find('"', r.body.find(':', t) + 1);
    size_t q2 = q1 == std::string::npos ? q1 : r.body.find('"', q1 + 1);
    if (q2 != std::string::npos) {
      e.code = r.body.substr(q1 + 1, q2 - q1 - 1);
      if (size_t hash = e.code.rfind('#'); hash != std::string::npos) e.code = e.code.substr(hash + 1);
    }
  }
  if (e.code.empty()) e.code = r.Header("x-amz-error-code");
  if (e.message.empty()) e.message = r.Header("x-amz-error-message");
  return e;
}

Status ErrorFor(const AwsRequest& req, const AwsResponse& r) {
  AwsError e = ParseAwsError(r);
  std::string what = e.code.empty() ? fmt::format("HTTP {}", r.status) : fmt::format("{} (HTTP {})", e.code, r.status);
  if (!e.message.empty()) what += ": " + e.message;
  std::string msg = fmt::format("{}: {}", req.operation, what);
  if (e.code == "SignatureDoesNotMatch") {
    return PermissionDenied(msg + " — the secret key does not match the access key id; check "
                                  "AWS_SECRET_ACCESS_KEY (and AWS_REGION)");
  }
  if (e.code == "InvalidAccessKeyId") {
    return PermissionDenied(msg + fmt::format(" — {} does not know this access key id; check AWS_ACCESS_KEY_ID "
                                              "and AWS_ENDPOINT_URL",
                                              req.endpoint));
  }
  if (e.code == "RequestTimeTooSkewed") {
    return PermissionDenied(msg + " — this machine's clock is off; synchronize it (NTP)");
  }
  if (e.code == "ExpiredToken" || e.code == "InvalidToken") {
    return PermissionDenied(msg + " — the session token expired or is invalid; refresh AWS_SESSION_TOKEN");
  }
  switch (r.status) {
    case 404: return NotFound(msg);
    case 412: return AlreadyExists(msg);
    case 401:
    case 403: return PermissionDenied(msg + " — the credentials lack permission for this operation");
    case 400:
    case 405:
    case 411:
    case 413:
    case 416: return InvalidArgument(msg);
    case 409: return FailedPrecondition(msg);
    case 501: return FailedPrecondition(msg + " — the server does not implement this operation");
    default: break;
  }
  if (r.status == 429 || r.status >= 500) return Unavailable(msg + " — the service is busy or failing; try again later");
  return Internal(msg);
}

HttpOptions HttpOptionsFromEnv(const EnvLookup& env) {
  HttpOptions o;
  auto num = [&](const char* name, int64_t fallback) -> int64_t {
    std::string v = env(name);
    if (v.empty()) return fallback;
    try {
      return std::max<int64_t>(1, std::stoll(v));
    } catch (...) {
      spdlog::warn("ignoring {}={}: not a number", name, v);
      return fallback;
    }
  };
  o.max_attempts = static_cast<int>(num("MODELBAY_S3_MAX_ATTEMPTS", o.max_attempts));
  o.connect_timeout = std::chrono::milliseconds(num("MODELBAY_S3_CONNECT_TIMEOUT_MS", o.connect_timeout.count()));
  o.low_speed_time = std::chrono::seconds(num("MODELBAY_S3_STALL_TIMEOUT_S", o.low_speed_time.count()));
  return o;
}

Result<std::string> HostOfEndpoint(std::string_view endpoint) {
  size_t scheme_end = endpoint.find("://");
  if (scheme_end == std::string_view::npos) {
    return InvalidArgument(fmt::format("endpoint '{}' needs a scheme, e.g. https://s3.example.com", endpoint));
  }
  std::string scheme = AsciiLower(endpoint.substr(0, scheme_end));
  std::string_view rest = endpoint.substr(scheme_end + 3);
  std::string host(rest.substr(0, rest.find('/')));
  if (host.empty()) return InvalidArgument(fmt::format("endpoint '{}' has no host", endpoint));
  if (scheme == "https" && host.size() > 4 && host.ends_with(":443")) host.resize(host.size() - 4);
  if (scheme == "http" && host.size() > 3 && host.ends_with(":80")) host.resize(host.size() - 3);
  return AsciiLower(host);
}

AwsHttpClient::AwsHttpClient(std::shared_ptr<CredentialsProvider> credentials, HttpOptions options, Clock clock)
    : credentials_(std::move(credentials)), options_(options), clock_(std::move(clock)) {}

// The URL of a request: endpoint + SigV4-encoded path + canonical query.
std::string AwsHttpClient::UrlFor(const AwsRequest& req) {
  std::string url = req.endpoint;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += UriEncode(req.path.empty() ? "/" : req.path, true);
  if (std::string q = CanonicalQueryString(req.query); !q.empty()) url += "?" + q;
  return url;
}

// Signs one attempt (a fresh date and, possibly, fresh credentials each
// time) and returns the exchange to perform.
Result<HttpExchange> AwsHttpClient::Prepare(const AwsRequest& req, const std::string& host, const std::string& url,
                                           const std::string& payload_sha) {
  MB_ASSIGN_OR_RETURN(AwsCredentials creds, credentials_->Get());
  SigV4Request sreq;
  sreq.method = req.method;
  sreq.host = host;
  sreq.path = req.path;
  sreq.query = req.query;
  sreq.headers = req.headers;
  sreq.payload_sha256 = payload_sha;
  sreq.region = req.region;
  sreq.service = req.service;
  SignedHeaders signed_headers = SignV4(sreq, creds, clock_());

  HttpExchange x;
  x.method = req.method;
  x.url = url;
  x.body = req.body;
  x.response_file = req.response_file;
  x.connect_timeout = options_.connect_timeout;
  x.total_timeout = options_.total_timeout;
  x.low_speed_time = options_.low_speed_time;
  x.header_lines.push_back("Host: " + host);
  bool has_type = false;
  for (const auto& [k, v] : req.headers) {
    x.header_lines.push_back(k + ": " + v);
    has_type = has_type || AsciiLower(k) == "content-type";
  }
  for (const auto& [k, v] : signed_headers.headers) x.header_lines.push_back(k + ": " + v);
  x.header_lines.push_back("Expect:");                       // no 100-continue round trip
  if (!has_type) x.header_lines.push_back("Content-Type:");  // curl's form default is not signed
  return x;
}

Result<AwsResponse> AwsHttpClient::Send(const AwsRequest& req) {
  MB_ASSIGN_OR_RETURN(std::string host, HostOfEndpoint(req.endpoint));
  const std::string url = UrlFor(req);
  const std::string payload_sha = Sha256Hex(req.body);
  const int attempts = req.max_attempts > 0 ? req.max_attempts : options_.max_attempts;

  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    MB_ASSIGN_OR_RETURN(HttpExchange exchange, Prepare(req, host, url, payload_sha));
    HttpOutcome outcome = Perform(exchange);
    // Classify: an answer we keep, an error we return, or one worth retrying.
    switch (outcome.kind) {
      case HttpOutcome::Kind::kLocalError:
        return Unavailable(fmt::format("{}: {}", req.operation, outcome.error));
      case HttpOutcome::Kind::kFatalError:
      case HttpOutcome::Kind::kNetworkError:
        last_error = outcome.error;
        spdlog::debug("{} {} attempt {}/{}: {} ({} ms)", req.operation, req.method, attempt, attempts, last_error,
                      outcome.elapsed.count());
        if (outcome.kind == HttpOutcome::Kind::kFatalError) {
          return Unavailable(fmt::format("{}: {} failed: {}", req.operation, req.endpoint, last_error));
        }
        break;
      case HttpOutcome::Kind::kResponse:
        spdlog::debug("{} {} {} attempt {}/{}: HTTP {} ({} ms)", req.operation, req.method, req.path, attempt,
                      attempts, outcome.response.status, outcome.elapsed.count());
        outcome.response.attempts = attempt;
        if (!RetryableResponse(outcome.response) || attempt >= attempts) return std::move(outcome.response);
        last_error = fmt::format("HTTP {} {}", outcome.response.status, ParseAwsError(outcome.response).code);
        break;
    }
    // Retry, or give up when the attempts are spent.
    if (attempt >= attempts) {
      return Unavailable(fmt::format("{}: cannot reach {} after {} attempts: {} — check AWS_ENDPOINT_URL, the "
                                     "network, and that the server is running",
                                     req.operation, req.endpoint, attempts, last_error));
    }
    std::this_thread::sleep_for(Backoff(options_, attempt));
  }
}

Result<AwsResponse> AwsHttpClient::Call(const AwsRequest& req) {
  MB_ASSIGN_OR_RETURN(AwsResponse r, Send(req));
  if (!r.ok()) return ErrorFor(req, r);
  return r;
}

Result<AwsResponse> PlainHttp(const PlainRequest& req) {
  HttpExchange x;
  x.method = req.method;
  x.url = req.url;
  for (const auto& [k, v] : req.headers) x.header_lines.push_back(k + ": " + v);
  x.connect_timeout = req.timeout;
  x.total_timeout = req.timeout;
  HttpOutcome outcome = Perform(x);
  if (outcome.kind != HttpOutcome::Kind::kResponse) {
    return Unavailable(fmt::format("{} {}: {}", req.method, req.url, outcome.error));
  }
  return std::move(outcome.response);
}

}  // namespace modelbay
