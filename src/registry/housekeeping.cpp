// Registry housekeeping: archive, delete, alias removal, tags and
// descriptions, and the listing that reports them (layout in registry.h).
//
// The order of a delete is what keeps a crash harmless: the tombstone first
// (the version is still whole and visible), then .committed (one object:
// from here on no reader sees the version, `latest` moves down), then the
// rest of the folder. .reserved and .deleted stay, so the number is never
// handed out again and a lookup of it can say it was deleted.
#include <unistd.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/strings.h"
#include "registry/layout.h"
#include "registry/registry.h"

namespace modelbay {
using namespace registry_internal;
using nlohmann::json;

namespace {

constexpr size_t kMaxTagValueBytes = 256;
constexpr size_t kMaxDescriptionBytes = 2000;
constexpr std::string_view kJsonSuffix = ".json";

// InvalidArgument unless `text` is UTF-8 of at most `limit` bytes with no
// control character.
Status CheckText(std::string_view what, std::string_view text, size_t limit) {
  if (text.size() > limit) {
    return InvalidArgument(fmt::format("{} is {} bytes; at most {} are kept", what, text.size(), limit));
  }
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return InvalidArgument(fmt::format("{} holds a control character (\\x{:02x}); use one line of plain text", what,
                                         u));
    }
  }
  try {
    (void)json(std::string(text)).dump();
  } catch (const json::exception&) {
    return InvalidArgument(fmt::format("{} is not valid UTF-8", what));
  }
  return Status::Ok();
}

// "tags/owner.json" -> "owner"; nullopt for anything else.
std::optional<std::string> TagOfFile(std::string_view file) {
  const std::string prefix = fmt::format("{}/", kTagFolder);
  if (file.substr(0, prefix.size()) != prefix) return std::nullopt;
  file.remove_prefix(prefix.size());
  if (file.size() <= kJsonSuffix.size() || file.substr(file.size() - kJsonSuffix.size()) != kJsonSuffix) {
    return std::nullopt;
  }
  file.remove_suffix(kJsonSuffix.size());
  if (!NameProblem(file).empty()) return std::nullopt;
  return std::string(file);
}

// "tags/<key>.json", relative to the version folder.
std::string TagFile(std::string_view key) { return fmt::format("{}/{}{}", kTagFolder, key, kJsonSuffix); }

// The refusal of Archive/Delete for a version aliases point at.
Status AliasedRefusal(std::string_view what, int version, const std::vector<std::string>& aliases) {
  const std::string names = fmt::format("'{}'", fmt::join(aliases, "', '"));
  const std::string force = what == "delete" ? "--force (which removes the alias too)"
                                             : "--force (the alias keeps serving it)";
  return FailedPrecondition(fmt::format(
      "version {} is what alias {} points to; point it at another version (`modelbay models promote N --alias {}`), "
      "remove it (`modelbay models alias rm {}`) or pass {}",
      version, names, aliases.front(), aliases.front(), force));
}

}  // namespace

json VersionState::ToJson() const {
  return {{"archived", archived}, {"tags", tags}, {"description", description.empty() ? json() : json(description)}};
}

bool VersionListing::IsArchived(int version) const {
  return std::binary_search(archived.begin(), archived.end(), version);
}

VersionState VersionListing::StateOf(int version) const {
  auto it = states.find(version);
  if (it != states.end()) return it->second;
  VersionState s;
  s.archived = IsArchived(version);
  return s;
}

Status ValidateTagKey(std::string_view key) {
  if (std::string why = NameProblem(key); !why.empty()) {
    return InvalidArgument(fmt::format("tag key '{}' is not valid: {}; use 1-63 lowercase letters, digits, '-' or '_', "
                                       "starting with a letter or digit (e.g. owner, ticket)", ShowName(key), why));
  }
  return Status::Ok();
}

Result<std::string> Registry::GetCached(const ObjectInfo& object, bool& fresh) {
  fresh = false;
  {
    std::lock_guard lock(state_mu_);
    auto it = state_cache_.find(object.key);
    if (it != state_cache_.end() && it->second.first == object.etag) return it->second.second;
  }
  MB_ASSIGN_OR_RETURN(std::string bytes, store_->Get(object.key));
  fresh = true;
  std::lock_guard lock(state_mu_);
  state_cache_[object.key] = {object.etag, bytes};
  return bytes;
}

