// How text cells read as values, the same way at training and at inference.
//
// Missing: an empty cell or one of the usual NA spellings (after trimming
// spaces): NA, N/A, n/a, NaN, nan, null, NULL, None, <NA>. A number: a
// finite decimal (optional sign, exponent), spaces around it allowed;
// "inf" and hexadecimal are text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace modelbay {

std::string_view TrimSpaces(std::string_view s);
bool IsMissingText(std::string_view s);
// nullopt when `s` is not a finite number. `s` must not be missing.
std::optional<double> ParseNumber(std::string_view s);
// Shortest text that reads back as `v` ("2" for 2.0, "0.1" for 0.1).
std::string FormatNumber(double v);

}  // namespace modelbay
