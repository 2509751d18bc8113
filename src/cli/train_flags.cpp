#include "cli/train_flags.h"

#include "cli/option_checks.h"

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

}  // namespace

void TrainFlags::Add(CLI::App* cmd, bool with_data) {
  if (with_data) {
    cmd->add_option("--data", data, "Which data: latest (newest upload), all, or a data-store key")
        ->capture_default_str();
  }
  cmd->add_option("--target", target, "Target column (default: churn if present, else the last column)");
  cmd->add_option("--drop", drop, "Columns not to use as features (repeatable)");
  cmd->add_option("--params", params_file,
                  "JSON file of XGBoost parameters over the defaults (num_boost_round sets the rounds)");
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
  options.promote_tolerance = tolerance;
  if (!params_file.empty()) {
    MB_ASSIGN_OR_RETURN(options.params, ReadParams(params_file));
  }
  return options;
}

}  // namespace modelbay
