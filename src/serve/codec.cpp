#include "serve/codec.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "core/strings.h"
#include "registry/registry.h"

namespace modelbay::serve {
namespace {

constexpr std::string_view kVersionHint =
    "model_version must be a version number (3 or \"3\"), \"latest\" or an alias name";

std::string_view TypeName(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "a list";
    case T::OBJECT: return "an object";
    case T::BOOL: return "a boolean";
    case T::STRING: return "a string";
    case T::NULL_VALUE: return "null";
    default: return "a number";
  }
}

}  // namespace

std::string ExpectedColumns(const Schema& schema) {
  std::string s;
  for (size_t i = 0; i < schema.features.size(); ++i) {
    if (i) s += ", ";
    s += schema.features[i].name;
  }
  return s;
}

Status TextCell(std::string_view text, size_t row, std::string_view column, Cell& cell) {
  // Refused rather than stored: a NUL byte in the prediction log would
  // make the exported CSV unreadable to many readers (docs/serving.md).
  if (text.find('\0') != std::string_view::npos) {
    return InvalidArgument(fmt::format(
        "row {}, column \"{}\": the string contains \\u0000 (a NUL character), which the "
        "prediction log does not store; remove it from the value",
        row, column));
  }
  cell = text;
  return Status::Ok();
}

Status CellFrom(simdjson::dom::element v, size_t row, std::string_view column, Cell& cell) {
  using T = simdjson::dom::element_type;
  switch (v.type()) {
    case T::NULL_VALUE: cell = std::monostate{}; return Status::Ok();
    case T::INT64: cell = static_cast<double>(int64_t(v)); return Status::Ok();
    case T::UINT64: cell = static_cast<double>(uint64_t(v)); return Status::Ok();
    case T::DOUBLE: cell = double(v); return Status::Ok();
    case T::STRING: return TextCell(std::string_view(v), row, column, cell);
    default:
      return InvalidArgument(fmt::format(
          "row {}, column \"{}\": {} is not accepted here; send a number, a string or null",
          row, column, TypeName(v.type())));
  }
}

Result<InferenceRequest> ParseInferenceRequest(simdjson::dom::parser& parser,
                                               const std::string& body, size_t max_rows) {
  simdjson::dom::element doc;
  if (auto err = parser.parse(body).get(doc)) {
    if (err == simdjson::NUMBER_ERROR || err == simdjson::NUMBER_OUT_OF_RANGE) {
      return InvalidArgument(fmt::format(
          "a number in the body is malformed or does not fit in 64 bits ({}); model_version must be a version "
          "number from 1 to {} (or \"latest\" or an alias name), and cells must be ordinary numbers",
          simdjson::error_message(err), kMaxVersionNumber));
    }
    return InvalidArgument(fmt::format(
        "the body is not valid JSON ({}); send {{\"data\": [[...]], \"model_version\": \"1\"}}",
        simdjson::error_message(err)));
  }
  simdjson::dom::object obj;
  if (doc.get(obj)) {
    return InvalidArgument(fmt::format(
        "the body is {}, not a JSON object; send {{\"data\": [[...]], \"model_version\": \"1\"}}",
        TypeName(doc.type())));
  }
  InferenceRequest req;
  bool have_data = false;
  for (auto field : obj) {
    if (field.key == "data") {
      if (field.value.get(req.data)) {
        return InvalidArgument(fmt::format(
            "\"data\" is {}; it must be a list of rows (lists in the model's column order or "
            "objects keyed by column name)", TypeName(field.value.type())));
      }
      have_data = true;
    } else if (field.key == "model_version") {
      simdjson::dom::element v = field.value;
      using T = simdjson::dom::element_type;
      switch (v.type()) {
        case T::NULL_VALUE: req.model_spec.reset(); break;
        case T::INT64: req.model_spec = std::to_string(int64_t(v)); break;
        case T::UINT64: req.model_spec = std::to_string(uint64_t(v)); break;
        case T::STRING: {
          std::string_view s(v);
          if (s.empty()) return InvalidArgument(std::string("model_version is empty; ") + std::string(kVersionHint));
          req.model_spec = std::string(s);
          break;
        }
        case T::DOUBLE:
          return InvalidArgument(std::string("model_version is a non-integer number; ") +
                                 std::string(kVersionHint));
        default:
          return InvalidArgument(fmt::format("model_version is {}; {}", TypeName(v.type()), kVersionHint));
      }
    } else if (field.key == "model") {
      std::string_view name;
      if (!field.value.is_null() && field.value.get(name)) {
        return InvalidArgument(fmt::format("\"model\" is {}; send a model name as a string (\"default\" or "
                                           "omitted: the unnamed model)", TypeName(field.value.type())));
      }
      req.model_name = std::string(name);
    } else if (field.key == "threshold") {
      MB_ASSIGN_OR_RETURN(req.options.threshold, ThresholdFrom(field.value, "threshold"));
    } else if (field.key == "explain") {
      if (field.value.get(req.options.contributions)) {
        return InvalidArgument(fmt::format("\"explain\" is {}; send true (contributions per column) or false",
                                           TypeName(field.value.type())));
      }
    }
    // Other fields are ignored, as the seed's service did.
  }
  if (!have_data) {
    return InvalidArgument("the body has no \"data\" field; send {\"data\": [[...]], \"model_version\": \"1\"}");
  }
  req.rows = req.data.size();
  if (req.rows == 0) return InvalidArgument("\"data\" is empty; send at least one row");
  if (req.rows > max_rows) {
    return ResourceExhausted(fmt::format(
        "\"data\" has {} rows; the limit is {} per request (--max-rows); split the request",
        req.rows, max_rows));
  }
  return req;
}

