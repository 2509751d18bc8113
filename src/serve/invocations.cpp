// MLflow's scoring contract on Service: POST /invocations with a JSON
// payload (dataframe_split, dataframe_records, instances or inputs) or a
// text/csv body (a header row naming the columns), answering
// {"predictions": [...]}, or one prediction per line when Accept asks for
// text/csv (SageMaker's container contract). Options: "params" in the JSON
// body or the query string: threshold (binary models), explain (adds
// "contributions"). Scored and logged through Service::ScoreAndLog, as
// /inference is. Also GET /version (MLflow's scoring server has it).
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "core/csv.h"
#include "core/strings.h"
#include "modelbay_version.h"
#include "serve/codec.h"
#include "serve/service.h"

namespace modelbay::serve {
namespace {

using Element = simdjson::dom::element;

constexpr std::string_view kPayloads =
    "send one of {\"dataframe_split\": {\"columns\": [...], \"data\": [[...]]}}, {\"dataframe_records\": "
    "[{...}]}, {\"instances\": [...]}, {\"inputs\": ...}, or a text/csv body with a header row";

bool IsCsv(std::string_view content_type) {
  return EqualsIgnoreCase(TrimAscii(content_type.substr(0, content_type.find(';'))), "text/csv");
}

// The schema position of each named column; -1 for the target (ignored).
// An unknown or repeated name is InvalidArgument naming it and `where`.
Result<std::vector<long>> ColumnMap(const std::vector<std::string_view>& names, const Schema& schema,
                                    std::string_view where) {
  std::vector<long> map;
  std::vector<bool> seen(schema.features.size(), false);
  for (std::string_view name : names) {
    long c = -1;
    for (size_t i = 0; i < schema.features.size(); ++i) {
      if (schema.features[i].name == name) c = static_cast<long>(i);
    }
    if (c < 0 && name != schema.target) {
      return InvalidArgument(fmt::format("{}: unknown column \"{}\"; the model's columns are: {}", where, name,
                                         ExpectedColumns(schema)));
    }
    if (c >= 0 && seen[static_cast<size_t>(c)]) {
      return InvalidArgument(fmt::format("{}: column \"{}\" appears twice", where, name));
    }
    if (c >= 0) seen[static_cast<size_t>(c)] = true;
    map.push_back(c);
  }
  return map;
}

Status CheckRows(size_t rows, size_t max_rows) {
  if (rows == 0) return InvalidArgument("the payload holds no rows; send at least one");
  if (rows > max_rows) {
    return ResourceExhausted(fmt::format("the payload has {} rows; the limit is {} per request (--max-rows); "
                                         "split the request", rows, max_rows));
  }
  return Status::Ok();
}

void StartCells(size_t rows, const Schema& schema, CellMatrix& out) {
  out.rows = rows;
  out.cols = schema.features.size();
  out.cells.assign(rows * out.cols, Cell{});
}

// {"columns": [...], "data": [[...]]} (pandas' orient="split"; "index" ignored).
Status FromSplit(Element split, const Schema& schema, size_t max_rows, CellMatrix& out) {
  simdjson::dom::object obj;
  simdjson::dom::array data;
  if (split.get(obj) || obj["data"].get(data)) {
    return InvalidArgument("\"dataframe_split\" must be an object with a \"data\" list of rows");
  }
  std::vector<long> map;
  simdjson::dom::array columns;
  if (!obj["columns"].get(columns)) {
    std::vector<std::string_view> names;
    for (Element c : columns) {
      std::string_view name;
      if (c.get(name)) return InvalidArgument("\"dataframe_split\".\"columns\" must hold column names (strings)");
      names.push_back(name);
    }
    MB_ASSIGN_OR_RETURN(map, ColumnMap(names, schema, "dataframe_split"));
  } else {
    for (size_t c = 0; c < schema.features.size(); ++c) map.push_back(static_cast<long>(c));
  }
  MB_RETURN_IF_ERROR(CheckRows(data.size(), max_rows));
  StartCells(data.size(), schema, out);
  size_t r = 0;
  for (Element row : data) {
    simdjson::dom::array values;
    if (row.get(values) || values.size() != map.size()) {
      return InvalidArgument(fmt::format("dataframe_split row {}: must be a list of {} values, one per column", r,
                                         map.size()));
    }
    size_t i = 0;
    for (Element v : values) {
      const long c = map[i++];
      if (c < 0) continue;  // the target column
      MB_RETURN_IF_ERROR(CellFrom(v, r, schema.features[static_cast<size_t>(c)].name,
                                  out.cells[r * out.cols + static_cast<size_t>(c)]));
    }
    ++r;
  }
  return Status::Ok();
}

// {"col": [v, v, ...], ...}: MLflow's columnar "inputs".
Status FromColumnar(simdjson::dom::object obj, const Schema& schema, size_t max_rows, CellMatrix& out) {
  std::vector<std::string_view> names;
  std::vector<simdjson::dom::array> columns;
  for (auto field : obj) {
    simdjson::dom::array values;
    if (field.value.get(values)) {
      return InvalidArgument(fmt::format("inputs: column \"{}\" must be a list of values", field.key));
    }
    names.push_back(field.key);
    columns.push_back(values);
  }
  MB_ASSIGN_OR_RETURN(std::vector<long> map, ColumnMap(names, schema, "inputs"));
  const size_t rows = columns.empty() ? 0 : columns[0].size();
  MB_RETURN_IF_ERROR(CheckRows(rows, max_rows));
  StartCells(rows, schema, out);
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].size() != rows) {
      return InvalidArgument(fmt::format("inputs: column \"{}\" has {} values but \"{}\" has {}", names[i],
                                         columns[i].size(), names[0], rows));
    }
    if (map[i] < 0) continue;
    const auto c = static_cast<size_t>(map[i]);
    size_t r = 0;
    for (Element v : columns[i]) {
      MB_RETURN_IF_ERROR(CellFrom(v, r, names[i], out.cells[r * out.cols + c]));
      ++r;
    }
  }
  return Status::Ok();
}

