// The HTTP/1.1 transport of the inference service: Boost.Beast on a pool of
// io threads, keep-alive, header and body limits, read/write timeouts (a slow
// or silent client is cut off and never holds a thread), and a graceful stop
// on SIGTERM/SIGINT: stop accepting, finish the requests in flight, return.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "serve/metrics.h"
#include "serve/service.h"

namespace modelbay::serve {

struct ServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8000;        // 0: any free port (see HttpServer::port())
  int threads = 0;             // 0: hardware concurrency
  size_t max_body_bytes = 8 << 20;
  size_t max_header_bytes = 16 << 10;
  // A whole request (from the first byte awaited to the last received) and
  // a whole response must each take less than these.
  std::chrono::milliseconds read_timeout{15000};
  std::chrono::milliseconds write_timeout{15000};
  // How long SIGTERM waits for requests in flight.
  std::chrono::milliseconds shutdown_grace{30000};
  // One access-log line per answered request (serve/access_log.h).
  bool access_log = true;
};

// Ownership: `service` and `metrics` are borrowed and must outlive the
// HttpServer (serve_cmd owns all three and destroys the server first). Run()
// is called once, from one thread; it runs `options.threads` io threads that
// call Service::Handle concurrently (Service is thread-safe). Stop() may be
// called from any thread, including a signal-watching one.
class HttpServer {
 public:
  HttpServer(ServerOptions options, Service& service, Metrics& metrics);
  ~HttpServer();

  // Binds and listens (errors name the address and how to fix it).
  Status Listen();
  uint16_t port() const;
  // Serves until SIGTERM/SIGINT or Stop(); returns after the requests in
  // flight are answered.
  Status Run();
  // Asks Run() to return (thread-safe).
  void Stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelbay::serve
