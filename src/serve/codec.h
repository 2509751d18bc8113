// The /inference JSON codec: request body -> model spec + CellMatrix, and
// predictions -> response body. Pure functions over memory (no model I/O),
// so every error message is unit-tested.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "core/status.h"
#include "model/loaded_model.h"
#include "model/schema.h"

namespace modelbay::serve {

// A parsed body. `data` and the string_views in cells built from it point
// into `parser`'s buffers: valid until the parser parses again.
struct InferenceRequest {
  // The model_version as written ("3", "latest", "production"); nullopt when
  // omitted or null (the default model).
  std::optional<std::string> model_spec;
  // "model" as written (a named model; ParseModelName checks it); empty when
  // omitted or null (the unnamed model).
  std::string model_name;
  simdjson::dom::array data;
  size_t rows = 0;
  // "threshold" (binary models; a number) and "explain" (true: contributions).
  PredictOptions options;
};

// The value of the first `key=value` in the query string of `target`
// ("/path?a=1&b=2"), as written (no percent-decoding); "" for a bare `key`;
// nullopt when the key is absent.
std::optional<std::string_view> QueryParam(std::string_view target, std::string_view key);

// Parses `body` (malformed JSON, a non-object, missing/empty/non-array "data",
// a model_version that is not an integer or a string, a "threshold" that is
// not a number from 0 to 1, an "explain" that is not a boolean, a "model"
// that is not a string -> InvalidArgument;
// more than `max_rows` rows -> ResourceExhausted).
Result<InferenceRequest> ParseInferenceRequest(simdjson::dom::parser& parser,
                                               const std::string& body, size_t max_rows);

// Fills `out` from the rows: lists in schema order, or objects keyed by
// column name (a missing column is a missing value; an unknown one, a
// duplicate, a wrong row width or a nested value is InvalidArgument naming
// the row and column). Numbers stay numbers, strings stay text, null is
// missing; the model checks numeric columns when it predicts. A string
// holding \u0000 is InvalidArgument (the prediction log does not store NUL).
Status BuildCells(const InferenceRequest& request, const Schema& schema, CellMatrix& out);

// The model's column names in order, comma-separated (for error messages).
std::string ExpectedColumns(const Schema& schema);

// One cell from a JSON value: numbers stay numbers, strings text (TextCell),
// null missing; a list, object or boolean is InvalidArgument naming the row
// and column.
Status CellFrom(simdjson::dom::element v, size_t row, std::string_view column, Cell& cell);
// A text cell; text holding a NUL is InvalidArgument (the prediction log
// does not store NUL). `cell` views `text`.
Status TextCell(std::string_view text, size_t row, std::string_view column, Cell& cell);

// The predictions as a JSON list: labels (numbers when every label is one)
// for classifiers, values for regression.
void AppendPredictionList(const Schema& schema, const Predictions& predictions, std::string& out);

// A decision threshold from a request: a number from 0 to 1, else
// InvalidArgument naming `where` ("threshold", "parameters.threshold").
Result<double> ThresholdFrom(simdjson::dom::element v, std::string_view where);

// Predictions::contributions as JSON, one entry per row: {"bias": b,
// "columns": {"col": c, ...}} (column names in the model's order), or for
// multi-class models a list of such objects in class_labels order.
void AppendContributions(const Schema& schema, const Predictions& predictions, std::string& out);

// {"model_version": "3", "predictions": [...], "probabilities": [[...]],
//  ["contributions": [...],] "request_id": "...", "message": "inference completed"}
void AppendInferenceResponse(const LoadedModel& model, const Predictions& predictions,
                             std::string_view request_id, std::string& out);
// Same, from the parts (what AppendInferenceResponse uses; testable without
// a booster). `labels[i]` is the text of prediction i.
void AppendResponseParts(int version, const Schema& schema, const Predictions& predictions,
                         std::string_view request_id, std::string& out);

// {"error": "CODE", "message": "..."}
std::string ErrorBody(std::string_view code, std::string_view message);
// The error code string for a Status code ("invalid_argument", ...).
std::string_view ErrorCodeName(Code code);

// Appends `s` as a JSON string literal (quotes included).
void AppendJsonString(std::string_view s, std::string& out);
// Appends a number; NaN and infinities as null.
void AppendJsonNumber(double v, std::string& out);
// True when `s` is a JSON number literal (RFC 8259 grammar).
bool IsJsonNumber(std::string_view s);

}  // namespace modelbay::serve
