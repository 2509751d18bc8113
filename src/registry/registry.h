// The model registry: numbered versions in the model store, aliases, and
// integrity checks. Layout under the model store root:
//
//   <N>/.reserved            claims number N (create-if-absent; never reused)
//   <N>/model.json           XGBoost's own format
//   <N>/preprocessor.json    schema, vocabularies, scaler
//   <N>/metadata.json        see DESIGN §4; includes sha256 of each artifact
//   <N>/baseline.json        the training data's baseline (model/baseline.h);
//                            versions made before it, and imports, have none
//   <N>/model_af_<N>.zip     the three files above, as one bundle
//   <N>/.committed           written last: N is visible only once this exists;
//                            {"version", "committed", "metadata.json": {sha256,
//                            size}, "model_af_<N>.zip": {sha256, size}}
//   aliases/<name>.json      {"version": N, "updated": ISO8601, "reason": ...,
//                            "previous": M or null}
//
// Housekeeping state, mutable, outside the checksummed metadata (one small
// object per fact, each written whole by one Put like an alias file, so no
// write ever reads-modifies-writes another's: two people tagging different
// keys at once both win; the same key: the last writer wins, as for aliases):
//   <N>/.archived            {"archived": ISO8601}: N is kept and served by
//                            number or alias, but `latest` skips it
//   <N>/tags/<key>.json      {"value": "...", "updated": ISO8601}
//   <N>/description.json     {"description": "...", "updated": ISO8601}
//   <N>/.deleted             tombstone of a deleted version (with .reserved,
//                            all that is left of it: N is never reused)
//
// metadata.json records {"artifacts": {"model.json": {"sha256", "size"},
// "preprocessor.json": {...}, "baseline.json": {...} when there is one}}; the bundle's checksum lives in .committed
// because the bundle contains metadata.json.
//
// Version folders are parsed strictly (decimal, no leading zeros, >= 1);
// anything else at the root is ignored (among it models/, where named models
// keep this same layout per model: registry/model_name.h).
//
// Ownership: a Registry shares its Store (shared_ptr); `store()` is valid
// as long as the Registry is.
// Thread-safety: every method may be called from several threads (and
// processes) at once, except SetBundleLimits, which is set-up (call it before
// sharing the Registry). Its only mutable state is the cache of tag and
// description objects (under a mutex); otherwise it calls its Store, which
// is thread-safe (store.h); concurrent publishers get distinct numbers from
// the store's create-if-absent, not from a lock. The serving cache still
// makes one registry call at a time (serve/model_cache.h).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/status.h"
#include "model/loaded_model.h"
#include "registry/bundle.h"
#include "store/store.h"

namespace modelbay {

// The alias the promotion gate moves and the server serves by default.
inline constexpr std::string_view kProductionAlias = "production";
// The implicit alias naming the highest committed version.
inline constexpr std::string_view kLatestAlias = "latest";
inline constexpr int kMaxVersionNumber = 999'999'999;

// The one parser of version numbers, used by the registry, the server, the
// CLI and the prediction log: "1".."999999999", decimal, no sign, no leading
// zeros, no spaces. "0", "01", "1.0", "-1", " 1", "1e3" -> nullopt.
std::optional<int> ParseVersionNumber(std::string_view text);

// What a version spec (a CLI argument, an HTTP model_version) names.
struct VersionSpec {
  enum class Kind { kNumber, kLatest, kAlias };
  Kind kind = Kind::kNumber;
  int number = 0;      // kNumber
  std::string alias;   // kAlias
};
// "3" -> number 3; "latest"; "staging" -> alias. InvalidArgument, saying what
// a version spec looks like, for anything else ("01", "1.0", "-1", "../1",
// " 1", "latest ", "", a number over 999999999).
Result<VersionSpec> ParseVersionSpec(std::string_view spec);

// A version's housekeeping state (see the layout above).
struct VersionState {
  bool archived = false;
  std::map<std::string, std::string> tags;
  std::string description;  // "" = none
  bool empty() const { return !archived && tags.empty() && description.empty(); }
  // {"archived": bool, "tags": {...}, "description": "..." or null}
  nlohmann::json ToJson() const;
};

// Committed versions and their state, from one listing of the store.
struct VersionListing {
  std::vector<int> versions;           // committed, ascending (archived ones included)
  std::vector<int> archived;           // the archived ones among them, ascending
  int latest = 0;                      // highest committed version not archived; 0 = none
  std::map<int, VersionState> states;  // versions with state; filled only when asked for
  bool IsArchived(int version) const;
  VersionState StateOf(int version) const;  // empty when none
};

// What Delete did.
struct DeleteReport {
  std::vector<std::string> removed_aliases;  // --force: aliases that pointed at it
  bool finished_earlier_delete = false;      // the version was already invisible (a delete stopped half-way)
};

struct VersionArtifacts {
  std::string model;         // bytes of model.json
  std::string preprocessor;  // bytes of preprocessor.json
  nlohmann::json metadata;   // parsed metadata.json
  BaselineArtifact baseline; // baseline.json, when the metadata lists it
};

class Registry {
 public:
  explicit Registry(std::shared_ptr<Store> models, Clock clock = SystemClock());

