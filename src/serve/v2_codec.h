// The Open Inference Protocol (KServe v2) infer codec, with Triton's binary
// tensor extension: request body -> CellMatrix + the outputs asked for, and
// predictions -> response body. Pure functions over memory (no model I/O,
// no logging), so every error message is unit-tested.
//
// Inputs are either one tensor per feature column (MLServer's pandas
// convention: the tensor's name is the column's, shape [rows] or [rows, 1];
// a column without a tensor is a missing value) or one 2-D tensor
// [rows, columns] in the model's column order. Elements come from JSON
// `data` (flat or nested) or from the binary section (`binary_data_size`):
// BYTES as 4-byte little-endian length + bytes, numbers raw little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/status.h"
#include "model/loaded_model.h"
#include "model/schema.h"

namespace modelbay::serve {

// A body split by `Inference-Header-Content-Length`: the JSON header and the
// binary tensor data after it. Both view the body.
struct V2Body {
  std::string_view json;
  std::string_view binary;
};
// `header_length` is the header's value ("" when absent: all JSON). A value
// that is not a decimal number or exceeds the body is InvalidArgument.
Result<V2Body> SplitV2Body(std::string_view body, std::string_view header_length);

// "contributions" (XGBoost's SHAP values per column plus the bias, FP32
// [rows, columns + 1], multi-class [rows, classes, columns + 1]) is sent
// only when asked for in "outputs".
enum class V2Output { kPredict, kProbabilities, kContributions };

struct V2OutputRequest {
  V2Output output;
  bool binary = false;
};

// A parsed infer request. String cells view `body.binary` or the parser's
// buffers: valid while both live and the parser does not parse again.
struct V2InferRequest {
  std::string id;  // echoed; empty when absent
  bool has_id = false;
  CellMatrix cells;
  // In the order asked; predict and probabilities (JSON unless
  // binary_data_output) when the request lists none.
  std::vector<V2OutputRequest> outputs;
  // parameters.threshold (binary models); contributions when asked for.
  PredictOptions options;
};

// Parses an infer request for a model with `schema`. The request's
// parameters honoured: binary_data_output, threshold. Every problem is
// InvalidArgument naming the tensor (and element); more than `max_rows`
// rows is ResourceExhausted.
Result<V2InferRequest> ParseV2Infer(simdjson::dom::parser& parser, const V2Body& body,
                                    const Schema& schema, size_t max_rows);

// The infer response: `json` is the JSON header; `binary` holds the outputs
// asked for as binary, in order (empty when none: the response is JSON only).
void AppendV2Response(std::string_view model_name, int version, const Schema& schema,
                      const Predictions& predictions, const V2InferRequest& request,
                      std::string& json, std::string& binary);

// The v2 datatype of feature `f`'s input tensor (BYTES for categorical,
// FP64 for numeric), and of the `predict` output (BYTES labels for
// classifiers, FP64 for regression).
std::string_view V2InputDatatype(const Feature& f);
std::string_view V2PredictDatatype(const Schema& schema);
// The shape of the contributions output with -1 rows, and the names of its
// last dimension: the columns in order, then "bias".
std::vector<int64_t> V2ContributionsShape(const Schema& schema);
std::vector<std::string> V2ContributionNames(const Schema& schema);

}  // namespace modelbay::serve
