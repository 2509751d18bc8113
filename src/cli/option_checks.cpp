#include "cli/option_checks.h"

#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace modelbay {
namespace {

std::string Shown(const std::string& text) {
  return text.size() > 40 ? text.substr(0, 40) + "..." : text;
}

}  // namespace

CLI::Validator NumberIn(double lo, double hi) {
  const std::string range = fmt::format("{:g} to {:g}", lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        double v = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, v, std::chars_format::general);
        if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(v) || v < lo || v > hi) {
          return fmt::format("must be a number from {} (got {})", range, Shown(text));
        }
        return {};
      },
      fmt::format("NUMBER in [{}]", range), "NumberIn");
}

CLI::Validator IntegerIn(int64_t lo, int64_t hi) {
  const std::string range = fmt::format("{} to {}", lo, hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        int64_t v = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (text.empty() || ec != std::errc() || ptr != end || v < lo || v > hi) {
          return fmt::format("must be a whole number from {} (got {})", range, Shown(text));
        }
        return {};
      },
      fmt::format("INT in [{}]", range), "IntegerIn");
}

}  // namespace modelbay
