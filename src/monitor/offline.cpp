#include "monitor/offline.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/csv.h"
#include "model/baseline.h"
#include "model/values.h"
#include "monitor/drift.h"

namespace modelbay::monitor {
namespace {

constexpr size_t kBlockRows = 8192;

// Where the columns the drift needs are in the log's header.
struct LogColumns {
  long timestamp = -1;
  std::vector<long> features;
  long prediction = -1;
  std::vector<long> probabilities;  // classifiers, class order
};

Result<LogColumns> FindColumns(const CsvFileReader& reader, const Schema& schema, std::string_view source) {
  // A block of no rows carries the header; find_column works on a table.
  const auto& header = reader.header();
  auto find = [&](std::string_view name) -> long {
    auto it = std::find(header.begin(), header.end(), name);
    return it == header.end() ? -1 : static_cast<long>(it - header.begin());
  };
  auto need = [&](std::string_view name) -> Result<long> {
    long at = find(name);
    if (at < 0) {
      return InvalidArgument(fmt::format("{}: has no column \"{}\"; it is not a prediction log of this version "
                                         "(see `modelbay results export`)",
                                         source, name));
    }
    return at;
  };
  LogColumns out;
  MB_ASSIGN_OR_RETURN(out.timestamp, need("timestamp"));
  for (const auto& f : schema.features) {
    MB_ASSIGN_OR_RETURN(long at, need(f.name));
    out.features.push_back(at);
  }
  MB_ASSIGN_OR_RETURN(out.prediction, need("prediction"));
  if (schema.is_classifier()) {
    for (const auto& label : schema.class_labels) {
      MB_ASSIGN_OR_RETURN(long at, need("prob_" + label));
      out.probabilities.push_back(at);
    }
  }
  return out;
}

Status CellError(const CsvTable& t, size_t row, std::string_view column, std::string_view what) {
  return InvalidArgument(fmt::format("{}:{}: column \"{}\": {}", t.source_of(row), t.line_of(row), column, what));
}

// Row `r` of the log as the server saw it: its inputs (text, as logged) and
// the model's output.
Status ReadRow(const CsvTable& t, size_t r, const LogColumns& cols, const Schema& schema, CellMatrix& cells,
               Predictions& p) {
  cells.rows = 1;
  cells.cols = cols.features.size();
  cells.cells.clear();
  for (long c : cols.features) {
    std::string_view text = t.cell(r, static_cast<size_t>(c));
    cells.cells.emplace_back(text.empty() ? Cell() : Cell(text));
  }
  p.rows = 1;
  p.num_classes = schema.is_classifier() ? schema.class_labels.size() : 0;
  p.values.assign(1, 0.0);
  p.probabilities.clear();
  const std::string_view predicted = t.cell(r, static_cast<size_t>(cols.prediction));
  if (!schema.is_classifier()) {
    auto v = ParseNumber(predicted);
    if (!v) return CellError(t, r, "prediction", fmt::format("\"{}\" is not a number", predicted));
    p.values[0] = *v;
    return Status::Ok();
  }
  auto it = std::find(schema.class_labels.begin(), schema.class_labels.end(), predicted);
  if (it == schema.class_labels.end()) {
    return CellError(t, r, "prediction", fmt::format("\"{}\" is not a class of this version", predicted));
  }
  p.values[0] = static_cast<double>(it - schema.class_labels.begin());
  for (size_t k = 0; k < cols.probabilities.size(); ++k) {
    auto v = ParseNumber(t.cell(r, static_cast<size_t>(cols.probabilities[k])));
    if (!v) return CellError(t, r, "prob_" + schema.class_labels[k], "is not a number");
    p.probabilities.push_back(static_cast<float>(*v));  // logged from a float: reads back exactly
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> ParseSince(std::string_view text) {
  std::string s(text);
  if (!s.empty() && s.back() == 'Z') s.pop_back();
  // YYYY-MM-DD then optionally THH, :MM, :SS, .fff...
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  bool ok = s.size() >= 10;
  for (size_t i = 0; ok && i < s.size(); ++i) {
    const char want = i < kShape.size() ? kShape[i] : (i == kShape.size() ? '.' : 'd');
    ok = want == 'd' ? std::isdigit(static_cast<unsigned char>(s[i])) != 0 : s[i] == want;
  }
  if (ok) ok = s.size() == 10 || s.size() == 13 || s.size() == 16 || s.size() >= 19;
  if (!ok || s.size() == 20) {
    return InvalidArgument(fmt::format("--since \"{}\" is not a UTC time like 2026-12-02, 2026-12-02T01:30 or "
                                       "2026-12-02T01:30:00Z",
                                       text));
  }
  return s;
}

Result<nlohmann::json> DriftFromLog(const LoadedModel& model, const std::filesystem::path& log,
                                    const OfflineOptions& options) {
  const BaselineState& state = model.baseline();
  if (state.kind != BaselineState::Kind::kOk) return DriftDocument(model, nullptr, {}, 0, options.model);
  const Schema& schema = model.schema();
  MB_ASSIGN_OR_RETURN(auto reader, CsvFileReader::Open(log, log.string()));
  MB_ASSIGN_OR_RETURN(LogColumns cols, FindColumns(*reader, schema, log.string()));
  DriftLayout layout(state.baseline, model.preprocessor());
  std::vector<uint64_t> counters(layout.slots(), 0);
  std::vector<uint32_t> slots;
  CellMatrix cells;
  Predictions predictions;
  for (;;) {
    MB_ASSIGN_OR_RETURN(CsvTable block, reader->NextBlock(kBlockRows));
    if (block.rows() == 0) break;
    for (size_t r = 0; r < block.rows(); ++r) {
      if (!options.since.empty() && block.cell(r, static_cast<size_t>(cols.timestamp)) < options.since) continue;
      MB_RETURN_IF_ERROR(ReadRow(block, r, cols, schema, cells, predictions));
      slots.clear();
      layout.RowSlots(cells, 0, predictions, slots);
      for (uint32_t s : slots) ++counters[s];
    }
  }
  nlohmann::json doc = DriftDocument(model, &layout, counters, 0, options.model);
  doc["window"] = {{"rows", counters[0]},
                   {"since", options.since.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.since)}};
  return doc;
}

}  // namespace modelbay::monitor
