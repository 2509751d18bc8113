#include "core/clock.h"

#include <ctime>

#include <fmt/format.h>

namespace modelbay {
namespace {
std::tm Utc(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}
}  // namespace

int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string FormatIso8601(std::chrono::system_clock::time_point t) {
  std::tm tm = Utc(t);
  int64_t ms = UnixMillis(t) % 1000;
  if (ms < 0) ms += 1000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void AppendIso8601(std::chrono::system_clock::time_point t, std::string& out) {
  thread_local int64_t cached_second = INT64_MIN;
  thread_local char cached[20];  // "2026-11-29T09:34:24"
  // The same second and milliseconds as FormatIso8601 (gmtime of to_time_t).
  const int64_t second = static_cast<int64_t>(std::chrono::system_clock::to_time_t(t));
  int64_t ms = UnixMillis(t) % 1000;
  if (ms < 0) ms += 1000;
  if (second != cached_second) {
    const std::tm tm = Utc(t);
    fmt::format_to_n(cached, sizeof cached, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = second;
  }
  out.append(cached, sizeof cached - 1);
  const char millis[6] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                          static_cast<char>('0' + ms % 10), 'Z', '\0'};
  out.append(millis, 5);
}

std::string FormatAmzDate(std::chrono::system_clock::time_point t) {
  std::tm tm = Utc(t);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace modelbay
