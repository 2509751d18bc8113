#include "registry/layout.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/hash.h"
#include "registry/model_name.h"
#include "registry/registry.h"

namespace modelbay::registry_internal {

std::string VersionKey(int version, std::string_view file) { return fmt::format("{}/{}", version, file); }

std::string AliasKey(std::string_view alias) { return fmt::format("{}/{}.json", kAliasFolder, alias); }

std::optional<int> VersionOfKey(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;  // a file at the root
  std::string_view folder = key.substr(0, slash);
  std::optional<int> v = ParseVersionNumber(folder);
  if (!v && folder != kAliasFolder && folder != kNamedModelsFolder) {
    spdlog::debug("model store: ignoring '{}': '{}' is not a version folder (1, 2, 3, ... without leading zeros)",
                  key, folder);
  }
  return v;
}

int HighestFolder(const std::vector<ObjectInfo>& objects) {
  int highest = 0;
  for (const auto& o : objects) {
    if (auto v = VersionOfKey(o.key)) highest = std::max(highest, *v);
  }
  return highest;
}

std::vector<int> CommittedVersions(const std::vector<ObjectInfo>& objects) {
  std::vector<int> out;
  for (const auto& o : objects) {
    std::string_view key = o.key;
    size_t slash = key.find('/');
    if (slash == std::string_view::npos || key.substr(slash + 1) != kCommitted) continue;
    if (auto v = VersionOfKey(key)) out.push_back(*v);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string FormatVersions(const std::vector<int>& versions) {
  if (versions.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < versions.size();) {
    size_t j = i;
    while (j + 1 < versions.size() && versions[j + 1] == versions[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    if (j == i) {
      out += std::to_string(versions[i]);
    } else {
      out += fmt::format("{}{}{}", versions[i], j == i + 1 ? ", " : "-", versions[j]);
    }
    i = j + 1;
  }
  return out;
}

nlohmann::json Checksum(std::string_view bytes) {
  return {{"sha256", Sha256Hex(bytes)}, {"size", bytes.size()}};
}

Status VerifyChecksum(std::string_view key, std::string_view bytes, const nlohmann::json& expected) {
  if (!expected.is_object() || !expected.contains("sha256") || !expected["sha256"].is_string()) {
    return DataLoss(fmt::format("{}: no checksum is recorded for it; the version is damaged; re-import or retrain",
                                key));
  }
  std::string want = expected["sha256"].get<std::string>();
  std::string got = Sha256Hex(bytes);
  if (want == got) return Status::Ok();
  std::string sizes;
  if (expected.contains("size") && expected["size"].is_number_unsigned() &&
      expected["size"].get<uint64_t>() != bytes.size()) {
    sizes = fmt::format("; {} bytes, expected {}", bytes.size(), expected["size"].get<uint64_t>());
  }
  return DataLoss(fmt::format(
      "{}: sha256 mismatch (expected {}, got {}{}): the artifact was modified or truncated; re-import or retrain",
      key, want, got, sizes));
}

std::string NameProblem(std::string_view name) {
  if (name.empty() || name.size() > 63) return "wrong length";
  if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return "a number would be read as a version";
  }
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) return "it must start with a lowercase letter or a digit";
  for (char c : name) {
    if (!lower_or_digit(c) && c != '-' && c != '_') return fmt::format("'{}' is not allowed", ShowName({&c, 1}));
  }
  return {};
}

std::string ShowName(std::string_view name) {
  constexpr size_t kMax = 80;
  std::string out;
  for (size_t i = 0; i < name.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (name.size() > kMax) out += "...";
  return out;
}

Result<nlohmann::json> ParseJsonObject(std::string_view text, std::string_view what, Code code) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status(code, fmt::format("{} is not valid JSON (byte {})", what, e.byte));
  }
  if (!doc.is_object()) return Status(code, fmt::format("{} is not a JSON object", what));
  return doc;
}

}  // namespace modelbay::registry_internal
