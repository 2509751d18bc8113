// The server's access log: one line per answered request, at info level, in
// the format chosen by --log-format (core/logging.h). Written by the
// transport's one response writer (http_server.cpp, Session::Respond),
// batched per turn of an io thread's loop (LogAccessBatched).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace modelbay::serve {

struct AccessEntry {
  std::string_view method;
  std::string_view target;      // the request target; logged without its query
  std::string_view route;       // RouteName
  int status = 0;
  double latency_ms = 0;
  std::string_view model_version;  // "" when no model answered
  size_t rows = 0;
  std::string_view request_id;
};

// Text: `POST /inference 200 1.25ms route=/inference version=3 rows=2 id=ab12-7`
// (control characters in the path shown as '?'); JSON: the same as members
// "access", "method", "path", "route", "status", "latency_ms",
// "model_version" (null when none), "rows", "request_id".
std::string AccessText(const AccessEntry& e);
std::string AccessJsonFields(const AccessEntry& e);
void LogAccess(const AccessEntry& e);

// The same, batched on a thread with an event loop (core/end_of_turn.h: the
// server's io threads): the line is formatted now into this thread's
// buffer, and the lines of one turn of the loop go out in one write at its
// end (a full buffer, 64 KiB, at once). Elsewhere, or where lines cannot be
// batched (core/logging.h: BeginInfoLine), it is LogAccess.
void LogAccessBatched(const AccessEntry& e);

}  // namespace modelbay::serve
