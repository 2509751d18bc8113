// Private to src/store: one HTTP exchange over libcurl, nothing AWS-specific
// (no signing, no retries, no error wording). AwsHttpClient (SigV4, retries)
// and PlainHttp (credential endpoints) both send through Perform, so the
// handle set-up lives once. No other file includes curl.
//
// Thread-safety: Perform may be called from any number of threads at once;
// each thread reuses its own curl handle (and so its keep-alive connections).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace modelbay {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  int attempts = 1;  // requests sent to get this response (set by the retrying layer)
  std::string Header(const std::string& lower_name) const;
  bool ok() const { return status >= 200 && status < 300; }
};

struct HttpExchange {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> header_lines;  // "Name: value"
  std::string_view body;                  // must outlive the call
  // When set, a 2xx body is written to this file (truncated first) instead
  // of HttpResponse::body.
  std::filesystem::path response_file;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds total_timeout{0};  // 0: none
  // Abort a transfer slower than 1 byte/s for this long (0: never).
  std::chrono::seconds low_speed_time{0};
};

struct HttpOutcome {
  enum class Kind {
    kResponse,       // `response` holds what the server answered
    kNetworkError,   // no answer; transient (connect, reset, timeout): worth retrying
    kFatalError,     // no answer; retrying would not help (bad URL, TLS setup, ...)
    kLocalError,     // response_file could not be written
  };
  Kind kind = Kind::kResponse;
  HttpResponse response;
  std::string error;  // curl's description when kind != kResponse
  std::chrono::milliseconds elapsed{0};
};

HttpOutcome Perform(const HttpExchange& exchange);

// An HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT") -> Unix seconds; 0 when unparseable.
int64_t ParseHttpDate(const std::string& text);

}  // namespace modelbay
