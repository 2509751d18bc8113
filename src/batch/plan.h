// The inputs of a batch run and how they split into parts.
//
// An input argument is a local file, a glob (`data/*.csv`), a local folder
// (every .csv under it), an S3 URL (`s3://bucket/key.csv`, or a prefix
// `s3://bucket/new/`: every .csv under it) or `data:KEY_OR_PREFIX` in the
// configured data store. Objects are sorted by name; an object larger than
// `split_bytes` becomes byte ranges of that size when the output is a parts
// folder. A range owns the rows that start inside it (core/csv.h), so the
// parts of an object together hold each of its rows exactly once, quoted
// newlines included.
//
// Pure functions except ResolveInputs (lists stores / the file system).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "store/store.h"

namespace modelbay::batch {

struct Shard {
  size_t index = 0;
  size_t count = 1;
};
// "I/N" with 0 <= I < N.
Result<Shard> ParseShard(std::string_view text);
// AWS_BATCH_JOB_ARRAY_INDEX / AWS_BATCH_JOB_ARRAY_SIZE; nullopt when unset.
Result<std::optional<Shard>> ShardFromEnv(const Config& config);

struct InputObject {
  std::string name;              // as shown in errors and plans: path or URL
  std::shared_ptr<Store> store;  // null for a local file
  std::string key;               // key in `store`, or the local path
  uint64_t size = 0;
};

Result<std::vector<InputObject>> ResolveInputs(const Config& config,
                                               const std::vector<std::string>& args);

struct Part {
  size_t object = 0;  // index into the inputs
  uint64_t begin = 0;
  uint64_t end = 0;   // exclusive; the object's size for its last range
  std::string key;    // part-<hash of name>-<begin>-<end>.csv
};

std::vector<Part> PlanParts(const std::vector<InputObject>& inputs, uint64_t split_bytes);

// The parts of shard `shard` (every part when count is 1).
std::vector<size_t> PartsOfShard(size_t parts, const Shard& shard);

// The plan as JSON text (deterministic bytes: same inputs, same text).
std::string PlanJson(const std::vector<InputObject>& inputs, const std::vector<Part>& parts,
                     std::string_view job);

}  // namespace modelbay::batch
