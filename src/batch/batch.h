// Batch scoring (`modelbay predict`): CSV inputs -> a model version ->
// predictions, on every core, in memory bounded by the block size, and split
// deterministically between machines (`--shard I/N`).
//
// Contract:
// - Rows are read streaming (core/csv CsvFileReader), scored in blocks of
//   `block_rows` on `threads` threads and written in input order: the output
//   bytes do not depend on the thread count. At most 2 x threads blocks are in
//   memory at once.
// - Every scored row is logged through the prediction log (results store)
//   before Predict returns, with the per-row request id
//   `batch-<job>/<part>/<row>`, so `results export` keeps one copy of a row
//   however often its part was scored.
// - Bad input: the first bad row is named (file:line:column) and nothing
//   appears at the output (temp names, renamed or uploaded last).
// - Sharding: the inputs form a plan of parts (plan.h); shard I of N scores
//   the parts whose index is I mod N and writes each to its deterministic key
//   `<out>/part-<input-hash>-<begin>-<end>.csv`. Every shard writes the same
//   `<out>/_plan.json`; whichever finishes when every part exists writes
//   `<out>/_manifest.json` (also `Finalize`).
//
// Thread-safety: Predict and Finalize are free functions with no shared state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "batch/plan.h"
#include "core/config.h"
#include "core/status.h"
#include "results/prediction_log.h"

namespace modelbay::batch {

struct PredictOptions {
  std::vector<std::string> inputs;  // files, globs, folders, s3:// URLs or data:KEY
  std::string out;                  // file, folder, s3:// prefix or "-" (stdout); "" = default
  std::string version;              // number, alias or "" (production, else latest)
  std::string model;                // a ParseModelName result: "" = the unnamed model
  size_t threads = 0;               // 0: every core
  size_t block_rows = 10000;
  uint64_t split_bytes = uint64_t{256} << 20;  // larger inputs become byte ranges (parts output)
  std::optional<Shard> shard;       // nullopt: every part
  std::string job_id;               // "" : derived from the plan (parts output) or random
  std::filesystem::path spool;      // "" : <home>/spool
  results::FsyncPolicy fsync = results::FsyncPolicy::kAlways;
  bool update_results_file = true;  // bring results_<N>.csv up to date before returning
};

struct PredictReport {
  int version = 0;
  size_t rows = 0;
  std::vector<std::string> outputs;  // what was written (paths or URLs), in plan order
  std::string request_prefix;        // batch-<job>
  std::optional<std::string> manifest;  // written by this run
};

Result<PredictReport> Predict(const Config& config, const PredictOptions& options);

// Writes <out>/_manifest.json when every part of <out>/_plan.json exists;
// FailedPrecondition naming the missing parts otherwise. Returns the
// manifest's location.
Result<std::string> Finalize(const Config& config, const std::string& out);

}  // namespace modelbay::batch
