// `modelbay train`: selected data -> a new registered version, then the
// promotion gate. Progress on stderr; the result on stdout (JSON with --json).
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_option.h"
#include "cli/train_flags.h"
#include "registry/model_name.h"
#include "registry/registry.h"
#include "store/store.h"
#include "train/collective.h"
#include "train/launcher.h"
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
  int workers = 0;           // --workers N: N local processes
  bool distributed = false;  // one worker of a scheduler's job
  std::string model;         // --model ("" = the unnamed model)
};

// This command line as a worker runs it: `--workers N` becomes
// `--distributed` (read from /proc so global flags such as --config carry over).
Result<std::vector<std::string>> WorkerArgs() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  if (args.empty()) return Internal("cannot read /proc/self/cmdline");
  std::vector<std::string> out;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--workers") {
      ++i;
      continue;
    }
    if (args[i].rfind("--workers=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  out.push_back("--distributed");
  return out;
}

// One worker of a distributed job: its place from the environment, the
// tracker on the main node, then the training with the others.
Result<TrainOutcome> TrainAsWorker(const TrainOptions& options, Store& data, Registry& registry) {
  MB_ASSIGN_OR_RETURN(WorkerPlace place, WorkerPlaceFromEnv(EnvironmentMap()));
  std::optional<TrackerProcess> tracker;
  if (place.runs_tracker) {
    MB_ASSIGN_OR_RETURN(TrackerProcess started,
                        TrackerProcess::Start("0.0.0.0", place.tracker_port, place.collective.world_size));
    tracker.emplace(std::move(started));
  }
  MB_ASSIGN_OR_RETURN(std::unique_ptr<Collective> team, Collective::Join(place.collective));
  return Train(options, data, registry, *team);
}

Status RunTrain(const CliContext& ctx, const TrainCommandFlags& flags) {
  MB_ASSIGN_OR_RETURN(std::string model, ParseModelName(flags.model));  // before any worker starts
  if (flags.workers > 0) {
    MB_ASSIGN_OR_RETURN(std::vector<std::string> args, WorkerArgs());
    return RunLocalWorkers(flags.workers, args);
  }
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
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> models, OpenModelStore(cfg, model));
  Registry registry(models);
  MB_ASSIGN_OR_RETURN(TrainOutcome outcome, flags.distributed ? TrainAsWorker(options, *data, registry)
                                                              : Train(options, *data, registry));
  if (outcome.rank != 0) return Status::Ok();  // the result is printed once, by the first worker

  if (flags.json) {
    nlohmann::json out = {{"model", DisplayModelName(model)},
                          {"version", outcome.version},
                          {"metrics", outcome.metrics},
                          {"promoted", outcome.promoted},
                          {"promotion", outcome.promotion},
                          {"data_keys", outcome.data_keys}};
    std::cout << out.dump() << "\n";
    return Status::Ok();
  }
  if (!model.empty()) std::cout << fmt::format("model {}\n", model);
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
  AddModelOption(cmd, flags->model);
  cmd->add_flag("--json", flags->json, "Print the result as JSON");
  cmd->add_flag("-q,--quiet", flags->quiet, "No progress lines on stderr");
  auto* workers = cmd->add_option("--workers", flags->workers,
                                  "Distributed training in N processes on this machine (XGBoost's tracker and N "
                                  "workers on 127.0.0.1; each reads 1/N of the data)")
                      ->check(CLI::Range(1, 256));
  cmd->add_flag("--distributed", flags->distributed,
                "Be one worker of a distributed training started by a scheduler (AWS Batch multi-node parallel "
                "or DMLC_* variables; see docs/training.md)")
      ->excludes(workers);
  SetAction(cmd, ctx, [&ctx, flags] { return RunTrain(ctx, *flags); });
}

}  // namespace modelbay