// A list of rows (lists in column order or objects keyed by column name),
// exactly as /inference's "data".
Status FromRows(Element rows, std::string_view key, const Schema& schema, size_t max_rows, CellMatrix& out) {
  InferenceRequest req;
  if (rows.get(req.data)) return InvalidArgument(fmt::format("\"{}\" must be a list of rows", key));
  req.rows = req.data.size();
  MB_RETURN_IF_ERROR(CheckRows(req.rows, max_rows));
  return BuildCells(req, schema, out);
}

// "explain" from text or JSON: true or false.
Result<bool> ExplainFrom(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return InvalidArgument(fmt::format("explain is \"{}\"; send true or false", text));
}

// MLflow's "params": {"threshold": 0.3, "explain": true}; others ignored.
Status ParamsFrom(Element params, PredictOptions& options) {
  simdjson::dom::object obj;
  if (params.get(obj)) return InvalidArgument("\"params\" must be an object, e.g. {\"threshold\": 0.3}");
  Element v;
  if (!obj["threshold"].get(v)) {
    MB_ASSIGN_OR_RETURN(options.threshold, ThresholdFrom(v, "params.threshold"));
  }
  if (!obj["explain"].get(v) && v.get(options.contributions)) {
    return InvalidArgument("params.explain must be true or false");
  }
  return Status::Ok();
}

// The query string's threshold and explain (for text/csv bodies, which have
// no params). Other query parameters are ignored here.
Status QueryOptions(std::string_view target, PredictOptions& options) {
  if (auto value = QueryParam(target, "threshold")) {
    thread_local simdjson::dom::parser parser;
    Element v;
    if (parser.parse(std::string(*value)).get(v)) {
      return InvalidArgument("the query's threshold must be a number from 0 to 1");
    }
    MB_ASSIGN_OR_RETURN(options.threshold, ThresholdFrom(v, "the query's threshold"));
  }
  if (auto value = QueryParam(target, "explain")) {
    MB_ASSIGN_OR_RETURN(options.contributions, ExplainFrom(*value));
  }
  return Status::Ok();
}

// What Accept asks for: CSV, or JSON (also for */*, application/* and no
// Accept). The first acceptable media range wins; q-values are not weighed.
Result<bool> WantsCsv(std::string_view accept) {
  if (accept.empty()) return false;
  std::string_view rest = accept;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view media = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    media = media.substr(0, media.find(';'));
    while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    if (IsCsv(media) || media == "text/*") return true;
    if (IsJsonContentType(media) || media == "*/*" || media == "application/*") return false;
  }
  return InvalidArgument(fmt::format("Accept is \"{}\"; /invocations answers application/json or text/csv",
                                     accept));
}

// One prediction per line, as SageMaker's built-in algorithms answer
// text/csv: the label (classifiers) or the value (regression).
void AppendCsvPredictions(const LoadedModel& m, const Predictions& p, std::string& out) {
  for (size_t r = 0; r < p.rows; ++r) {
    const std::string label = m.LabelText(p, r);
    if (label.find_first_of(",\"\r\n") == std::string::npos) {
      out += label;
    } else {
      out += '"';
      for (char c : label) out += c == '"' ? std::string("\"\"") : std::string(1, c);
      out += '"';
    }
    out += '\n';
  }
}