  Store& store() { return *store_; }

  // Claims the next free version number (never handed out twice, even with
  // concurrent publishers), writes the artifacts and the bundle, then the
  // commit marker. Fills metadata "version", "created" and "artifacts"
  // (sha256 + size of each file). Returns the version number. The artifacts
  // are validated first (model/artifacts.h): InvalidArgument naming the
  // tree/node/field, and no number is claimed, when they do not pass.
  // A non-empty `baseline` is written as baseline.json and checksummed with
  // the others (it is not part of the bundle).
  Result<int> Publish(std::string_view model, std::string_view preprocessor,
                      nlohmann::json metadata, std::string_view baseline = {});

  // Committed versions, ascending (archived ones included).
  Result<std::vector<int>> ListVersions();
  // Committed versions with the archived ones marked and `latest`, from one
  // listing; `with_state` also reads tags and descriptions (one small Get
  // per tag/description object that changed since this Registry last read
  // it: the cache is keyed by ETag and guarded by a mutex).
  Result<VersionListing> Listing(bool with_state);
  // One version's housekeeping state (NotFound etc. as Resolve by number).
  Result<VersionState> State(int version);
  // "3", 3, "latest" (the highest version not archived), or an alias name
  // -> a committed version number.
  // InvalidArgument when the spec is malformed (ParseVersionSpec); NotFound
  // with a clear message when it names nothing (FailedPrecondition for
  // "latest" when there is no version at all); DataLoss when the alias file
  // or the version's commit marker is damaged.
  Result<int> Resolve(std::string_view spec);
  // Reads and verifies (sha256) all artifacts of a committed version;
  // DataLoss naming the file on mismatch. A damaged or missing baseline.json
  // does not fail the fetch: it is reported in `baseline.problem` (the
  // version still serves); a store error reading it does.
  Result<VersionArtifacts> Fetch(int version);
  // Reads metadata.json, verified against the commit marker only.
  Result<nlohmann::json> Metadata(int version);
  // The verified bytes of model_af_<N>.zip.
  Result<std::string> Bundle(int version);

  // Aliases. "latest" is implicit and cannot be set.
  Status SetAlias(std::string_view alias, int version, std::string_view reason);
  // nullopt when the alias is not set; DataLoss when its file is damaged.
  Result<std::optional<int>> GetAlias(std::string_view alias);
  // Every named alias (not "latest"). A damaged alias file does not fail the
  // listing: it is reported in `damaged` with its error, the rest are read.
  // The versions are as the files say; they are not checked to be committed.
  struct AliasTable {
    std::map<std::string, int> aliases;          // name -> version
    std::map<std::string, std::string> damaged;  // name -> what is wrong with it
  };
  Result<AliasTable> Aliases();

