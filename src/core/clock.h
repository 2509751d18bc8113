// Time, injectable: code that depends on "now" (signing, leases, debounce,
// log timestamps) takes a Clock so tests can drive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace modelbay {

using Clock = std::function<std::chrono::system_clock::time_point()>;
inline Clock SystemClock() { return [] { return std::chrono::system_clock::now(); }; }

// "2026-11-29T09:34:24.123Z" (UTC, milliseconds).
std::string FormatIso8601(std::chrono::system_clock::time_point t);
// The same, appended to `out`; each thread keeps the text of the last second
// it formatted, so a call within that second formats only the milliseconds
// (the hot paths: a logged prediction, an access-log line).
void AppendIso8601(std::chrono::system_clock::time_point t, std::string& out);
// "20261129T093424Z" (SigV4 basic format, seconds).
std::string FormatAmzDate(std::chrono::system_clock::time_point t);
int64_t UnixMillis(std::chrono::system_clock::time_point t);

}  // namespace modelbay