Status FromJson(const std::string& body, const Schema& schema, size_t max_rows, CellMatrix& out,
                PredictOptions& options) {
  thread_local simdjson::dom::parser parser;
  Element doc;
  if (auto err = parser.parse(body).get(doc)) {
    return InvalidArgument(fmt::format("the body is not valid JSON ({}); {}", simdjson::error_message(err),
                                       kPayloads));
  }
  simdjson::dom::object obj;
  if (doc.get(obj)) return InvalidArgument(fmt::format("the body is not a JSON object; {}", kPayloads));
  std::string_view key;
  Element payload;
  for (auto field : obj) {
    if (field.key == "params") {
      MB_RETURN_IF_ERROR(ParamsFrom(field.value, options));
      continue;
    }
    if (field.key != "dataframe_split" && field.key != "dataframe_records" && field.key != "instances" &&
        field.key != "inputs") {
      continue;  // other fields are ignored
    }
    if (!key.empty()) {
      return InvalidArgument(fmt::format("the body has both \"{}\" and \"{}\"; send exactly one", key, field.key));
    }
    key = field.key;
    payload = field.value;
  }
  if (key.empty()) return InvalidArgument(fmt::format("the body has no payload; {}", kPayloads));
  if (key == "dataframe_split") return FromSplit(payload, schema, max_rows, out);
  simdjson::dom::object columnar;
  if (key == "inputs" && !payload.get(columnar)) return FromColumnar(columnar, schema, max_rows, out);
  return FromRows(payload, key, schema, max_rows, out);
}

Status FromCsv(const CsvTable& table, const Schema& schema, size_t max_rows, CellMatrix& out) {
  std::vector<std::string_view> names(table.header().begin(), table.header().end());
  MB_ASSIGN_OR_RETURN(std::vector<long> map, ColumnMap(names, schema, "the CSV header"));
  MB_RETURN_IF_ERROR(CheckRows(table.rows(), max_rows));
  StartCells(table.rows(), schema, out);
  for (size_t c = 0; c < map.size(); ++c) {
    if (map[c] < 0) continue;
    const auto col = static_cast<size_t>(map[c]);
    for (size_t r = 0; r < table.rows(); ++r) {
      // An empty field is a missing value, as in training data.
      const std::string_view text = table.cell(r, c);
      if (!text.empty()) out.cells[r * out.cols + col] = text;
    }
  }
  return Status::Ok();
}

}  // namespace

void Service::Invocations(const Request& request, Reply& reply, bool defer_log) {
  reply.request_id = SaneRequestId(request.request_id) ? std::string(request.request_id) : NextRequestId();
  const bool csv = IsCsv(request.content_type);
  if (!csv && !IsJsonContentType(request.content_type)) {
    return Error(UnsupportedMedia(fmt::format("Content-Type is \"{}\"; /invocations takes application/json "
                                              "(MLflow's payloads) or text/csv", request.content_type)),
                 reply);
  }
  auto csv_answer = WantsCsv(request.accept);
  if (!csv_answer.ok()) return Error(csv_answer.status(), reply);
  PredictOptions options;
  if (Status s = QueryOptions(request.target, options); !s.ok()) return Error(s, reply);
  auto target = Target(QueryParam(request.target, "model").value_or(""));
  if (!target.ok()) return Error(target.status(), reply);
  auto model = target->cache->Get(std::nullopt);
  if (!model.ok()) return Error(model.status(), reply);
  const Schema& schema = (*model)->schema();
  CellMatrix cells;
  std::optional<CsvTable> table;  // the CSV cells view it until ScoreAndLog has copied them
  if (csv) {
    auto parsed = ParseCsv(request.body, "the request body");
    if (!parsed.ok()) return Error(parsed.status(), reply);
    table = std::move(*parsed);
    if (Status s = FromCsv(*table, schema, options_.max_rows, cells); !s.ok()) return Error(s, reply);
  } else if (Status s = FromJson(request.body, schema, options_.max_rows, cells, options); !s.ok()) {
    return Error(s, reply);
  }
  if (*csv_answer && options.contributions) {
    return Error(InvalidArgument("explain answers in JSON: send Accept: application/json with explain"), reply);
  }
  ScoreAndLog(*target, std::move(*model), std::move(cells), options, reply, defer_log,
              [csv = *csv_answer](const LoadedModel& m, const Predictions& p, Reply& out) {
                if (csv) {
                  out.content_type = "text/csv";
                  AppendCsvPredictions(m, p, out.body);
                  return;
                }
                out.body = "{\"predictions\":";
                AppendPredictionList(m.schema(), p, out.body);
                if (!p.contributions.empty()) {
                  out.body += ",\"contributions\":";
                  AppendContributions(m.schema(), p, out.body);
                }
                out.body += '}';
              });
}

}  // namespace modelbay::serve
