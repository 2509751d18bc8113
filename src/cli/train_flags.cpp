#include "cli/train_flags.h"

#include "cli/option_checks.h"
#include "train/booster.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace modelbay {
namespace {

Result<nlohmann::json> ReadParams(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("--params {}: cannot open the file", path));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument(fmt::format(
        "--params {}: not a JSON object; write XGBoost parameters as {{\"max_depth\": 4, \"eta\": 0.1, "
        "\"num_boost_round\": 200}}",
        path));
  }
  return j;
}

// "Count=numeric" -> {"Count", kNumeric}; the last '=' splits, so a column
// name may hold one.
Result<std::map<std::string, FeatureType>> ParseColumnTypes(const std::vector<std::string>& specs) {
  std::map<std::string, FeatureType> out;
  for (const auto& spec : specs) {
    const size_t eq = spec.rfind('=');
    const std::string name = eq == std::string::npos ? "" : spec.substr(0, eq);
    const std::string type = eq == std::string::npos ? "" : spec.substr(eq + 1);
    if (name.empty() || (type != "numeric" && type != "categorical")) {
      return InvalidArgument(fmt::format(
          "--column-type {}: write COLUMN=numeric or COLUMN=categorical (e.g. --column-type Count=numeric)", spec));
    }
    const FeatureType t = type == "numeric" ? FeatureType::kNumeric : FeatureType::kCategorical;
    auto [it, inserted] = out.emplace(name, t);
    if (!inserted && it->second != t) {
      return InvalidArgument(fmt::format("--column-type: column '{}' is given two types; keep one", name));
    }
  }
  return out;
}

}  // namespace

void TrainFlags::Add(CLI::App* cmd, bool with_data) {
  if (with_data) {
    cmd->add_option("--data", data, "Which data: latest (newest upload), all, or a data-store key")
        ->capture_default_str();
  }
  cmd->add_option("--target", target, "Target column (default: churn if present, else the last column)");
  cmd->add_option("--drop", drop, "Columns not to use as features (repeatable)");
  cmd->add_option("--column-type", column_types,
                  "COLUMN=numeric or COLUMN=categorical: force a feature's type (repeatable; default: "
                  "inferred, see docs/training.md)");
  cmd->add_option("--params", params_file,
                  "JSON file of XGBoost parameters over the defaults (num_boost_round sets the rounds); an\n"
                  "unknown name is refused with the nearest XGBoost 1.7 parameter");
  cmd->add_flag("--allow-unknown-params", allow_unknown_params,
                "Hand --params keys that are not XGBoost 1.7 parameter names to XGBoost anyway");
  cmd->add_option("--tolerance", tolerance,
                  "--promote auto: how much worse than production a new version may score and still be promoted")
      ->check(NumberIn(0, 1e9))
      ->capture_default_str();
}

Result<TrainOptions> TrainFlags::Build() const {
  TrainOptions options;
  options.data = data;
  if (!target.empty()) options.target = target;
  options.drop = drop;
  MB_ASSIGN_OR_RETURN(options.column_types, ParseColumnTypes(column_types));
  options.promote_tolerance = tolerance;
  if (!params_file.empty()) {
    MB_ASSIGN_OR_RETURN(options.params, ReadParams(params_file));
    if (!allow_unknown_params) {
      MB_RETURN_IF_ERROR(CheckParamNames(options.params).WithContext("--params " + params_file));
    }
  }
  return options;
}

}  // namespace modelbay
