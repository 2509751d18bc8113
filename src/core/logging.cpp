#include "core/logging.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace modelbay {
namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

constexpr const char* kTimeAndLevelText = "%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ ";
constexpr const char* kTimeAndLevelJson = R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",)";

// %* : the message as a JSON string (quoted and escaped).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    std::string quoted = nlohmann::json(std::string(msg.payload.data(), msg.payload.size()))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

std::unique_ptr<spdlog::formatter> MakeFormatter(const std::string& pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  f->add_flag<JsonMessageFlag>('*').set_pattern(pattern);
  return f;
}

// Structured lines on stderr, the message as it is.
std::shared_ptr<spdlog::logger>& RawLogger() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}

std::string RawPattern(LogFormat f) {
  return f == LogFormat::kJson ? std::string(kTimeAndLevelJson) + "%v}" : std::string(kTimeAndLevelText) + "%v";
}

// Whether stderr takes batched lines: decided once logging is configured.
std::atomic<bool> g_batchable{false};

}  // namespace

Status ConfigureLogging(std::string_view format, bool verbose) {
  LogFormat f;
  if (format == "text") {
    f = LogFormat::kText;
  } else if (format == "json") {
    f = LogFormat::kJson;
  } else {
    return InvalidArgument(fmt::format("--log-format {}: use text or json", format));
  }
  g_format = f;
  auto logger = spdlog::default_logger();
  if (!logger || logger->name() != "modelbay") {
    logger = spdlog::stderr_color_mt("modelbay");
    spdlog::set_default_logger(logger);
  }
  logger->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  logger->set_formatter(MakeFormatter(f == LogFormat::kJson ? std::string(kTimeAndLevelJson) + "\"message\":%*}"
                                                             : std::string(kTimeAndLevelText) + "%v"));
  // A sink of its own: spdlog keeps the formatter in the sink. Both write
  // whole lines to stderr with one fwrite each, so lines never interleave.
  auto raw = std::make_shared<spdlog::logger>("modelbay-raw",
                                              std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  raw->set_level(spdlog::level::info);
  raw->set_formatter(MakeFormatter(RawPattern(f)));
  RawLogger() = raw;
  g_batchable = ::isatty(::fileno(stderr)) == 0;
  return Status::Ok();
}

LogFormat CurrentLogFormat() { return g_format.load(); }

void LogInfoLine(std::string_view text, std::string_view json_fields) {
  auto& raw = RawLogger();
  if (!raw) {
    spdlog::info("{}", text);
    return;
  }
  raw->info("{}", g_format.load() == LogFormat::kJson ? json_fields : text);
}

// The prefixes of kTimeAndLevelText and kTimeAndLevelJson, uncoloured.
bool BeginInfoLine(std::string& out) {
  if (!g_batchable.load(std::memory_order_relaxed)) return false;
  const bool json = g_format.load(std::memory_order_relaxed) == LogFormat::kJson;
  if (json) out += R"({"time":")";
  AppendIso8601(std::chrono::system_clock::now(), out);
  out += json ? R"(","level":"info",)" : " info ";
  return true;
}

void EndInfoLine(std::string& out) {
  out += g_format.load(std::memory_order_relaxed) == LogFormat::kJson ? "}\n" : "\n";
}

void WriteLogLines(std::string_view lines) {
  if (lines.empty()) return;
  std::fwrite(lines.data(), 1, lines.size(), stderr);  // one locked write of whole lines
  std::fflush(stderr);
}

}  // namespace modelbay
