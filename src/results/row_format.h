// The prediction log's row format (DESIGN §6), as CSV:
//   timestamp,request_id,model_version,<feature columns...>,prediction[,prob_<label>...]
// Pure functions: no model needed beyond its schema, so they are tested alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/loaded_model.h"
#include "model/schema.h"

namespace modelbay::results {

// Appends `field`, quoted per RFC 4180 when it holds a comma, quote, CR or LF.
void AppendCsvField(std::string& out, std::string_view field);

// The header line of a version's log, ending in '\n'.
std::string HeaderLine(const Schema& schema);

// The CSV lines of one request. `labels[r]` is row r's prediction as text
// (LoadedModel::LabelText). Inputs are written as they arrived: text as is,
// numbers in their shortest round-trip form, missing cells empty. With
// `first_row`, row r's request id is `<request_id>/<first_row + r>`.
std::string FormatRows(const Schema& schema, int version, std::string_view request_id,
                       const CellMatrix& inputs, const std::vector<std::string>& labels,
                       const Predictions& predictions, std::chrono::system_clock::time_point timestamp,
                       std::optional<uint64_t> first_row = std::nullopt);

}  // namespace modelbay::results
