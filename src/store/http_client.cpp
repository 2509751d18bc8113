#include "store/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <pugixml.hpp>
#include <spdlog/spdlog.h>

#include "core/hash.h"

namespace modelbay {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle per thread, reset between requests so its connection cache
// (keep-alive) is reused.
class ThreadCurl {
 public:
  ThreadCurl() {
    GlobalInit();
    handle_ = curl_easy_init();
  }
  ~ThreadCurl() {
    if (handle_ != nullptr) curl_easy_cleanup(handle_);
  }
  CURL* get() {
    curl_easy_reset(handle_);
    return handle_;
  }

 private:
  CURL* handle_ = nullptr;
};

CURL* Handle() {
  thread_local ThreadCurl curl;
  return curl.get();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

struct Transfer {
  CURL* curl = nullptr;
  AwsResponse* response = nullptr;
  std::FILE* file = nullptr;  // 2xx bodies go here when set
  bool file_error = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (after 100-continue)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->response->headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (t->file != nullptr && code >= 200 && code < 300) {
    if (std::fwrite(data, size, n, t->file) != n) {
      t->file_error = true;
      return 0;
    }
    return size * n;
  }
  t->response->body.append(data, size * n);
  return size * n;
}

bool RetryableCurl(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool RetryableResponse(const AwsResponse& r) {
  if (r.status == 429 || r.status >= 500) return true;
  if (r.status == 400 || r.status == 409) {
    std::string code = ParseAwsError(r).code;
    return code == "RequestTimeout" || code == "Throttling" || code == "ThrottlingException" ||
           code == "ConditionalRequestConflict" || code == "OperationAborted";
  }
  return false;
}

std::chrono::milliseconds Backoff(const HttpOptions& o, int attempt) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto cap = std::min<int64_t>(o.max_backoff.count(), o.base_backoff.count() << std::min(attempt, 20));
  std::uniform_int_distribution<int64_t> dist(cap / 2, std::max<int64_t>(cap, 1));
  return std::chrono::milliseconds(dist(rng));
}

struct CurlHeaders {
  curl_slist* list = nullptr;
  ~CurlHeaders() { curl_slist_free_all(list); }
  void Add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

}  // namespace

std::string AwsResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

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
  std::string scheme = Lower(endpoint.substr(0, scheme_end));
  std::string_view rest = endpoint.substr(scheme_end + 3);
  std::string host(rest.substr(0, rest.find('/')));
  if (host.empty()) return InvalidArgument(fmt::format("endpoint '{}' has no host", endpoint));
  if (scheme == "https" && host.size() > 4 && host.ends_with(":443")) host.resize(host.size() - 4);
  if (scheme == "http" && host.size() > 3 && host.ends_with(":80")) host.resize(host.size() - 3);
  return Lower(host);
}

AwsHttpClient::AwsHttpClient(std::shared_ptr<CredentialsProvider> credentials, HttpOptions options, Clock clock)
    : credentials_(std::move(credentials)), options_(options), clock_(std::move(clock)) {}

Result<AwsResponse> AwsHttpClient::Send(const AwsRequest& req) {
  MB_ASSIGN_OR_RETURN(std::string host, HostOfEndpoint(req.endpoint));
  std::string base = req.endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = base + UriEncode(req.path.empty() ? "/" : req.path, true);
  if (std::string q = CanonicalQueryString(req.query); !q.empty()) url += "?" + q;
  const std::string payload_sha = Sha256Hex(req.body);
  const int attempts = req.max_attempts > 0 ? req.max_attempts : options_.max_attempts;

  std::string last_error;
  for (int attempt = 1;; ++attempt) {
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

    CURL* curl = Handle();
    CurlHeaders hdrs;
    hdrs.Add("Host: " + host);
    bool has_type = false;
    for (const auto& [k, v] : req.headers) {
      hdrs.Add(k + ": " + v);
      has_type = has_type || Lower(k) == "content-type";
    }
    for (const auto& [k, v] : signed_headers.headers) hdrs.Add(k + ": " + v);
    hdrs.Add("Expect:");
    if (!has_type) hdrs.Add("Content-Type:");

    AwsResponse response;
    Transfer t{curl, &response, nullptr, false};
    if (!req.response_file.empty()) {
      t.file = std::fopen(req.response_file.c_str(), "wb");
      if (t.file == nullptr) {
        return Unavailable(fmt::format("{}: cannot write {}", req.operation, req.response_file.string()));
      }
    }
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs.list);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_time.count()));
    if (options_.total_timeout.count() > 0) {
      curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(options_.total_timeout.count()));
    }
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    if (req.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (req.method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      if (req.method != "DELETE" || !req.body.empty()) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.data());
      }
    }

    auto started = std::chrono::steady_clock::now();
    CURLcode rc = curl_easy_perform(curl);
    if (t.file != nullptr && std::fclose(t.file) != 0) t.file_error = true;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    if (t.file_error) {
      return Unavailable(fmt::format("{}: cannot write {} (disk full?)", req.operation, req.response_file.string()));
    }
    bool retry = false;
    if (rc != CURLE_OK) {
      last_error = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
      spdlog::debug("{} {} attempt {}/{}: {} ({} ms)", req.operation, req.method, attempt, attempts, last_error,
                    ms.count());
      if (!RetryableCurl(rc)) {
        return Unavailable(fmt::format("{}: {} failed: {}", req.operation, base, last_error));
      }
      retry = true;
    } else {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
      spdlog::debug("{} {} {} attempt {}/{}: HTTP {} ({} ms)", req.operation, req.method, req.path, attempt,
                    attempts, response.status, ms.count());
      if (!RetryableResponse(response) || attempt >= attempts) return response;
      last_error = fmt::format("HTTP {} {}", response.status, ParseAwsError(response).code);
      retry = true;
    }
    if (retry && attempt >= attempts) {
      return Unavailable(fmt::format("{}: cannot reach {} after {} attempts: {} — check AWS_ENDPOINT_URL, the "
                                     "network, and that the server is running",
                                     req.operation, base, attempts, last_error));
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
  CURL* curl = Handle();
  CurlHeaders hdrs;
  for (const auto& [k, v] : req.headers) hdrs.Add(k + ": " + v);
  AwsResponse response;
  Transfer t{curl, &response, nullptr, false};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs.list);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    return Unavailable(fmt::format("{} {}: {}", req.method, req.url,
                                   errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace modelbay
