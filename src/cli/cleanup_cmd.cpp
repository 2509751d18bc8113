// `modelbay cleanup`: empties stores, including every old version and delete
// marker of a versioned bucket (what the seed's cleanup.py did before
// `terraform destroy`). Shows what it would delete, then asks, unless --yes.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "store/store.h"

namespace modelbay {
namespace {

struct Target {
  std::string name;
  std::shared_ptr<Store> store;
};

std::string Summary(const CleanupReport& r) {
  return fmt::format("{} objects, {} old versions, {} delete markers", r.objects, r.old_versions, r.delete_markers);
}

bool Empty(const CleanupReport& r) { return r.objects + r.old_versions + r.delete_markers == 0; }

}  // namespace

void RegisterCleanupCommands(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand(
      "cleanup", "Delete everything in a store (all object versions and delete markers), e.g. before terraform destroy");
  struct Args {
    std::string which = "all";
    bool dry_run = false, yes = false, json = false;
    size_t list = 20;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--store", args->which, "data, models, results or all")
      ->check(CLI::IsMember({"data", "models", "results", "all"}))
      ->capture_default_str();
  cmd->add_flag("--dry-run", args->dry_run, "Only show what would be deleted (counts and the keys)");
  cmd->add_option("--list", args->list, "With --dry-run: how many keys to list per store (then a count of the rest)")
      ->capture_default_str()
      ->check(IntegerIn(0, 100'000'000));
  cmd->add_flag("--json", args->json, "With --dry-run: print what would be deleted as JSON (every key)");
  cmd->add_flag("-y,--yes", args->yes, "Do not ask for confirmation");

  SetAction(cmd, ctx, [&ctx, args]() -> Status {
    MB_ASSIGN_OR_RETURN(auto cfg, ctx.LoadConfig());
    std::vector<std::pair<std::string, const StoreLocation*>> wanted = {
        {"data", &cfg.data}, {"models", &cfg.models}, {"results", &cfg.results}};
    std::vector<Target> targets;
    for (const auto& [name, loc] : wanted) {
      if (args->which != "all" && args->which != name) continue;
      MB_ASSIGN_OR_RETURN(auto store, OpenStore(*loc, cfg));
      targets.push_back({name, store});
    }

    if (args->json && !args->dry_run) return InvalidArgument("--json goes with --dry-run");
    bool anything = false;
    nlohmann::json doc = {{"dry_run", true}, {"stores", nlohmann::json::array()}};
    for (const auto& t : targets) {
      MB_ASSIGN_OR_RETURN(CleanupReport r, t.store->Cleanup(/*dry_run=*/true));
      anything = anything || !Empty(r);
      if (args->json) {
        doc["stores"].push_back({{"name", t.name}, {"store", RedactUrlCredentials(t.store->Describe())},
                                 {"objects", r.objects}, {"old_versions", r.old_versions},
                                 {"delete_markers", r.delete_markers}, {"keys", r.keys}});
        continue;
      }
      std::cout << fmt::format("{} store {}: {}{}\n", t.name, t.store->Describe(), Summary(r),
                               args->dry_run && !Empty(r) ? " would be deleted" : "");
      if (!args->dry_run) continue;
      const size_t shown = std::min(args->list, r.keys.size());
      for (size_t i = 0; i < shown; ++i) std::cout << "  " << r.keys[i] << "\n";
      if (shown < r.keys.size()) std::cout << fmt::format("  ... and {} more keys (--list N shows more)\n", r.keys.size() - shown);
    }
    if (args->dry_run) {
      if (args->json) {
        std::cout << doc.dump(2) << "\n";
      } else {
        std::cout << "dry run: nothing deleted\n";
      }
      return Status::Ok();
    }
    if (!anything) {
      std::cout << "nothing to delete\n";
      return Status::Ok();
    }
    if (!args->yes) {
      if (::isatty(STDIN_FILENO) == 0) {
        return FailedPrecondition(
            "cleanup deletes data permanently and stdin is not a terminal, so it cannot ask: pass --yes to confirm "
            "(or --dry-run to only look)");
      }
      std::cout << "Delete all of this permanently? [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes") {
        std::cout << "nothing deleted\n";
        return Status::Ok();
      }
    }
    for (const auto& t : targets) {
      MB_ASSIGN_OR_RETURN(CleanupReport r, t.store->Cleanup(/*dry_run=*/false));
      std::cout << fmt::format("{} store {}: deleted {}\n", t.name, t.store->Describe(), Summary(r));
    }
    return Status::Ok();
  });
}

}  // namespace modelbay
