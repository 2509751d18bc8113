// Log set-up for every command: text lines (the default) or JSON lines
// (`--log-format json`, one object per line for CloudWatch and the like),
// on stderr through spdlog's default logger.
//
// ConfigureLogging runs once in main before any thread logs; the rest is
// thread-safe (spdlog's loggers are).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace modelbay {

enum class LogFormat { kText, kJson };

// `format` is "text" or "json" (InvalidArgument otherwise). Text lines:
// "2026-01-02T03:04:05.678Z info message"; JSON lines:
// {"time": "...Z", "level": "info", "message": "..."}. Times are UTC.
Status ConfigureLogging(std::string_view format, bool verbose);
LogFormat CurrentLogFormat();

// Writes one line at info level as it is: `fields` must be the members of a
// JSON object without the braces ("\"a\":1,\"b\":\"x\""), and the line
// becomes {"time": ..., "level": "info", <fields>} (JSON format), or `text`
// after the time and level (text format). For structured lines such as the
// server's access log.
void LogInfoLine(std::string_view text, std::string_view json_fields);

// The same line built by the caller into `out`, for a caller that batches
// lines and writes them with WriteLogLines: BeginInfoLine appends the time
// (now) and level as LogInfoLine writes them, the caller appends the text
// or the JSON fields (per CurrentLogFormat), and EndInfoLine ends the line.
// BeginInfoLine returns false (and appends nothing) when lines cannot be
// batched: logging is not configured, or stderr is a terminal (whose lines
// are coloured and wanted at once); then call LogInfoLine.
bool BeginInfoLine(std::string& out);
void EndInfoLine(std::string& out);
// Writes whole formatted lines to stderr in one write (lines from other
// threads never interleave with them).
void WriteLogLines(std::string_view lines);

}  // namespace modelbay
