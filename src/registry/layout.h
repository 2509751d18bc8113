// Internal to the registry: key names, strict parsing of version folders,
// checksum verification and the wording shared by error messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/store.h"

namespace modelbay::registry_internal {

inline constexpr std::string_view kReserved = ".reserved";
inline constexpr std::string_view kCommitted = ".committed";
inline constexpr std::string_view kAliasFolder = "aliases";
// Housekeeping state (registry.h).
inline constexpr std::string_view kArchived = ".archived";
inline constexpr std::string_view kDeleted = ".deleted";
inline constexpr std::string_view kTagFolder = "tags";
inline constexpr std::string_view kDescriptionFile = "description.json";

std::string VersionKey(int version, std::string_view file);  // "3/model.json"
std::string AliasKey(std::string_view alias);                // "aliases/production.json"

// The version folder a key lives in, or nullopt (logged at debug level)
// when the first segment is not a strict version number.
std::optional<int> VersionOfKey(std::string_view key);
// Highest version folder holding any object; 0 when none.
int HighestFolder(const std::vector<ObjectInfo>& objects);
// Versions holding a commit marker, ascending.
std::vector<int> CommittedVersions(const std::vector<ObjectInfo>& objects);

// "1-3, 5, 8" (ranges collapsed) or "none".
std::string FormatVersions(const std::vector<int>& versions);

// {"sha256": hex, "size": n} for bytes.
nlohmann::json Checksum(std::string_view bytes);
// DataLoss naming `key` when `bytes` do not match `expected` ({sha256, size}).
Status VerifyChecksum(std::string_view key, std::string_view bytes, const nlohmann::json& expected);

// Why `name` is not a valid alias or model name ([a-z0-9][a-z0-9_-]{0,62},
// not a number), or "" when it is. One rule for both (registry.h,
// model_name.h); each caller words its own error around the reason.
std::string NameProblem(std::string_view name);
// `name` fit for an error message: printable ASCII as is, every other byte
// as \xNN, at most 80 bytes of it (then "...").
std::string ShowName(std::string_view name);

// Strict JSON object parse; `what` names the document in errors.
Result<nlohmann::json> ParseJsonObject(std::string_view text, std::string_view what, Code code);

}  // namespace modelbay::registry_internal
