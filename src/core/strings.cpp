#include "core/strings.h"

#include <random>

#include <fmt/format.h>

namespace modelbay {

namespace {
bool IsAsciiSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
char LowerChar(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerChar(c);
  return out;
}

std::string_view TrimAscii(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && IsAsciiSpace(s[b])) ++b;
  while (e > b && IsAsciiSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerChar(a[i]) != LowerChar(b[i])) return false;
  }
  return true;
}

uint64_t RandomU64() {
  thread_local std::random_device rd;
  uint64_t v = 0;
  while (v == 0) v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return v;
}

std::string RandomHex(int bytes) {
  std::string out;
  out.reserve(static_cast<size_t>(bytes) * 2);
  uint64_t pool = 0;
  for (int i = 0; i < bytes; ++i) {
    if (i % 8 == 0) pool = RandomU64();
    out += fmt::format("{:02x}", static_cast<unsigned>(pool & 0xff));
    pool >>= 8;
  }
  return out;
}

}  // namespace modelbay