Status Registry::FillStates(const std::vector<ObjectInfo>& objects, bool with_state, bool prune,
                            VersionListing& out) {
  auto committed = [&](int v) { return std::binary_search(out.versions.begin(), out.versions.end(), v); };
  std::vector<const ObjectInfo*> state_objects;
  for (const auto& o : objects) {
    std::optional<int> v = VersionOfKey(o.key);
    if (!v || !committed(*v)) continue;
    std::string_view file = std::string_view(o.key).substr(o.key.find('/') + 1);
    if (file == kArchived) {
      out.archived.push_back(*v);
      if (with_state) out.states[*v].archived = true;
    } else if (with_state && (file == kDescriptionFile || TagOfFile(file))) {
      state_objects.push_back(&o);
    }
  }
  std::sort(out.archived.begin(), out.archived.end());
  for (auto it = out.versions.rbegin(); it != out.versions.rend(); ++it) {
    if (!out.IsArchived(*it)) {
      out.latest = *it;
      break;
    }
  }
  for (const ObjectInfo* o : state_objects) {
    bool fresh = false;
    auto bytes = GetCached(*o, fresh);
    if (!bytes.ok()) {
      if (bytes.status().code() == Code::kNotFound) continue;  // removed since the listing
      return bytes.status();
    }
    const int v = *VersionOfKey(o->key);
    std::string_view file = std::string_view(o->key).substr(o->key.find('/') + 1);
    const bool description = file == kDescriptionFile;
    const char* field = description ? "description" : "value";
    // Written by hand or by another tool: checked like a value given to `tag`.
    std::string problem;
    auto doc = ParseJsonObject(*bytes, o->key, Code::kDataLoss);
    if (!doc.ok()) {
      problem = doc.status().message();
    } else if (!doc->contains(field) || !(*doc)[field].is_string()) {
      problem = fmt::format("no \"{}\" string", field);
    } else if (Status st = CheckText(field, (*doc)[field].get<std::string>(),
                                     description ? kMaxDescriptionBytes : kMaxTagValueBytes);
               !st.ok()) {
      problem = st.message();
    }
    if (!problem.empty()) {
      if (fresh) {  // once per content, not on every refresh
        spdlog::warn("model store: ignoring {}: {} (rewrite it with `modelbay models {} {} ...`)", o->key, problem,
                     description ? "describe" : "tag", v);
      }
      continue;
    }
    std::string text = (*doc)[field].get<std::string>();
    if (description) {
      out.states[v].description = std::move(text);
    } else {
      out.states[v].tags[*TagOfFile(file)] = std::move(text);
    }
  }
  if (with_state && prune) {  // forget objects that are gone, so the cache stays as small as the state
    std::set<std::string_view> listed;
    for (const ObjectInfo* o : state_objects) listed.insert(o->key);
    std::lock_guard lock(state_mu_);
    std::erase_if(state_cache_, [&](const auto& entry) { return !listed.contains(entry.first); });
  }
  return Status::Ok();
}

Result<VersionListing> Registry::Listing(bool with_state) {
  MB_ASSIGN_OR_RETURN(auto objects, store_->List(""));
  VersionListing out;
  out.versions = CommittedVersions(objects);
  MB_RETURN_IF_ERROR(FillStates(objects, with_state, /*prune=*/true, out));
  return out;
}

Result<VersionState> Registry::State(int version) {
  MB_RETURN_IF_ERROR(ReadCommit(version).status());
  MB_ASSIGN_OR_RETURN(auto objects, store_->List(VersionKey(version, "")));
  VersionListing one;
  one.versions = {version};
  MB_RETURN_IF_ERROR(FillStates(objects, /*with_state=*/true, /*prune=*/false, one));
  return one.StateOf(version);
}

Result<std::vector<std::string>> Registry::AliasesOn(int version) {
  MB_ASSIGN_OR_RETURN(AliasTable table, Aliases());
  std::vector<std::string> out;
  for (const auto& [name, v] : table.aliases) {
    if (v == version) out.push_back(name);
  }
  return out;
}

Status Registry::PutState(int version, std::string_view file, json doc) {
  doc["updated"] = FormatIso8601(clock_());
  return store_->Put(VersionKey(version, file), doc.dump(2) + "\n");
}

Status Registry::Archive(int version, bool force) {
  MB_RETURN_IF_ERROR(ReadCommit(version).status());
  if (!force) {
    MB_ASSIGN_OR_RETURN(auto aliases, AliasesOn(version));
    if (!aliases.empty()) return AliasedRefusal("archive", version, aliases);
  }
  return PutState(version, kArchived, {{"archived", true}});
}

