// "Did you mean": the nearest of a few known names to a word the user typed,
// by edit distance. Used for XGBoost parameter names and CLI typos. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelbay {

// Optimal string alignment distance (Levenshtein plus a swap of two
// neighbouring characters, so "trian" is 1 from "train"). ASCII case-sensitive.
size_t EditDistance(std::string_view a, std::string_view b);

// The name in `names` nearest to `word` when it is close enough to be a
// typo: at most 1 edit for words up to 4 characters, 2 up to 8, 3 beyond.
// Ties go to the earlier name.
std::optional<std::string> NearestName(std::string_view word, const std::vector<std::string>& names);

}  // namespace modelbay
