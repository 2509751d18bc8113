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
// sharing the Registry). It holds no mutable state of its own and calls its
// Store, which is thread-safe (store.h); concurrent publishers get distinct
// numbers from the store's create-if-absent, not from a lock. The serving
// cache still makes one registry call at a time (serve/model_cache.h).
#pragma once

#include <map>
#include <memory>
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

  // Committed versions, ascending.
  Result<std::vector<int>> ListVersions();
  // "3", 3, "latest", or an alias name -> a committed version number.
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
  Result<int> Import(std::string_view zip_bytes, std::string_view trigger,
                     std::string_view source = "the bundle");
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

  std::shared_ptr<Store> store_;
  Clock clock_;
  BundleLimits limits_;
};

// Alias names: [a-z0-9][a-z0-9_-]{0,62}, not "latest" and not a number.
Status ValidateAliasName(std::string_view alias);

}  // namespace modelbay
