#include "registry/registry.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/hash.h"
#include "core/strings.h"
#include "model/artifacts.h"
#include "model/baseline.h"
#include "registry/layout.h"

namespace modelbay {
using namespace registry_internal;
using nlohmann::json;

namespace {

constexpr int kMaxReserveAttempts = 1000;
constexpr int kRelistEvery = 16;

// The artifact of a committed version; a missing one is damage, not absence.
Result<std::string> GetArtifact(Store& store, int version, std::string_view file) {
  std::string key = VersionKey(version, file);
  auto bytes = store.Get(key);
  if (!bytes.ok() && bytes.status().code() == Code::kNotFound) {
    return DataLoss(fmt::format("{}: missing although version {} is committed; the version is damaged; "
                                "re-import or retrain", key, version));
  }
  return bytes;
}

}  // namespace

Registry::Registry(std::shared_ptr<Store> models, Clock clock)
    : store_(std::move(models)), clock_(std::move(clock)) {}

Result<int> Registry::Reserve() {
  MB_ASSIGN_OR_RETURN(auto objects, store_->List(""));
  int next = HighestFolder(objects) + 1;
  // The token makes this claim's bytes unique: a create-if-absent retry that
  // finds the key taken recognises its own write by the content (Store
  // contract), so two publishers must never send identical claims.
  json claim = {{"reserved", FormatIso8601(clock_())}, {"host", HostName()}, {"pid", ::getpid()},
                {"token", RandomHex(16)}};
  std::string body = claim.dump() + "\n";
  for (int attempt = 1; attempt <= kMaxReserveAttempts; ++attempt) {
    if (next > kMaxVersionNumber) return ResourceExhausted(fmt::format("{} has run out of version numbers", store_->Describe()));
    Status st = store_->PutIfAbsent(VersionKey(next, kReserved), body);
    if (st.ok()) return next;
    if (st.code() != Code::kAlreadyExists) return st.WithContext(fmt::format("cannot reserve version {}", next));
    ++next;
    if (attempt % kRelistEvery == 0) {  // far behind the others: jump ahead
      MB_ASSIGN_OR_RETURN(objects, store_->List(""));
      next = std::max(next, HighestFolder(objects) + 1);
    }
  }
  return Unavailable(fmt::format("could not reserve a version number in {} after {} attempts (too many concurrent "
                                 "publishers); try again", store_->Describe(), kMaxReserveAttempts));
}

Result<int> Registry::Publish(std::string_view model, std::string_view preprocessor, json metadata,
                              std::string_view baseline) {
  return PublishChecked(model, preprocessor, std::move(metadata), "the new version", baseline);
}

Result<int> Registry::PublishChecked(std::string_view model, std::string_view preprocessor, json metadata,
                                     std::string_view source, std::string_view baseline) {
  if (metadata.is_null()) metadata = json::object();
  if (!metadata.is_object()) return InvalidArgument("version metadata must be a JSON object");
  // A model is untrusted input: validated before it can become a version
  // (and again whenever it is loaded).
  auto checked = CheckArtifacts(model, preprocessor, source);
  if (!checked.ok()) return InvalidArgument(fmt::format("{}; nothing was registered", checked.status().message()));
  // A baseline is checked as the server will read it: one it would refuse
  // does not become part of a version.
  if (!baseline.empty()) {
    if (auto parsed = ParseBaseline(baseline, checked->preprocessor, fmt::format("{} baseline.json", source));
        !parsed.ok()) {
      return InvalidArgument(fmt::format("{}; nothing was registered", parsed.status().message()));
    }
  }
  MB_ASSIGN_OR_RETURN(int version, Reserve());
  auto context = [&](const Status& st) { return st.WithContext(fmt::format("publishing version {}", version)); };

  metadata["version"] = version;
  metadata["created"] = FormatIso8601(clock_());
  metadata["artifacts"] = {{std::string(kModelFile), Checksum(model)},
                           {std::string(kPreprocessorFile), Checksum(preprocessor)}};
  if (!baseline.empty()) metadata["artifacts"][std::string(kBaselineFile)] = Checksum(baseline);
  std::string meta_bytes = metadata.dump(2) + "\n";
  // The bundle is zipped on another core while the files are written.
  Result<std::string> bundle = Internal("bundle not written");
  {
    std::jthread zipper([&] {
      bundle = WriteBundle({std::string(model), std::string(preprocessor), meta_bytes, std::string(baseline)});
    });
    if (!baseline.empty()) {
      if (Status st = store_->Put(VersionKey(version, kBaselineFile), baseline); !st.ok()) return context(st);
    }
    for (const auto& [file, bytes] : std::array<std::pair<std::string_view, std::string_view>, 3>{
             {{kModelFile, model}, {kPreprocessorFile, preprocessor}, {kMetadataFile, meta_bytes}}}) {
      if (Status st = store_->Put(VersionKey(version, file), bytes); !st.ok()) return context(st);
    }
  }
  if (!bundle.ok()) return context(bundle.status());
  std::string bundle_name = BundleName(version);
  if (Status st = store_->Put(VersionKey(version, bundle_name), *bundle); !st.ok()) return context(st);

  json commit = {{"version", version},
                 {"committed", FormatIso8601(clock_())},
                 {std::string(kMetadataFile), Checksum(meta_bytes)},
                 {bundle_name, Checksum(*bundle)}};
  if (Status st = store_->PutIfAbsent(VersionKey(version, kCommitted), commit.dump(2) + "\n"); !st.ok()) {
    return context(st);
  }
  spdlog::debug("published version {} in {}", version, store_->Describe());
  return version;
}

Result<std::vector<int>> Registry::ListVersions() {
  MB_ASSIGN_OR_RETURN(auto objects, store_->List(""));
  return CommittedVersions(objects);
}

Result<std::string> Registry::VersionsText() {
  MB_ASSIGN_OR_RETURN(auto versions, ListVersions());
  if (versions.empty()) return std::string("there are no versions yet: run `modelbay train`");
  return fmt::format("versions: {}", FormatVersions(versions));
}

Result<json> Registry::ReadCommit(int version) {
  std::string key = VersionKey(version, kCommitted);
  auto bytes = store_->Get(key);
  if (!bytes.ok()) {
    if (bytes.status().code() != Code::kNotFound) return bytes.status();
    MB_ASSIGN_OR_RETURN(std::string known, VersionsText());
    MB_ASSIGN_OR_RETURN(auto deleted, store_->Head(VersionKey(version, kDeleted)));
    if (deleted) return NotFound(fmt::format("version {} was deleted; {}", version, known));
    MB_ASSIGN_OR_RETURN(auto reserved, store_->Head(VersionKey(version, kReserved)));
    if (reserved) {
      return NotFound(fmt::format("version {} is not complete (still being written, or its training stopped "
                                  "half-way); {}", version, known));
    }
    return NotFound(fmt::format("version {} does not exist; {}", version, known));
  }
  MB_ASSIGN_OR_RETURN(json commit, ParseJsonObject(*bytes, key, Code::kDataLoss));
  // A folder copied or linked by hand (`cp -r 6 7`) carries another
  // version's marker: it is not version `version`.
  const json& recorded = commit["version"];
  if (!recorded.is_number_integer() || recorded.get<int64_t>() != version) {
    return DataLoss(fmt::format("{} says it is version {}, not {}: the folder was copied, renamed or linked by "
                                "hand; remove it (versions are made by `modelbay train` or `models import`)",
                                key, recorded.dump(), version));
  }
  return commit;
}

Result<json> Registry::Metadata(int version) {
  MB_ASSIGN_OR_RETURN(json commit, ReadCommit(version));
  MB_ASSIGN_OR_RETURN(std::string bytes, GetArtifact(*store_, version, kMetadataFile));
  std::string key = VersionKey(version, kMetadataFile);
  MB_RETURN_IF_ERROR(VerifyChecksum(key, bytes, commit[std::string(kMetadataFile)]));
  return ParseJsonObject(bytes, key, Code::kDataLoss);
}

Result<VersionArtifacts> Registry::Fetch(int version) {
  VersionArtifacts out;
  MB_ASSIGN_OR_RETURN(out.metadata, Metadata(version));
  const json& recorded = out.metadata["artifacts"];
  for (auto [file, slot] : std::array<std::pair<std::string_view, std::string*>, 2>{
           {{kModelFile, &out.model}, {kPreprocessorFile, &out.preprocessor}}}) {
    MB_ASSIGN_OR_RETURN(*slot, GetArtifact(*store_, version, file));
    std::string name(file);
    MB_RETURN_IF_ERROR(VerifyChecksum(VersionKey(version, file), *slot,
                                      recorded.is_object() && recorded.contains(name) ? recorded[name] : json()));
  }
  MB_RETURN_IF_ERROR(FetchBaseline(version, recorded, out.baseline));
  return out;
}

Status Registry::FetchBaseline(int version, const json& recorded, BaselineArtifact& out) {
  const std::string name(kBaselineFile);
  out.listed = recorded.is_object() && recorded.contains(name);
  if (!out.listed) return Status::Ok();
  const std::string key = VersionKey(version, kBaselineFile);
  auto bytes = store_->Get(key);
  if (!bytes.ok()) {
    if (bytes.status().code() != Code::kNotFound) return bytes.status();  // the store, not the version
    out.problem = fmt::format("{} is listed in the metadata but missing", key);
    return Status::Ok();
  }
  if (Status st = VerifyChecksum(key, *bytes, recorded[name]); !st.ok()) {
    out.problem = st.message();
    return Status::Ok();
  }
  out.bytes = std::move(*bytes);
  return Status::Ok();
}

Result<std::string> Registry::Bundle(int version) {
  MB_ASSIGN_OR_RETURN(json commit, ReadCommit(version));
  std::string name = BundleName(version);
  MB_ASSIGN_OR_RETURN(std::string bytes, GetArtifact(*store_, version, name));
  MB_RETURN_IF_ERROR(VerifyChecksum(VersionKey(version, name), bytes, commit[name]));
  return bytes;
}

Result<std::optional<int>> Registry::FindImport(std::string_view sha) {
  MB_ASSIGN_OR_RETURN(auto versions, ListVersions());
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    auto meta = Metadata(*it);
    if (!meta.ok()) {
      if (meta.status().code() == Code::kUnavailable) return meta.status();
      spdlog::debug("looking for an earlier import: skipping version {}: {}", *it, meta.status().message());
      continue;
    }
    auto from = meta->find("imported_from");
    if (from != meta->end() && from->is_object() && from->value("bundle_sha256", json()) == json(sha)) {
      return std::optional<int>(*it);
    }
  }
  return std::optional<int>();
}

