// Aliases and version specs: "latest" (implicit), named aliases stored as
// aliases/<name>.json, and Resolve() which turns any spec into a version.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "registry/layout.h"
#include "registry/registry.h"

namespace modelbay {
using namespace registry_internal;
using nlohmann::json;

namespace {

constexpr std::string_view kLatest = kLatestAlias;
constexpr std::string_view kProduction = kProductionAlias;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The alias file's "version": a number or a version string, in range.
std::optional<int> AliasTarget(const json& v) {
  if (v.is_number_integer()) {
    int64_t n = v.get<int64_t>();
    if (n >= 1 && n <= kMaxVersionNumber) return static_cast<int>(n);
    return std::nullopt;
  }
  if (v.is_string()) return ParseVersionNumber(v.get<std::string>());
  return std::nullopt;
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

std::optional<int> ParseVersionNumber(std::string_view text) {
  if (text.empty() || text.size() > 9 || text.front() == '0') return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1) return std::nullopt;
  return value;
}

Result<VersionSpec> ParseVersionSpec(std::string_view spec) {
  constexpr std::string_view kHow =
      "a version is a number (1, 2, 3, ... without leading zeros or spaces, at most 999999999), 'latest' or an "
      "alias name (lowercase letters, digits, '-', '_')";
  VersionSpec out;
  if (AllDigits(spec)) {
    std::optional<int> n = ParseVersionNumber(spec);
    if (!n) {
      std::string_view why = spec.front() == '0' ? "leading zeros are not allowed"
                             : spec.size() > 9   ? "the number is too large"
                                                 : "it is not a version number";
      return InvalidArgument(fmt::format("'{}' is not a valid version: {}; {}", spec, why, kHow));
    }
    out.number = *n;
    return out;
  }
  if (spec == kLatest) {
    out.kind = VersionSpec::Kind::kLatest;
    return out;
  }
  if (Status st = ValidateAliasName(spec); !st.ok()) {
    return InvalidArgument(fmt::format("'{}' is not a valid version: {}", spec, kHow));
  }
  out.kind = VersionSpec::Kind::kAlias;
  out.alias = std::string(spec);
  return out;
}

Status ValidateAliasName(std::string_view alias) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(fmt::format("alias '{}' is not valid: {}; use 1-63 lowercase letters, digits, '-' or "
                                       "'_', starting with a letter or digit (e.g. production, staging)",
                                       ShowName(alias), why));
  };
  if (alias == kLatest) return bad("'latest' always means the highest version and cannot be set");
  if (std::string why = NameProblem(alias); !why.empty()) return bad(why);
  return Status::Ok();
}

Result<std::optional<int>> Registry::GetAlias(std::string_view alias) {
  if (alias == kLatest) {
    MB_ASSIGN_OR_RETURN(VersionListing listing, Listing(/*with_state=*/false));
    if (listing.latest == 0) return std::optional<int>();
    return std::optional<int>(listing.latest);
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
  std::optional<int> version = AliasTarget((*doc)["version"]);
  if (!version) {
    return DataLoss(fmt::format("{} has no valid \"version\" (a number 1-{}); {}", key, kMaxVersionNumber, fix));
  }
  return version;
}

Result<Registry::AliasTable> Registry::Aliases() {
  AliasTable out;
  MB_ASSIGN_OR_RETURN(auto objects, store_->List(fmt::format("{}/", kAliasFolder)));
  for (const auto& o : objects) {
    std::string_view name = std::string_view(o.key).substr(kAliasFolder.size() + 1);
    if (name.size() <= 5 || name.substr(name.size() - 5) != ".json") continue;
    name.remove_suffix(5);
    if (!ValidateAliasName(name).ok()) {
      spdlog::debug("model store: ignoring '{}': not a valid alias name", o.key);
      continue;
    }
    auto version = GetAlias(name);
    if (!version.ok()) {
      // One damaged file must not hide the other aliases; unreachable
      // stores still fail the listing.
      if (version.status().code() != Code::kDataLoss) return version.status();
      out.damaged.emplace(std::string(name), version.status().message());
      continue;
    }
    if (*version) out.aliases.emplace(std::string(name), **version);
  }
  return out;
}

Status Registry::SetAlias(std::string_view alias, int version, std::string_view reason) {
  MB_RETURN_IF_ERROR(ValidateAliasName(alias));
  // The same rule as Resolve: a committed marker that names this version.
  if (auto commit = ReadCommit(version); !commit.ok()) {
    return commit.status().WithContext(fmt::format("cannot point '{}' at version {}", alias, version));
  }
  auto previous = GetAlias(alias);  // a damaged alias file is simply replaced
  json doc = {{"version", version},
              {"updated", FormatIso8601(clock_())},
              {"reason", std::string(reason)},
              {"previous", previous.ok() && *previous ? json(**previous) : json()}};
  return store_->Put(AliasKey(alias), doc.dump(2) + "\n");
}

Result<int> Registry::Resolve(std::string_view spec) {
  MB_ASSIGN_OR_RETURN(VersionSpec parsed, ParseVersionSpec(spec));
  switch (parsed.kind) {
    case VersionSpec::Kind::kNumber:
      MB_RETURN_IF_ERROR(ReadCommit(parsed.number).status());
      return parsed.number;
    case VersionSpec::Kind::kLatest: {
      MB_ASSIGN_OR_RETURN(VersionListing listing, Listing(/*with_state=*/false));
      if (listing.latest == 0 && !listing.versions.empty()) {
        return FailedPrecondition(fmt::format("every version is archived ({}), so 'latest' names none: name one by "
                                              "number or run `modelbay models unarchive N`",
                                              FormatVersions(listing.versions)));
      }
      if (listing.latest == 0) {
        return FailedPrecondition("there are no versions yet: run `modelbay train` or `modelbay models import "
                                  "BUNDLE.zip`");
      }
      return listing.latest;
    }
    case VersionSpec::Kind::kAlias: break;
  }
  MB_ASSIGN_OR_RETURN(auto version, GetAlias(parsed.alias));
  if (!version) {
    if (spec == kProduction) {
      return NotFound("no version is promoted to production yet; run `modelbay models promote N`");
    }
    MB_ASSIGN_OR_RETURN(auto table, Aliases());
    MB_ASSIGN_OR_RETURN(std::string known, VersionsText());
    return NotFound(fmt::format("no alias '{}' is set ({}; {}); set it with `modelbay models promote N --alias {}`",
                                spec, AliasList(table.aliases), known, spec));
  }
  auto commit = ReadCommit(*version);
  if (!commit.ok()) {
    return commit.status().WithContext(fmt::format("alias '{}' points to version {}", spec, *version));
  }
  return *version;
}

}  // namespace modelbay