Status Registry::Unarchive(int version) {
  MB_RETURN_IF_ERROR(ReadCommit(version).status());
  return store_->Delete(VersionKey(version, kArchived));
}

Result<DeleteReport> Registry::Delete(int version, bool force) {
  DeleteReport report;
  const std::string folder = VersionKey(version, "");
  // The folder's objects other than .reserved and .deleted.
  auto rest = [&]() -> Result<std::vector<std::string>> {
    MB_ASSIGN_OR_RETURN(auto objects, store_->List(folder));
    std::vector<std::string> keys;
    for (const auto& o : objects) {
      std::string_view file = std::string_view(o.key).substr(folder.size());
      if (file != kReserved && file != kDeleted) keys.push_back(o.key);
    }
    return keys;
  };
  auto remove = [&](const std::vector<std::string>& keys) -> Status {
    for (const auto& key : keys) {
      MB_RETURN_IF_ERROR(store_->Delete(key).WithContext(fmt::format("deleting version {}", version)));
    }
    return Status::Ok();
  };
  // Step 1: a committed version, or the remainder of a delete that stopped.
  if (auto commit = ReadCommit(version); !commit.ok()) {
    if (commit.status().code() != Code::kNotFound) return commit.status();
    MB_ASSIGN_OR_RETURN(auto tomb, store_->Head(VersionKey(version, kDeleted)));
    if (!tomb) return commit.status();
    MB_ASSIGN_OR_RETURN(auto left, rest());
    if (left.empty()) return commit.status();  // deleted whole before: "version N was deleted"
    report.finished_earlier_delete = true;
    MB_RETURN_IF_ERROR(remove(left));
    return report;
  }
  // Step 2: the aliases on it.
  MB_ASSIGN_OR_RETURN(auto aliases, AliasesOn(version));
  if (!aliases.empty() && !force) return AliasedRefusal("delete", version, aliases);
  for (const std::string& alias : aliases) {
    MB_RETURN_IF_ERROR(store_->Delete(AliasKey(alias)));
    report.removed_aliases.push_back(alias);
  }
  // Step 3: tombstone, commit marker, the rest.
  json tomb = {{"deleted", FormatIso8601(clock_())}, {"host", HostName()}, {"pid", ::getpid()}};
  MB_RETURN_IF_ERROR(store_->Put(VersionKey(version, kDeleted), tomb.dump(2) + "\n"));
  MB_RETURN_IF_ERROR(store_->Delete(VersionKey(version, kCommitted)));
  MB_ASSIGN_OR_RETURN(auto left, rest());
  MB_RETURN_IF_ERROR(remove(left));
  spdlog::debug("deleted version {} in {}", version, store_->Describe());
  return report;
}

Status Registry::RemoveAlias(std::string_view alias) {
  MB_RETURN_IF_ERROR(ValidateAliasName(alias));
  const std::string key = AliasKey(alias);
  MB_ASSIGN_OR_RETURN(auto head, store_->Head(key));
  if (!head) {
    MB_ASSIGN_OR_RETURN(AliasTable table, Aliases());
    std::vector<std::string> names;
    for (const auto& [name, v] : table.aliases) names.push_back(name);
    return NotFound(fmt::format("no alias '{}' is set (aliases: {})", alias,
                                names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "))));
  }
  return store_->Delete(key);
}

Status Registry::SetTags(int version, const std::map<std::string, std::string>& tags) {
  if (tags.empty()) return InvalidArgument("no tag given; write KEY=VALUE (KEY= removes the tag)");
  for (const auto& [key, value] : tags) {
    MB_RETURN_IF_ERROR(ValidateTagKey(key));
    MB_RETURN_IF_ERROR(CheckText(fmt::format("the value of tag '{}'", key), value, kMaxTagValueBytes));
  }
  MB_RETURN_IF_ERROR(ReadCommit(version).status());
  for (const auto& [key, value] : tags) {
    Status st = value.empty() ? store_->Delete(VersionKey(version, TagFile(key)))
                              : PutState(version, TagFile(key), {{"value", value}});
    MB_RETURN_IF_ERROR(st);
  }
  return Status::Ok();
}

Status Registry::Describe(int version, std::string_view text) {
  MB_RETURN_IF_ERROR(CheckText("the description", text, kMaxDescriptionBytes));
  MB_RETURN_IF_ERROR(ReadCommit(version).status());
  if (text.empty()) return store_->Delete(VersionKey(version, kDescriptionFile));
  return PutState(version, kDescriptionFile, {{"description", std::string(text)}});
}

}  // namespace modelbay
