#include "results/row_format.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include "core/clock.h"
#include "core/strings.h"

namespace modelbay::results {

void AppendCsvField(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string HeaderLine(const Schema& schema) {
  std::string out = "timestamp,request_id,model_version";
  for (const auto& f : schema.features) {
    out.push_back(',');
    AppendCsvField(out, f.name);
  }
  out += ",prediction";
  if (schema.is_classifier()) {
    for (const auto& label : schema.class_labels) {
      out.push_back(',');
      AppendCsvField(out, "prob_" + label);
    }
  }
  out.push_back('\n');
  return out;
}

std::string FormatRows(const Schema& schema, int version, std::string_view request_id,
                       const CellMatrix& inputs, const std::vector<std::string>& labels,
                       const Predictions& predictions, std::chrono::system_clock::time_point timestamp,
                       std::optional<uint64_t> first_row) {
  std::string prefix;
  AppendIso8601(timestamp, prefix);
  const size_t time_bytes = prefix.size();
  auto set_prefix = [&](size_t r) {
    prefix.resize(time_bytes);
    prefix.push_back(',');
    if (first_row) {
      AppendCsvField(prefix, fmt::format("{}/{}", request_id, *first_row + r));
    } else {
      AppendCsvField(prefix, request_id);
    }
    fmt::format_to(std::back_inserter(prefix), ",{}", version);
  };
  set_prefix(0);

  const size_t classes = schema.is_classifier() ? schema.class_labels.size() : 0;
  std::string out;
  out.reserve(inputs.rows * (prefix.size() + 16 * (inputs.cols + classes + 1)));
  for (size_t r = 0; r < inputs.rows; ++r) {
    if (first_row && r > 0) set_prefix(r);
    out += prefix;
    for (size_t c = 0; c < inputs.cols; ++c) {
      out.push_back(',');
      const Cell& cell = inputs.at(r, c);
      if (const double* d = std::get_if<double>(&cell)) {
        AppendShortestNumber(*d, out);
      } else if (const auto* s = std::get_if<std::string_view>(&cell)) {
        AppendCsvField(out, *s);
      }
    }
    out.push_back(',');
    AppendCsvField(out, r < labels.size() ? std::string_view(labels[r]) : std::string_view());
    for (size_t k = 0; k < classes; ++k) {
      out.push_back(',');
      size_t i = r * predictions.num_classes + k;
      if (k < predictions.num_classes && i < predictions.probabilities.size()) {
        // FMT_COMPILE: the same bytes as a runtime "{}", without parsing it per value.
        fmt::format_to(std::back_inserter(out), FMT_COMPILE("{}"), predictions.probabilities[i]);
      }
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace modelbay::results
