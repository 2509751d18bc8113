// `modelbay train`: selected data -> a new registered version, then the
// promotion gate. Progress on stderr; the result on stdout (JSON with --json).
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "registry/registry.h"
#include "store/store.h"
#include "train/trainer.h"

namespace modelbay {
namespace {

struct TrainFlags {
  std::string data = "latest";
  std::string target;
  std::vector<std::string> drop;
  std::string params_file;
  std::string promote = "auto";
  double tolerance = 0.0;
  std::string trigger = "manual";
  std::string code_rev;
  bool json = false;
  bool quiet = false;
};

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

Status RunTrain(const CliContext& ctx, const TrainFlags& flags) {
  TrainOptions options;
  options.data = flags.data;
  if (!flags.target.empty()) options.target = flags.target;
  options.drop = flags.drop;
  if (!flags.params_file.empty()) {
    MB_ASSIGN_OR_RETURN(options.params, ReadParams(flags.params_file));
  }
  options.promote = flags.promote == "always" ? PromoteMode::kAlways
                    : flags.promote == "never" ? PromoteMode::kNever
                                               : PromoteMode::kAuto;
  options.promote_tolerance = flags.tolerance;
  options.trigger = flags.trigger;
  options.code_rev = flags.code_rev;
  if (!flags.code_rev.empty()) options.trigger_detail["code_rev"] = flags.code_rev;
  options.show_progress = !flags.quiet;

  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> data, OpenStore(cfg.data, cfg));
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> models, OpenStore(cfg.models, cfg));
  Registry registry(models);
  MB_ASSIGN_OR_RETURN(TrainOutcome outcome, Train(options, *data, registry));

  if (flags.json) {
    nlohmann::json out = {{"version", outcome.version},
                          {"metrics", outcome.metrics},
                          {"promoted", outcome.promoted},
                          {"promotion", outcome.promotion},
                          {"data_keys", outcome.data_keys}};
    std::cout << out.dump() << "\n";
    return Status::Ok();
  }
  std::cout << fmt::format("version {}\n", outcome.version);
  std::cout << "metrics:";
  for (const auto& [k, v] : outcome.metrics.items()) {
    std::cout << " " << k << "=" << (v.is_number_float() ? fmt::format("{:.4f}", v.get<double>()) : v.dump());
  }
  std::cout << fmt::format("\npromotion: {}\n", outcome.promotion);
  return Status::Ok();
}

}  // namespace

void RegisterTrainCommands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a model on the data store's data and register it as a new version");
  cmd->add_option("--data", flags->data, "Which data: latest (newest upload), all, or a data-store key")
      ->capture_default_str();
  cmd->add_option("--target", flags->target, "Target column (default: churn if present, else the last column)");
  cmd->add_option("--drop", flags->drop, "Columns not to use as features (repeatable)");
  cmd->add_option("--params", flags->params_file,
                  "JSON file of XGBoost parameters over the defaults (num_boost_round sets the rounds)");
  cmd->add_option("--promote", flags->promote,
                  "auto: become production only if no worse than it on this holdout; always; never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  cmd->add_option("--tolerance", flags->tolerance, "auto: how much worse than production the new version may score")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--trigger", flags->trigger, "What started this training (recorded in the metadata)")
      ->check([](const std::string& s) {
        return s.empty() || s.size() > 64 ? std::string("must be 1 to 64 characters") : std::string();
      })
      ->capture_default_str();
  cmd->add_option("--code-rev", flags->code_rev, "Code revision to record (default: the build's git revision)");
  cmd->add_flag("--json", flags->json, "Print the result as JSON");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress lines on stderr");
  SetAction(cmd, ctx, [&ctx, flags] { return RunTrain(ctx, *flags); });
}

}  // namespace modelbay
