// The one choke point for every AWS HTTP call (S3 now, SQS and others on the
// same layer): builds the URL, signs each attempt with SigV4, times out,
// retries with exponential backoff and "equal jitter" (a random wait in
// [cap/2, cap]) on throttling, 5xx and connection errors, logs at debug level
// (never headers or bodies), and turns error responses into a Status that
// names the operation and never contains credentials. The bytes travel
// through curl_transport.h; this layer is the AWS policy (signing, retries,
// error wording).
//
// Thread-safety: an AwsHttpClient may be shared by threads (each thread
// uses its own curl handle); the credentials provider must be thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "store/credentials.h"
#include "store/curl_transport.h"
#include "store/sigv4.h"

namespace modelbay {

struct AwsRequest {
  std::string method = "GET";
  std::string service = "s3";       // SigV4 service name: "s3", "sqs", ...
  std::string region = "us-east-1";
  std::string endpoint;             // "https://host[:port]": scheme and authority only
  std::string path = "/";           // raw (not encoded); encoded per SigV4 rules
  QueryParams query;                // raw; sorted and encoded on the wire
  std::vector<std::pair<std::string, std::string>> headers;  // signed
  std::string_view body;            // must outlive the call
  // Names the call in errors and logs: "GetObject s3://bucket/key".
  std::string operation;
  // When set, a 2xx response body is streamed into this file (truncated on
  // each retry) instead of AwsResponse::body.
  std::filesystem::path response_file;
  // Override retries for this call (0 = the client's default).
  int max_attempts = 0;
};

// The final response; `attempts` > 1 means earlier attempts were sent and
// may have been applied although their answers were lost.
using AwsResponse = HttpResponse;

// The <Code>/<Message> of an S3/SQS XML error, or JSON "__type"/"message".
struct AwsError {
  std::string code;
  std::string message;
};
AwsError ParseAwsError(const AwsResponse& response);

// The generic mapping of an error response to a Status: 404 -> NotFound,
// 412 -> AlreadyExists, 401/403 -> PermissionDenied (with a hint for
// SignatureDoesNotMatch / InvalidAccessKeyId / clock skew), 400 ->
// InvalidArgument, 429/5xx -> Unavailable.
Status ErrorFor(const AwsRequest& request, const AwsResponse& response);

struct HttpOptions {
  int max_attempts = 5;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds base_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // A transfer slower than 1 byte/s for this long is aborted (and retried).
  std::chrono::seconds low_speed_time{30};
  std::chrono::seconds total_timeout{0};  // 0: none (large objects)
};

// Options from MODELBAY_S3_MAX_ATTEMPTS / MODELBAY_S3_CONNECT_TIMEOUT_MS /
// MODELBAY_S3_STALL_TIMEOUT_S (low_speed_time) when set.
HttpOptions HttpOptionsFromEnv(const EnvLookup& env);

class AwsHttpClient {
 public:
  AwsHttpClient(std::shared_ptr<CredentialsProvider> credentials, HttpOptions options = {},
                Clock clock = SystemClock());

  // Sends with retries and returns the final response, whatever its HTTP
  // status. A Status only when no response arrived (Unavailable) or no
  // credentials could be found.
  Result<AwsResponse> Send(const AwsRequest& request);
  // Send, then a non-2xx response becomes ErrorFor(request, response).
  Result<AwsResponse> Call(const AwsRequest& request);

  const HttpOptions& options() const { return options_; }

 private:
  static std::string UrlFor(const AwsRequest& request);
  Result<HttpExchange> Prepare(const AwsRequest& request, const std::string& host, const std::string& url,
                               const std::string& payload_sha);

  std::shared_ptr<CredentialsProvider> credentials_;
  HttpOptions options_;
  Clock clock_;
};

// Unsigned HTTP for the credential endpoints (ECS, IMDSv2): one attempt,
// short timeouts.
struct PlainRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{2000};
};
Result<AwsResponse> PlainHttp(const PlainRequest& request);

// "https://h:443" -> "h"; "http://127.0.0.1:8333/" -> "127.0.0.1:8333".
Result<std::string> HostOfEndpoint(std::string_view endpoint);

}  // namespace modelbay