std::optional<std::string_view> QueryParam(std::string_view target, std::string_view key) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return std::nullopt;
}

Status BuildCells(const InferenceRequest& request, const Schema& schema, CellMatrix& out) {
  const size_t cols = schema.features.size();
  out.rows = request.rows;
  out.cols = cols;
  out.cells.assign(request.rows * cols, Cell{});
  size_t r = 0;
  for (simdjson::dom::element row : request.data) {
    Cell* dst = out.cells.data() + r * cols;
    simdjson::dom::array list;
    simdjson::dom::object obj;
    if (!row.get(list)) {
      const size_t n = list.size();
      if (n != cols) {
        return InvalidArgument(fmt::format(
            "row {} has {} values; the model expects {} in this order: {}", r, n, cols,
            ExpectedColumns(schema)));
      }
      size_t c = 0;
      for (simdjson::dom::element v : list) {
        MB_RETURN_IF_ERROR(CellFrom(v, r, schema.features[c].name, dst[c]));
        ++c;
      }
    } else if (!row.get(obj)) {
      std::vector<bool> seen(cols, false);
      for (auto field : obj) {
        size_t c = 0;
        while (c < cols && schema.features[c].name != field.key) ++c;
        if (c == cols) {
          if (field.key == schema.target) continue;  // a labelled row: ignore the label
          return InvalidArgument(fmt::format(
              "row {}: unknown column \"{}\"; the model's columns are: {}", r, field.key,
              ExpectedColumns(schema)));
        }
        if (seen[c]) {
          return InvalidArgument(fmt::format("row {}: column \"{}\" appears twice", r, field.key));
        }
        seen[c] = true;
        MB_RETURN_IF_ERROR(CellFrom(field.value, r, field.key, dst[c]));
      }
    } else {
      return InvalidArgument(fmt::format(
          "row {} is {}; each row must be a list of values in the model's order ({}) or an "
          "object keyed by column name", r, TypeName(row.type()), ExpectedColumns(schema)));
    }
    ++r;
  }
  return Status::Ok();
}

void AppendJsonString(std::string_view s, std::string& out) {
  if (!simdjson::validate_utf8(s.data(), s.size())) {
    // Bytes from the wire that are not UTF-8: keep ASCII, replace the rest.
    std::string ascii;
    for (char ch : s) ascii += (static_cast<unsigned char>(ch) < 0x80) ? ch : '?';
    return AppendJsonString(ascii, out);
  }
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void AppendJsonNumber(double v, std::string& out) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  AppendShortestNumber(v, out);
}

bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

