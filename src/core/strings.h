// Small ASCII string helpers shared by every subsystem (one copy of each:
// HTTP header names, config files and credential files all need them).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace modelbay {

// `s` with A-Z mapped to a-z; other bytes unchanged (no locale).
std::string AsciiLower(std::string_view s);

// `s` without leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r).
std::string_view TrimAscii(std::string_view s);

// True when `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// `bytes` random bytes from the OS's entropy source as 2*bytes lower-case hex
// digits: the one generator behind writer ids, request ids, temp names and
// job ids (not a cryptographic token API; fine for names that must not collide).
std::string RandomHex(int bytes);

// A random 64-bit value from the same source (never 0).
uint64_t RandomU64();

}  // namespace modelbay
