#include "serve/v2_codec.h"

#include <bit>
#include <charconv>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "serve/codec.h"

namespace modelbay::serve {
namespace {

using Element = simdjson::dom::element;
using T = simdjson::dom::element_type;

// The element size of a fixed-size datatype, 0 for BYTES, -1 when unknown.
int ElementSize(std::string_view datatype) {
  if (datatype == "BYTES") return 0;
  if (datatype == "BOOL" || datatype == "INT8" || datatype == "UINT8") return 1;
  if (datatype == "INT16" || datatype == "UINT16") return 2;
  if (datatype == "INT32" || datatype == "UINT32" || datatype == "FP32") return 4;
  if (datatype == "INT64" || datatype == "UINT64" || datatype == "FP64") return 8;
  return -1;
}

template <typename N>
N ReadLittle(const char* p) {
  static_assert(std::endian::native == std::endian::little, "modelbay runs on little-endian hosts");
  N v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// One raw little-endian element of `datatype` as a number.
double RawNumber(std::string_view datatype, const char* p) {
  if (datatype == "BOOL" || datatype == "UINT8") return ReadLittle<uint8_t>(p);
  if (datatype == "INT8") return ReadLittle<int8_t>(p);
  if (datatype == "INT16") return ReadLittle<int16_t>(p);
  if (datatype == "UINT16") return ReadLittle<uint16_t>(p);
  if (datatype == "INT32") return ReadLittle<int32_t>(p);
  if (datatype == "UINT32") return ReadLittle<uint32_t>(p);
  if (datatype == "FP32") return ReadLittle<float>(p);
  if (datatype == "INT64") return static_cast<double>(ReadLittle<int64_t>(p));
  if (datatype == "UINT64") return static_cast<double>(ReadLittle<uint64_t>(p));
  return ReadLittle<double>(p);  // FP64
}

void AppendLittle32(uint32_t v, std::string& out) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

// One input tensor as read from the request, before its elements are placed.
struct Tensor {
  std::string_view name;
  std::string_view datatype;
  std::vector<int64_t> shape;
  size_t count = 0;                    // product of shape
  std::vector<Element> json;           // JSON elements, flattened (when !is_binary)
  bool is_binary = false;
  std::string_view binary;             // its slice of the binary section
};

Status TensorError(std::string_view name, std::string_view what) {
  return InvalidArgument(fmt::format("input tensor \"{}\": {}", name, what));
}

Status Flatten(Element e, const Tensor& t, std::vector<Element>& out) {
  simdjson::dom::array list;
  if (!e.get(list)) {
    for (Element x : list) MB_RETURN_IF_ERROR(Flatten(x, t, out));
    return Status::Ok();
  }
  if (out.size() >= t.count) {
    return TensorError(t.name, fmt::format("\"data\" holds more than the {} elements its shape declares",
                                           t.count));
  }
  out.push_back(e);
  return Status::Ok();
}

Result<std::vector<int64_t>> ParseShape(Element e, std::string_view name, size_t limit, size_t& count) {
  simdjson::dom::array list;
  if (e.get(list)) return TensorError(name, "\"shape\" must be a list of non-negative integers");
  std::vector<int64_t> shape;
  count = 1;
  for (Element d : list) {
    int64_t v = 0;
    if (d.get(v) || v < 0) return TensorError(name, "\"shape\" must be a list of non-negative integers");
    if (v != 0 && count > limit / static_cast<size_t>(v)) {
      return ResourceExhausted(fmt::format("input tensor \"{}\": shape holds more than {} elements", name,
                                           limit));
    }
    count *= static_cast<size_t>(v);
    shape.push_back(v);
  }
  if (shape.empty()) return TensorError(name, "\"shape\" is empty; send [rows] or [rows, columns]");
  return shape;
}

// Reads one entry of "inputs", taking its binary slice from `binary` at `offset`.
Result<Tensor> ParseTensor(Element e, size_t index, std::string_view binary, size_t& offset,
                           size_t element_limit) {
  simdjson::dom::object obj;
  if (e.get(obj)) return InvalidArgument(fmt::format("inputs[{}] is not an object", index));
  Tensor t;
  std::string_view name_text;
  if (obj["name"].get(name_text)) return InvalidArgument(fmt::format("inputs[{}] has no string \"name\"", index));
  t.name = name_text;
  if (obj["datatype"].get(t.datatype)) return TensorError(t.name, "has no string \"datatype\"");
  if (ElementSize(t.datatype) < 0) {
    return TensorError(t.name, fmt::format("datatype \"{}\" is not supported; send BYTES, BOOL, INT8..INT64, "
                                           "UINT8..UINT64, FP32 or FP64", t.datatype));
  }
  Element shape_el;
  if (obj["shape"].get(shape_el)) return TensorError(t.name, "has no \"shape\"");
  MB_ASSIGN_OR_RETURN(t.shape, ParseShape(shape_el, t.name, element_limit, t.count));
  simdjson::dom::object params;
  Element size_el;
  if (!obj["parameters"].get(params) && !params["binary_data_size"].get(size_el)) {
    uint64_t size = 0;
    if (size_el.get(size)) return TensorError(t.name, "\"binary_data_size\" must be a non-negative integer");
    if (size > binary.size() - offset) {
      return TensorError(t.name, fmt::format("\"binary_data_size\" is {} but only {} bytes of binary data "
                                             "remain after the JSON header (Inference-Header-Content-Length)",
                                             size, binary.size() - offset));
    }
    t.is_binary = true;
    t.binary = binary.substr(offset, size);
    offset += size;
    return t;
  }
  Element data;
  if (obj["data"].get(data)) return TensorError(t.name, "has neither \"data\" nor a \"binary_data_size\" parameter");
  t.json.reserve(t.count);
  MB_RETURN_IF_ERROR(Flatten(data, t, t.json));
  if (t.json.size() != t.count) {
    return TensorError(t.name, fmt::format("\"data\" holds {} elements but its shape declares {}", t.json.size(),
                                           t.count));
  }
  return t;
}

// Places tensor `t`'s elements into `cells`: element i goes to row i / width,
// schema column columns[i % width].
Status PlaceElements(const Tensor& t, const std::vector<size_t>& columns, const Schema& schema, CellMatrix& cells) {
  const size_t width = columns.size();
  auto place = [&](size_t i) -> Cell& { return cells.cells[(i / width) * cells.cols + columns[i % width]]; };
  auto column_name = [&](size_t i) -> std::string_view { return schema.features[columns[i % width]].name; };
  if (!t.is_binary) {
    for (size_t i = 0; i < t.count; ++i) {
      const Element v = t.json[i];
      if (v.type() == T::BOOL) {
        place(i) = bool(v) ? 1.0 : 0.0;
        continue;
      }
      Status s = CellFrom(v, i / width, column_name(i), place(i));
      if (!s.ok()) return TensorError(t.name, fmt::format("element {}: {}", i, s.message()));
    }
    return Status::Ok();
  }
  const int size = ElementSize(t.datatype);
  if (size > 0) {
    if (t.binary.size() != t.count * static_cast<size_t>(size)) {
      return TensorError(t.name, fmt::format("\"binary_data_size\" is {} bytes but {} elements of {} take {}",
                                             t.binary.size(), t.count, t.datatype, t.count * size));
    }
    for (size_t i = 0; i < t.count; ++i) place(i) = RawNumber(t.datatype, t.binary.data() + i * size);
    return Status::Ok();
  }
  size_t at = 0;
  for (size_t i = 0; i < t.count; ++i) {
    if (t.binary.size() - at < 4) {
      return TensorError(t.name, fmt::format("element {}: the binary data ends before its 4-byte length "
                                             "(\"binary_data_size\" {} is too small for {} elements)",
                                             i, t.binary.size(), t.count));
    }
    const uint32_t len = ReadLittle<uint32_t>(t.binary.data() + at);
    at += 4;
    if (len > t.binary.size() - at) {
      return TensorError(t.name, fmt::format("element {}: its length {} runs past the tensor's {} bytes of "
                                             "binary data", i, len, t.binary.size()));
    }
    const std::string_view text = t.binary.substr(at, len);
    at += len;
    if (!simdjson::validate_utf8(text.data(), text.size())) {
      return TensorError(t.name, fmt::format("element {}: the bytes are not UTF-8 text", i));
    }
    Status s = TextCell(text, i / width, column_name(i), place(i));
    if (!s.ok()) return TensorError(t.name, fmt::format("element {}: {}", i, s.message()));
  }
  if (at != t.binary.size()) {
    return TensorError(t.name, fmt::format("\"binary_data_size\" is {} but its {} elements take {} bytes",
                                           t.binary.size(), t.count, at));
  }
  return Status::Ok();
}

Status ParseOutputs(simdjson::dom::object obj, const Schema& schema, bool binary_default,
                    std::vector<V2OutputRequest>& out) {
  simdjson::dom::array outputs;
  auto available = [&] {
    return schema.is_classifier() ? "\"predict\", \"probabilities\" and \"contributions\""
                                  : "\"predict\" and \"contributions\"";
  };
  if (obj["outputs"].get(outputs)) {
    out.push_back({V2Output::kPredict, binary_default});
    if (schema.is_classifier()) out.push_back({V2Output::kProbabilities, binary_default});
    return Status::Ok();
  }
  size_t index = 0;
  for (Element e : outputs) {
    simdjson::dom::object o;
    std::string_view name;
    if (e.get(o) || o["name"].get(name)) {
      return InvalidArgument(fmt::format("outputs[{}] must be an object with a string \"name\"", index));
    }
    V2OutputRequest r{V2Output::kPredict, binary_default};
    if (name == "probabilities" && schema.is_classifier()) {
      r.output = V2Output::kProbabilities;
    } else if (name == "contributions") {
      r.output = V2Output::kContributions;
    } else if (name != "predict") {
      return InvalidArgument(fmt::format("output \"{}\" does not exist; this model has {}", name, available()));
    }
    simdjson::dom::object params;
    if (!o["parameters"].get(params)) {
      Element b;
      if (!params["binary_data"].get(b) && b.get(r.binary)) {
        return InvalidArgument(fmt::format("output \"{}\": \"binary_data\" must be true or false", name));
      }
    }
    out.push_back(r);
    ++index;
  }
  if (out.empty()) return InvalidArgument("\"outputs\" is empty; leave it out for every output, or list " +
                                          std::string(available()));
  return Status::Ok();
}

std::string LabelText(const Schema& schema, double v) {
  const auto idx = static_cast<size_t>(v);
  if (v >= 0 && idx < schema.class_labels.size()) return schema.class_labels[idx];
  return fmt::format("{}", v);
}

// An FP32 output's elements: a JSON "data" list, or raw little-endian floats.
void AppendFloats(const std::vector<float>& values, bool as_binary, std::string& json, std::string& binary) {
  if (as_binary) {
    binary.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    return;
  }
  json += ",\"data\":[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) json += ',';
    AppendJsonNumber(values[i], json);
  }
  json += ']';
}

}  // namespace

Result<V2Body> SplitV2Body(std::string_view body, std::string_view header_length) {
  if (header_length.empty()) return V2Body{body, {}};
  size_t n = 0;
  const auto [end, ec] = std::from_chars(header_length.data(), header_length.data() + header_length.size(), n);
  if (ec != std::errc{} || end != header_length.data() + header_length.size()) {
    return InvalidArgument(fmt::format("Inference-Header-Content-Length \"{}\" is not a byte count",
                                       header_length));
  }
  if (n > body.size()) {
    return InvalidArgument(fmt::format("Inference-Header-Content-Length is {} but the body has only {} bytes",
                                       n, body.size()));
  }
  return V2Body{body.substr(0, n), body.substr(n)};
}

Result<V2InferRequest> ParseV2Infer(simdjson::dom::parser& parser, const V2Body& body, const Schema& schema,
                                    size_t max_rows) {
  // Step 1: the JSON header.
  Element doc;
  if (auto err = parser.parse(body.json.data(), body.json.size()).get(doc)) {
    return InvalidArgument(fmt::format("the JSON header is not valid JSON ({})", simdjson::error_message(err)));
  }
  simdjson::dom::object obj;
  if (doc.get(obj)) return InvalidArgument("the body is not a JSON object; send {\"inputs\": [...]}");
  V2InferRequest req;
  Element id;
  if (!obj["id"].get(id)) {
    std::string_view id_text;
    if (id.get(id_text)) return InvalidArgument("\"id\" must be a string");
    req.id = std::string(id_text);
    req.has_id = true;
  }
  bool binary_default = false;
  simdjson::dom::object params;
  const bool has_params = !obj["parameters"].get(params);
  Element b;
  if (has_params && !params["binary_data_output"].get(b) && b.get(binary_default)) {
    return InvalidArgument("\"binary_data_output\" must be true or false");
  }
  MB_RETURN_IF_ERROR(ParseOutputs(obj, schema, binary_default, req.outputs));
  for (const V2OutputRequest& o : req.outputs) req.options.contributions |= o.output == V2Output::kContributions;
  Element threshold;
  if (has_params && !params["threshold"].get(threshold)) {
    MB_ASSIGN_OR_RETURN(req.options.threshold, ThresholdFrom(threshold, "parameters.threshold"));
  }

  // Step 2: the input tensors and their binary slices.
  simdjson::dom::array inputs;
  if (obj["inputs"].get(inputs) || inputs.size() == 0) {
    return InvalidArgument("\"inputs\" must be a non-empty list of tensors: one per column (named after it) or "
                           "one [rows, columns] tensor in the model's column order (" + ExpectedColumns(schema) + ")");
  }
  const size_t width = schema.features.size();
  const size_t element_limit = max_rows * std::max<size_t>(width, 1);
  std::vector<Tensor> tensors;
  size_t offset = 0, index = 0;
  for (Element e : inputs) {
    MB_ASSIGN_OR_RETURN(Tensor t, ParseTensor(e, index++, body.binary, offset, element_limit));
    tensors.push_back(std::move(t));
  }
  if (offset != body.binary.size()) {
    return InvalidArgument(fmt::format("the inputs' binary_data_size add up to {} bytes but {} bytes follow the "
                                       "JSON header", offset, body.binary.size()));
  }

  // Step 3: which layout, how many rows, then the cells.
  auto column_of = [&](std::string_view name) -> long {
    for (size_t c = 0; c < width; ++c) {
      if (schema.features[c].name == name) return static_cast<long>(c);
    }
    return -1;
  };
  const bool matrix = tensors.size() == 1 && column_of(tensors[0].name) < 0 && tensors[0].shape.size() == 2;
  size_t rows = 0;
  if (matrix) {
    const Tensor& t = tensors[0];
    if (static_cast<size_t>(t.shape[1]) != width) {
      return TensorError(t.name, fmt::format("shape [{}, {}] has {} columns; the model takes {} in this order: {}",
                                             t.shape[0], t.shape[1], t.shape[1], width, ExpectedColumns(schema)));
    }
    rows = static_cast<size_t>(t.shape[0]);
  } else {
    for (size_t i = 0; i < tensors.size(); ++i) {
      const Tensor& t = tensors[i];
      if (column_of(t.name) < 0) {
        return TensorError(t.name, "is not a column of the model; send one tensor per column (" + ExpectedColumns(schema) +
                                       ") or one [rows, columns] tensor");
      }
      for (size_t j = 0; j < i; ++j) {
        if (tensors[j].name == t.name) return TensorError(t.name, "appears twice");
      }
      if (t.shape.size() > 2 || (t.shape.size() == 2 && t.shape[1] != 1)) {
        return TensorError(t.name, "a column's shape must be [rows] or [rows, 1]");
      }
      if (i > 0 && static_cast<size_t>(t.shape[0]) != rows) {
        return TensorError(t.name, fmt::format("has {} rows but \"{}\" has {}", t.shape[0], tensors[0].name, rows));
      }
      rows = static_cast<size_t>(t.shape[0]);
    }
  }
  if (rows == 0) return InvalidArgument("the inputs hold no rows; send at least one");
  if (rows > max_rows) {
    return ResourceExhausted(fmt::format("the inputs hold {} rows; the limit is {} per request (--max-rows); "
                                         "split the request", rows, max_rows));
  }
  req.cells.rows = rows;
  req.cells.cols = width;
  req.cells.cells.assign(rows * width, Cell{});
  for (const Tensor& t : tensors) {
    std::vector<size_t> columns;
    if (matrix) {
      for (size_t c = 0; c < width; ++c) columns.push_back(c);
    } else {
      columns.push_back(static_cast<size_t>(column_of(t.name)));
    }
    MB_RETURN_IF_ERROR(PlaceElements(t, columns, schema, req.cells));
  }
  return req;
}

std::string_view V2InputDatatype(const Feature& f) {
  return f.type == FeatureType::kCategorical ? "BYTES" : "FP64";
}

std::string_view V2PredictDatatype(const Schema& schema) { return schema.is_classifier() ? "BYTES" : "FP64"; }

std::vector<int64_t> V2ContributionsShape(const Schema& schema) {
  const auto width = static_cast<int64_t>(schema.features.size()) + 1;
  if (schema.task == TaskType::kMulticlass) return {-1, static_cast<int64_t>(schema.class_labels.size()), width};
  return {-1, width};
}

std::vector<std::string> V2ContributionNames(const Schema& schema) {
  std::vector<std::string> names;
  for (const Feature& f : schema.features) names.push_back(f.name);
  names.push_back("bias");
  return names;
}

void AppendV2Response(std::string_view model_name, int version, const Schema& schema, const Predictions& p,
                      const V2InferRequest& request, std::string& json, std::string& binary) {
  json += "{\"model_name\":";
  AppendJsonString(model_name, json);
  fmt::format_to(std::back_inserter(json), ",\"model_version\":\"{}\"", version);
  if (request.has_id) {
    json += ",\"id\":";
    AppendJsonString(request.id, json);
  }
  json += ",\"outputs\":[";
  bool first = true;
  for (const V2OutputRequest& o : request.outputs) {
    if (!first) json += ',';
    first = false;
    const size_t before = binary.size();
    if (o.output == V2Output::kPredict) {
      json += "{\"name\":\"predict\",\"datatype\":\"";
      json += V2PredictDatatype(schema);
      fmt::format_to(std::back_inserter(json), "\",\"shape\":[{}]", p.rows);
      if (!o.binary) {
        json += ",\"data\":[";
        for (size_t i = 0; i < p.rows; ++i) {
          if (i) json += ',';
          if (schema.is_classifier()) {
            AppendJsonString(LabelText(schema, p.values[i]), json);
          } else {
            AppendJsonNumber(p.values[i], json);
          }
        }
        json += ']';
      } else if (schema.is_classifier()) {
        for (size_t i = 0; i < p.rows; ++i) {
          const std::string label = LabelText(schema, p.values[i]);
          AppendLittle32(static_cast<uint32_t>(label.size()), binary);
          binary += label;
        }
      } else {
        binary.append(reinterpret_cast<const char*>(p.values.data()), p.rows * sizeof(double));
      }
    } else if (o.output == V2Output::kContributions) {
      json += "{\"name\":\"contributions\",\"datatype\":\"FP32\",\"shape\":[";
      std::vector<int64_t> shape = V2ContributionsShape(schema);
      shape[0] = static_cast<int64_t>(p.rows);
      json += fmt::format("{}", fmt::join(shape, ","));
      json += ']';
      AppendFloats(p.contributions, o.binary, json, binary);
    } else {
      fmt::format_to(std::back_inserter(json), "{{\"name\":\"probabilities\",\"datatype\":\"FP32\",\"shape\":[{},{}]",
                     p.rows, p.num_classes);
      AppendFloats(p.probabilities, o.binary, json, binary);
    }
    if (o.binary) {
      fmt::format_to(std::back_inserter(json), ",\"parameters\":{{\"binary_data_size\":{}}}", binary.size() - before);
    }
    json += '}';
  }
  json += "]}";
}

}  // namespace modelbay::serve
