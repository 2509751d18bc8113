// Aliases and version specs: "latest" (implicit), named aliases stored as
// aliases/<name>.json, and Resolve() which turns any spec into a version.
#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "registry/layout.h"
#include "registry/registry.h"

namespace modelbay {
using namespace registry_internal;
using nlohmann::json;

namespace {

constexpr std::string_view kLatest = "latest";
constexpr std::string_view kProduction = "production";

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string AliasList(const std::map<std::string, int>& aliases) {
  if (aliases.empty()) return "no aliases are set";
  std::string out = "aliases: ";
  bool first = true;
  for (const auto& [name, version] : aliases) {
    out += fmt::format("{}{} -> {}", first ? "" : ", ", name, version);
    first = false;
  }
  return out;
}

}  // namespace

Status ValidateAliasName(std::string_view alias) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("alias '{}' is not valid: {}; use 1-63 lowercase letters, digits, '-' or "
                                       "'_', starting with a letter or digit (e.g. production, staging)",
                                       alias, why));
  };
  if (alias.empty() || alias.size() > 63) return bad("wrong length");
  if (alias == kLatest) return bad("'latest' always means the highest version and cannot be set");
  if (AllDigits(alias)) return bad("a number would be read as a version");
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(alias.front())) return bad("it must start with a lowercase letter or a digit");
  for (char c : alias) {
    if (!lower_or_digit(c) && c != '-' && c != '_') return bad(fmt::format("'{}' is not allowed", c));
  }
  return Status::Ok();
}

Result<std::optional<int>> Registry::GetAlias(std::string_view alias) {
  if (alias == kLatest) {
    MB_ASSIGN_OR_RETURN(auto versions, ListVersions());
    if (versions.empty()) return std::optional<int>();
    return std::optional<int>(versions.back());
  }
  MB_RETURN_IF_ERROR(ValidateAliasName(alias));
  std::string key = AliasKey(alias);
  auto bytes = store_->Get(key);
  if (!bytes.ok()) {
    if (bytes.status().code() == Code::kNotFound) return std::optional<int>();
    return bytes.status();
  }
  auto fix = fmt::format("run `modelbay models promote N --alias {}` to rewrite it", alias);
  auto doc = ParseJsonObject(*bytes, key, Code::kDataLoss);
  if (!doc.ok()) return doc.status().WithContext(fix);
  const json& v = (*doc)["version"];
  std::optional<int> version;
  if (v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= kMaxVersion) version = v.get<int>();
  if (v.is_string()) version = ParseVersionNumber(v.get<std::string>());
  if (!version) return DataLoss(fmt::format("{} has no valid \"version\"; {}", key, fix));
  return version;
}

Result<std::map<std::string, int>> Registry::Aliases() {
  std::map<std::string, int> out;
  MB_ASSIGN_OR_RETURN(auto objects, store_->List(fmt::format("{}/", kAliasFolder)));
  for (const auto& o : objects) {
    std::string_view name = std::string_view(o.key).substr(kAliasFolder.size() + 1);
    if (name.size() <= 5 || name.substr(name.size() - 5) != ".json") continue;
    name.remove_suffix(5);
    if (!ValidateAliasName(name).ok()) {
      spdlog::debug("model store: ignoring '{}': not a valid alias name", o.key);
      continue;
    }
    MB_ASSIGN_OR_RETURN(auto version, GetAlias(name));
    if (version) out.emplace(std::string(name), *version);
  }
  return out;
}

Status Registry::SetAlias(std::string_view alias, int version, std::string_view reason) {
  MB_RETURN_IF_ERROR(ValidateAliasName(alias));
  MB_ASSIGN_OR_RETURN(auto committed, store_->Head(VersionKey(version, kCommitted)));
  if (!committed) {
    MB_ASSIGN_OR_RETURN(std::string known, VersionsText());
    return NotFound(fmt::format("cannot point '{}' at version {}: it is not a complete version; {}", alias,
                                version, known));
  }
  auto previous = GetAlias(alias);  // a damaged alias file is simply replaced
  json doc = {{"version", version},
              {"updated", FormatIso8601(clock_())},
              {"reason", std::string(reason)},
              {"previous", previous.ok() && *previous ? json(**previous) : json()}};
  return store_->Put(AliasKey(alias), doc.dump(2) + "\n");
}

Result<int> Registry::Resolve(std::string_view spec) {
  if (AllDigits(spec)) {
    std::optional<int> version = ParseVersionNumber(spec);
    if (!version) {
      return InvalidArgument(fmt::format("'{}' is not a version number: write 1, 2, 3, ... without leading zeros",
                                         spec));
    }
    MB_RETURN_IF_ERROR(ReadCommit(*version).status());
    return *version;
  }
  if (spec == kLatest) {
    MB_ASSIGN_OR_RETURN(auto latest, GetAlias(kLatest));
    if (!latest) {
      return FailedPrecondition("there are no versions yet: run `modelbay train` or `modelbay models import "
                                "BUNDLE.zip`");
    }
    return *latest;
  }
  if (!ValidateAliasName(spec).ok()) {
    MB_ASSIGN_OR_RETURN(std::string known, VersionsText());
    return NotFound(fmt::format("'{}' is neither a version number, 'latest' nor an alias name; {}", spec, known));
  }
  MB_ASSIGN_OR_RETURN(auto version, GetAlias(spec));
  if (!version) {
    if (spec == kProduction) {
      return NotFound("no version is promoted to production yet; run `modelbay models promote N`");
    }
    MB_ASSIGN_OR_RETURN(auto aliases, Aliases());
    MB_ASSIGN_OR_RETURN(std::string known, VersionsText());
    return NotFound(fmt::format("no alias '{}' is set ({}; {}); set it with `modelbay models promote N --alias {}`",
                                spec, AliasList(aliases), known, spec));
  }
  auto commit = ReadCommit(*version);
  if (!commit.ok()) {
    return commit.status().WithContext(fmt::format("alias '{}' points to version {}", spec, *version));
  }
  return *version;
}

}  // namespace modelbay