  // Registers a model_af_<N>.zip bundle as a new version (its own number is
  // not reused). Verifies the bundle's checksums first, then validates the
  // model like Publish.
  // `source` names the bundle in error messages (e.g. its file name).
  // The same bundle (by sha256) imported before, and still a version, is
  // not registered twice: `existing` names that version (found by reading
  // the metadata of the versions, newest first). `duplicate` registers it
  // again anyway. Two imports of one bundle at the same moment can both
  // register it (there is no lock; the numbers stay distinct).
  struct ImportOutcome {
    int version = 0;
    bool existing = false;
  };
  Result<ImportOutcome> Import(std::string_view zip_bytes, std::string_view trigger,
                               std::string_view source = "the bundle", bool duplicate = false);

  // Housekeeping (registry/housekeeping.cpp). `version` must be committed.
  // Archive/Delete refuse (FailedPrecondition naming the aliases) a version
  // a named alias points to unless `force`: Archive then keeps the aliases
  // (an archived version still serves by alias), Delete removes them first
  // (they would point at nothing). Archive/Unarchive are idempotent.
  Status Archive(int version, bool force);
  Status Unarchive(int version);
  // Tombstone, then .committed (from here on the version is gone for every
  // reader), then the rest of the folder; a crash part-way leaves either the
  // whole version or an invisible remainder that a second Delete (of the
  // number) removes. Never touches the results store.
  Result<DeleteReport> Delete(int version, bool force);
  // NotFound when the alias is not set; InvalidArgument for "latest".
  Status RemoveAlias(std::string_view alias);
  // key -> value; an empty value removes the tag. All keys and values are
  // checked before anything is written.
  Status SetTags(int version, const std::map<std::string, std::string>& tags);
  // "" removes the description.
  Status Describe(int version, std::string_view text);
  void SetBundleLimits(const BundleLimits& limits) { limits_ = limits; }

 private:
  Result<int> Reserve();
  // Publish, with `source` naming the artifacts in validation errors.
  Result<int> PublishChecked(std::string_view model, std::string_view preprocessor, nlohmann::json metadata,
                             std::string_view source, std::string_view baseline = {});
  Result<nlohmann::json> ReadCommit(int version);
  // Fills `out` from baseline.json when `recorded` (metadata "artifacts")
  // lists it; only a store error is returned.
  Status FetchBaseline(int version, const nlohmann::json& recorded, BaselineArtifact& out);
  Result<std::string> VersionsText();
  // A prior import of the bundle whose sha256 is `sha`, or nullopt.
  Result<std::optional<int>> FindImport(std::string_view sha);
  // The named aliases that point at `version` (damaged ones are skipped).
  Result<std::vector<std::string>> AliasesOn(int version);
  // Writes `doc` (plus "updated") as <version>/<file>.
  Status PutState(int version, std::string_view file, nlohmann::json doc);
  // Fills out.archived, out.latest and (with_state) out.states from the
  // objects of the committed versions in out.versions. `prune` drops cached
  // objects not among `objects` (only for a listing of the whole store).
  Status FillStates(const std::vector<ObjectInfo>& objects, bool with_state, bool prune, VersionListing& out);
  // The object's bytes, from the cache when its ETag is unchanged; `fresh`
  // says they were read from the store now.
  Result<std::string> GetCached(const ObjectInfo& object, bool& fresh);

  std::shared_ptr<Store> store_;
  Clock clock_;
  BundleLimits limits_;
  // Tag and description objects already read: key -> (ETag, bytes).
  std::mutex state_mu_;
  std::map<std::string, std::pair<std::string, std::string>> state_cache_;
};

// Tag keys: [a-z0-9][a-z0-9_-]{0,62}. Tag values: at most 256 bytes, and
// descriptions at most 2000, of UTF-8 without control characters.
Status ValidateTagKey(std::string_view key);

// Alias names: [a-z0-9][a-z0-9_-]{0,62}, not "latest" and not a number.
Status ValidateAliasName(std::string_view alias);

}  // namespace modelbay