void AppendPredictionList(const Schema& schema, const Predictions& p, std::string& out) {
  out += '[';
  for (size_t i = 0; i < p.rows; ++i) {
    if (i) out += ',';
    const double v = p.values[i];
    if (!schema.is_classifier()) {
      AppendJsonNumber(v, out);
      continue;
    }
    const auto idx = static_cast<size_t>(v);
    if (!(v >= 0) || idx >= schema.class_labels.size()) {
      AppendJsonNumber(v, out);  // no label for it: the index itself
      continue;
    }
    const std::string& label = schema.class_labels[idx];
    if (schema.labels_numeric && IsJsonNumber(label)) {
      out += label;
    } else if (schema.labels_numeric) {
      char* end = nullptr;
      const double d = std::strtod(label.c_str(), &end);
      if (end && *end == '\0' && !label.empty()) {
        AppendJsonNumber(d, out);
      } else {
        AppendJsonString(label, out);
      }
    } else {
      AppendJsonString(label, out);
    }
  }
  out += ']';
}

Result<double> ThresholdFrom(simdjson::dom::element v, std::string_view where) {
  double t = 0;
  if (v.get(t) || !(t >= 0.0 && t <= 1.0)) {
    return InvalidArgument(fmt::format("{} must be a number from 0 to 1 (class 1 when its probability exceeds it; "
                                       "default 0.5)", where));
  }
  return t;
}

void AppendContributions(const Schema& schema, const Predictions& p, std::string& out) {
  const size_t width = schema.features.size(), groups = p.contribution_groups;
  auto group = [&](const float* c) {
    out += "{\"bias\":";
    AppendJsonNumber(c[width], out);
    out += ",\"columns\":{";
    for (size_t f = 0; f < width; ++f) {
      if (f) out += ',';
      AppendJsonString(schema.features[f].name, out);
      out += ':';
      AppendJsonNumber(c[f], out);
    }
    out += "}}";
  };
  out += '[';
  for (size_t r = 0; r < p.rows; ++r) {
    if (r) out += ',';
    const float* row = p.contributions.data() + r * groups * (width + 1);
    if (schema.task != TaskType::kMulticlass) {
      group(row);
      continue;
    }
    out += '[';
    for (size_t g = 0; g < groups; ++g) {
      if (g) out += ',';
      group(row + g * (width + 1));
    }
    out += ']';
  }
  out += ']';
}

void AppendResponseParts(int version, const Schema& schema, const Predictions& p,
                         std::string_view request_id, std::string& out) {
  fmt::format_to(std::back_inserter(out), "{{\"model_version\":\"{}\",\"predictions\":", version);
  AppendPredictionList(schema, p, out);
  if (schema.is_classifier() && p.num_classes > 0) {
    out += ",\"probabilities\":[";
    for (size_t i = 0; i < p.rows; ++i) {
      if (i) out += ',';
      out += '[';
      for (size_t k = 0; k < p.num_classes; ++k) {
        if (k) out += ',';
        AppendJsonNumber(p.probabilities[i * p.num_classes + k], out);
      }
      out += ']';
    }
    out += ']';
  }
  if (!p.contributions.empty()) {
    out += ",\"contributions\":";
    AppendContributions(schema, p, out);
  }
  out += ",\"request_id\":";
  AppendJsonString(request_id, out);
  out += ",\"message\":\"inference completed\"}";
}

void AppendInferenceResponse(const LoadedModel& model, const Predictions& predictions,
                             std::string_view request_id, std::string& out) {
  AppendResponseParts(model.version(), model.schema(), predictions, request_id, out);
}

std::string_view ErrorCodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kFailedPrecondition: return "no_model";
    case Code::kPermissionDenied: return "unauthorized";
    case Code::kUnavailable: return "unavailable";
    case Code::kDataLoss: return "data_loss";
    case Code::kResourceExhausted: return "too_large";
    case Code::kUnsupportedMedia: return "unsupported_media_type";
    case Code::kMethodNotAllowed: return "method_not_allowed";
    case Code::kHeadersTooLarge: return "headers_too_large";
    case Code::kCancelled: return "shutting_down";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

std::string ErrorBody(std::string_view code, std::string_view message) {
  std::string out = "{\"error\":";
  AppendJsonString(code, out);
  out += ",\"message\":";
  AppendJsonString(message, out);
  out += '}';
  return out;
}

}  // namespace modelbay::serve
