// The CLI: one Register*Commands function per command group, each in its own
// file. Commands return a Status; main() prints its message and exits with
// ExitCodeFor(code). Commands print results to stdout, progress and
// diagnostics to stderr.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/status.h"

namespace modelbay {

struct CliContext {
  ConfigOverrides overrides;  // from global flags
  bool verbose = false;
  Status result;              // set by the command that ran

  // Merged configuration: flags > environment > .env > defaults.
  Result<modelbay::Config> LoadConfig() const { return modelbay::LoadConfig(overrides); }
};

// Wires `fn` as the callback of `cmd`, storing its Status in ctx.result.
inline void SetAction(CLI::App* cmd, CliContext& ctx, std::function<Status()> fn) {
  cmd->callback([&ctx, fn = std::move(fn)] { ctx.result = fn(); });
}

void RegisterDataCommands(CLI::App& app, CliContext& ctx);      // sample-data, upload
void RegisterTrainCommands(CLI::App& app, CliContext& ctx);     // train
void RegisterModelsCommands(CLI::App& app, CliContext& ctx);    // models list|show|promote|import
void RegisterCleanupCommands(CLI::App& app, CliContext& ctx);   // cleanup
void RegisterServeCommands(CLI::App& app, CliContext& ctx);     // serve
void RegisterResultsCommands(CLI::App& app, CliContext& ctx);   // results export, predict
void RegisterTriggerCommands(CLI::App& app, CliContext& ctx);   // watch, worker
void RegisterConfigCommands(CLI::App& app, CliContext& ctx);    // config
void RegisterStoreCommands(CLI::App& app, CliContext& ctx);     // store ls|cat|get|put|rm|stat
void RegisterMonitorCommands(CLI::App& app, CliContext& ctx);   // monitor

}  // namespace modelbay
