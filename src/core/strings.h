// Small ASCII string helpers shared by every subsystem (one copy of each:
// HTTP header names, config files and credential files all need them), and
// the host name. Thread-safe. Random ids come from core/hash.h (RandomHex).
#pragma once

#include <string>
#include <string_view>

namespace modelbay {

// Appends `v` exactly as fmt's "{}" writes a double (the shortest text that
// reads back as v), with a fast path for whole numbers of magnitude below
// 1e15, which "{}" writes as plain integers: the prediction log and the
// responses write many such cells.
void AppendShortestNumber(double v, std::string& out);

// `s` with A-Z mapped to a-z; other bytes unchanged (no locale).
std::string AsciiLower(std::string_view s);

// `s` without leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r).
std::string_view TrimAscii(std::string_view s);

// True when `a` and `b` are equal ignoring ASCII case.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The machine's host name ("unknown" when it cannot be read): one spelling
// for lease owners, writer ids and registry reservations.
std::string HostName();

}  // namespace modelbay
