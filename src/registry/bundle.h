// model_af_<N>.zip: the artifacts of a version as one zip (model.json,
// preprocessor.json, metadata.json, and baseline.json when the version has
// one; versions trained before baselines existed have none), built and
// read in memory (libzip). Reading is defensive: the bytes may come from
// anyone (an upload, another store), so entry count, names and uncompressed
// sizes are checked before anything is extracted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace modelbay {

inline constexpr std::string_view kModelFile = "model.json";
inline constexpr std::string_view kPreprocessorFile = "preprocessor.json";
inline constexpr std::string_view kMetadataFile = "metadata.json";
inline constexpr std::string_view kBaselineFile = "baseline.json";

struct BundleFiles {
  std::string model;         // model.json
  std::string preprocessor;  // preprocessor.json
  std::string metadata;      // metadata.json
  std::string baseline;      // baseline.json; empty when the bundle has none
};

struct BundleLimits {
  uint64_t max_entries = 16;               // anything over 4 is rejected; this bounds the scan
  uint64_t max_entry_bytes = 1ULL << 30;   // uncompressed, per entry
  uint64_t max_total_bytes = 2ULL << 30;   // uncompressed, all entries
};

// "model_af_3.zip".
std::string BundleName(int version);

// Builds the zip (deflate) holding the three files, and baseline.json when
// `files.baseline` is not empty.
Result<std::string> WriteBundle(const BundleFiles& files);

// Opens a zip and returns its files (baseline.json is optional). InvalidArgument, naming `source`
// and the entry, when the zip is damaged, encrypted, has too many entries,
// an entry over the limits, a path outside the bundle, a duplicate, an
// unexpected or a missing file.
Result<BundleFiles> ReadBundle(std::string_view zip_bytes, std::string_view source,
                               const BundleLimits& limits = {});

}  // namespace modelbay
