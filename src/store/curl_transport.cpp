#include "store/curl_transport.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
#include <mutex>

#include "core/strings.h"

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

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse* response = nullptr;
  std::FILE* file = nullptr;  // 2xx bodies go here when set
  bool file_error = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (after 100-continue)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string name(TrimAscii(line.substr(0, colon)));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t->response->headers[name] = TrimAscii(line.substr(colon + 1));
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

bool TransientCurlError(CURLcode rc) {
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

struct CurlHeaders {
  curl_slist* list = nullptr;
  ~CurlHeaders() { curl_slist_free_all(list); }
  void Add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

// Method and body: HEAD without a body, GET, or a custom verb with the body
// (a bodiless DELETE sends no Content-Length).
void SetMethod(CURL* curl, const HttpExchange& x) {
  if (x.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (x.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, x.method.c_str());
    if (x.method != "DELETE" || !x.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(x.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, x.body.empty() ? "" : x.body.data());
    }
  }
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpOutcome Perform(const HttpExchange& x) {
  HttpOutcome out;
  CURL* curl = Handle();
  CurlHeaders hdrs;
  for (const auto& line : x.header_lines) hdrs.Add(line);
  Transfer t{curl, &out.response, nullptr, false};
  if (!x.response_file.empty()) {
    t.file = std::fopen(x.response_file.c_str(), "wb");
    if (t.file == nullptr) {
      out.kind = HttpOutcome::Kind::kLocalError;
      out.error = "cannot write " + x.response_file.string();
      return out;
    }
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, x.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs.list);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(x.connect_timeout.count()));
  if (x.low_speed_time.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(x.low_speed_time.count()));
  }
  if (x.total_timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(x.total_timeout.count()));
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  SetMethod(curl, x);

  auto started = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(curl);
  if (t.file != nullptr && std::fclose(t.file) != 0) t.file_error = true;
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (t.file_error) {
    out.kind = HttpOutcome::Kind::kLocalError;
    out.error = "cannot write " + x.response_file.string() + " (disk full?)";
  } else if (rc != CURLE_OK) {
    out.kind = TransientCurlError(rc) ? HttpOutcome::Kind::kNetworkError : HttpOutcome::Kind::kFatalError;
    out.error = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  } else {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.response.status);
  }
  return out;
}

int64_t ParseHttpDate(const std::string& text) {
  time_t t = curl_getdate(text.c_str(), nullptr);
  return t > 0 ? static_cast<int64_t>(t) : 0;
}

}  // namespace modelbay
