#include "serve/access_log.h"

#include <iterator>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/end_of_turn.h"
#include "core/logging.h"

namespace modelbay::serve {
namespace {

std::string_view PathOnly(std::string_view target) { return target.substr(0, target.find('?')); }

// `s` (at most `max` bytes, then "...") with control characters and
// spaces shown as '?', appended to `out`.
void AppendPrintable(std::string_view s, size_t max, std::string& out) {
  for (char c : s.substr(0, max)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ') ? '?' : c;
  if (s.size() > max) out += "...";
}

void AppendAccessText(const AccessEntry& e, std::string& out) {
  AppendPrintable(e.method, 16, out);
  out += ' ';
  AppendPrintable(PathOnly(e.target), 256, out);
  fmt::format_to(std::back_inserter(out), FMT_COMPILE(" {} {:.2f}ms route={} version={} rows={} id="), e.status,
                 e.latency_ms, e.route, e.model_version.empty() ? "-" : e.model_version, e.rows);
  if (e.request_id.empty()) {
    out += '-';
  } else {
    AppendPrintable(e.request_id, 128, out);
  }
}

constexpr size_t kAccessBufferBytes = 64 << 10;

thread_local std::string t_access_lines;

void FlushAccessLog() {
  WriteLogLines(t_access_lines);
  t_access_lines.clear();
}

}  // namespace

std::string AccessText(const AccessEntry& e) {
  std::string out;
  AppendAccessText(e, out);
  return out;
}

std::string AccessJsonFields(const AccessEntry& e) {
  nlohmann::json j = {{"access", true},
                      {"method", std::string(e.method)},
                      {"path", std::string(PathOnly(e.target))},
                      {"route", std::string(e.route)},
                      {"status", e.status},
                      {"latency_ms", static_cast<double>(static_cast<long long>(e.latency_ms * 1000)) / 1000},
                      {"model_version", e.model_version.empty() ? nlohmann::json() : nlohmann::json(e.model_version)},
                      {"rows", e.rows},
                      {"request_id", e.request_id.empty() ? nlohmann::json() : nlohmann::json(e.request_id)}};
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.substr(1, s.size() - 2);  // the members, without the braces
}

void LogAccess(const AccessEntry& e) {
  if (CurrentLogFormat() == LogFormat::kJson) {
    LogInfoLine({}, AccessJsonFields(e));
  } else {
    LogInfoLine(AccessText(e), {});
  }
}

void LogAccessBatched(const AccessEntry& e) {
  EndOfTurn* turn = EndOfTurn::Current();
  const bool was_empty = t_access_lines.empty();
  if (turn == nullptr || !BeginInfoLine(t_access_lines)) return LogAccess(e);
  if (CurrentLogFormat() == LogFormat::kJson) {
    t_access_lines += AccessJsonFields(e);
  } else {
    AppendAccessText(e, t_access_lines);
  }
  EndInfoLine(t_access_lines);
  if (t_access_lines.size() >= kAccessBufferBytes) {
    FlushAccessLog();  // a flush already scheduled finds the buffer empty
  } else if (was_empty) {
    turn->Schedule(FlushAccessLog);
  }
}

}  // namespace modelbay::serve
