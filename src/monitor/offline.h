// Drift from the prediction log, without a server: the rows of an exported
// results_<N>.csv (results/row_format.h) fed through the same DriftLayout as
// the server's live window, so both give the same figures on the same rows
// (docs/monitoring.md states the tolerance).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/loaded_model.h"

namespace modelbay::monitor {

struct OfflineOptions {
  // Only rows whose timestamp is at or after this ISO 8601 UTC time
  // ("2026-12-02", "2026-12-02T01:30", "2026-12-02T01:30:00Z"); empty: all.
  std::string since;
  // The model's display name for the document's "model" ("default": the unnamed model).
  std::string model = "default";
};

// The drift document (DriftDocument) of `model` over the rows of `log`, a
// prediction-log CSV of that version. InvalidArgument naming the file, line
// and column when the log does not match the model (columns, labels) or a
// cell cannot be read. The "window" object holds {"rows", "since"}.
Result<nlohmann::json> DriftFromLog(const LoadedModel& model, const std::filesystem::path& log,
                                    const OfflineOptions& options);

// Checks and normalises a --since value: InvalidArgument unless it is
// YYYY-MM-DD[THH[:MM[:SS[.fff]]]][Z].
Result<std::string> ParseSince(std::string_view text);

}  // namespace modelbay::monitor