Result<Registry::ImportOutcome> Registry::Import(std::string_view zip_bytes, std::string_view trigger,
                                                 std::string_view source, bool duplicate) {
  MB_ASSIGN_OR_RETURN(BundleFiles files, ReadBundle(zip_bytes, source, limits_));
  MB_ASSIGN_OR_RETURN(json metadata, ParseJsonObject(files.metadata, fmt::format("{}: metadata.json", source),
                                                     Code::kInvalidArgument));
  const json& recorded = metadata["artifacts"];
  if (!recorded.is_object()) {
    return InvalidArgument(fmt::format("{}: metadata.json records no artifact checksums (\"artifacts\"); only "
                                       "bundles made by modelbay (model_af_<N>.zip) can be imported", source));
  }
  for (auto [file, bytes] : std::array<std::pair<std::string_view, const std::string*>, 3>{
           {{kModelFile, &files.model}, {kPreprocessorFile, &files.preprocessor}, {kBaselineFile, &files.baseline}}}) {
    std::string name(file);
    if (bytes == &files.baseline && bytes->empty()) continue;  // a bundle without a baseline
    MB_RETURN_IF_ERROR(VerifyChecksum(fmt::format("{}: {}", source, name), *bytes,
                                      recorded.contains(name) ? recorded[name] : json()));
  }
  const std::string sha = Sha256Hex(zip_bytes);
  if (!duplicate) {
    MB_ASSIGN_OR_RETURN(std::optional<int> earlier, FindImport(sha));
    if (earlier) return ImportOutcome{*earlier, true};
  }
  json origin = {{"bundle_sha256", sha}};
  if (metadata.contains("version")) origin["version"] = metadata["version"];
  if (metadata.contains("created")) origin["created"] = metadata["created"];
  metadata["imported_from"] = std::move(origin);
  metadata["trigger"] = std::string(trigger);
  MB_ASSIGN_OR_RETURN(int version, PublishChecked(files.model, files.preprocessor, std::move(metadata), source,
                                                   files.baseline));
  return ImportOutcome{version, false};
}

}  // namespace modelbay
