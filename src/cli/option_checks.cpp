#include "cli/option_checks.h"

#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>

#include <fmt/format.h>

namespace modelbay {
namespace {

// Parses the whole of `text` as a T (double: decimal or exponent form).
template <typename T>
bool ParseWhole(const std::string& text, T& v) {
  const char* end = text.data() + text.size();
  std::from_chars_result r;
  if constexpr (std::is_floating_point_v<T>) {
    r = std::from_chars(text.data(), end, v, std::chars_format::general);
  } else {
    r = std::from_chars(text.data(), end, v);
  }
  return !text.empty() && r.ec == std::errc() && r.ptr == end;
}

// A validator accepting the T values in [lo, hi] (finite ones, for doubles).
template <typename T>
CLI::Validator RangeOf(T lo, T hi, std::string_view what, std::string_view type) {
  const std::string range = fmt::format("{} to {}", lo, hi);
  const std::string problem = fmt::format("must be {} from {}", what, range);
  return CLI::Validator(
      [lo, hi, problem](std::string& text) -> std::string {
        T v{};
        bool ok = ParseWhole(text, v) && v >= lo && v <= hi;
        if constexpr (std::is_floating_point_v<T>) ok = ok && std::isfinite(v);
        if (ok) return {};
        return fmt::format("{} (got {})", problem, text.size() > 40 ? text.substr(0, 40) + "..." : text);
      },
      fmt::format("{} in [{}]", type, range), "RangeOf");
}

}  // namespace

CLI::Validator NumberIn(double lo, double hi) { return RangeOf(lo, hi, "a number", "NUMBER"); }

CLI::Validator IntegerIn(int64_t lo, int64_t hi) { return RangeOf(lo, hi, "a whole number", "INT"); }

Status JsonWithStdoutRefused() {
  return InvalidArgument("--json with --out -: stdout carries the data, so there is no place for the JSON summary; "
                         "drop --json, or write to a file with --out FILE and keep --json");
}

}  // namespace modelbay
