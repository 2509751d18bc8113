// `modelbay train`: selected data -> a new registered version, then the
// promotion gate. Progress on stderr; the result on stdout (JSON with --json).
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/train_flags.h"
#include "registry/registry.h"
#include "store/store.h"
#include "train/trainer.h"

namespace modelbay {
namespace {

struct TrainCommandFlags {
  TrainFlags train;
  std::string promote = "auto";
  std::string trigger = "manual";
  std::string code_rev;
  bool json = false;
  bool quiet = false;
};

Status RunTrain(const CliContext& ctx, const TrainCommandFlags& flags) {
  MB_ASSIGN_OR_RETURN(TrainOptions options, flags.train.Build());
  options.promote = flags.promote == "always" ? PromoteMode::kAlways
                    : flags.promote == "never" ? PromoteMode::kNever
                                               : PromoteMode::kAuto;
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
  auto flags = std::make_shared<TrainCommandFlags>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a model on the data store's data and register it as a new version");
  flags->train.Add(cmd, /*with_data=*/true);
  cmd->add_option("--promote", flags->promote,
                  "auto: become production only if no worse than it on this holdout; always; never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
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
