#include "model/values.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace modelbay {

std::string_view TrimSpaces(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool IsMissingText(std::string_view s) {
  static constexpr std::array<std::string_view, 9> kMissing = {"NA",   "N/A",  "n/a",  "NaN", "nan",
                                                                "null", "NULL", "None", "<NA>"};
  s = TrimSpaces(s);
  if (s.empty()) return true;
  if (s.size() > 4) return false;
  for (auto m : kMissing) {
    if (s == m) return true;
  }
  return false;
}

std::optional<double> ParseNumber(std::string_view s) {
  s = TrimSpaces(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  // Fast path: an integer of at most 15 digits is exact in a double, and is
  // the value from_chars reads ("-0" is -0.0).
  {
    const bool negative = s.front() == '-';
    const std::string_view digits = negative ? s.substr(1) : s;
    if (!digits.empty() && digits.size() <= 15 &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      uint64_t u = 0;
      for (char c : digits) u = u * 10 + static_cast<uint64_t>(c - '0');
      const double d = static_cast<double>(u);
      return negative ? -d : d;
    }
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string FormatNumber(double v) {
  std::array<char, 32> buf;
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return "nan";
  return std::string(buf.data(), ptr);
}

}  // namespace modelbay
