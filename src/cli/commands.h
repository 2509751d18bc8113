// The CLI: one Register*Commands function per command group, each in its own
// file. Commands return a Status; main() prints its message and exits with
// ExitCodeFor(code). Commands print results to stdout, progress and
// diagnostics to stderr.
#pragma once

#include <functional>
#include <optional>
#include <string>

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

// For a command line CLI11 refused: the first unknown subcommand or long
// option, with the nearest known name ("unknown command `modelbay trian`
// (did you mean `modelbay train`?)"); nullopt when none is unknown.
std::optional<std::string> TypoHint(CLI::App& root, int argc, const char* const* argv);

// Exit codes (ExitCodeFor, and 2 for every command-line usage error); shown
// in `modelbay --help` and the README.
inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok; 1 internal error; 2 usage error or bad input (flags, CSV, parameters, store\n"
    "settings); 3 not found; 4 already exists; 5 failed precondition (e.g. no model yet); 6 permission\n"
    "denied; 7 store or service unavailable (retry); 8 data loss or integrity failure (checksum);\n"
    "9 a limit exceeded; 130 interrupted.";

void RegisterDataCommands(CLI::App& app, CliContext& ctx);      // sample-data, upload
void RegisterTrainCommands(CLI::App& app, CliContext& ctx);     // train
void RegisterModelsCommands(CLI::App& app, CliContext& ctx);    // models list|show|promote|import
void RegisterCleanupCommands(CLI::App& app, CliContext& ctx);   // cleanup
void RegisterServeCommands(CLI::App& app, CliContext& ctx);     // serve
void RegisterResultsCommands(CLI::App& app, CliContext& ctx);   // results export, predict
void RegisterTriggerCommands(CLI::App& app, CliContext& ctx);   // watch, worker
void RegisterConfigCommands(CLI::App& app, CliContext& ctx);    // config
void RegisterStoreCommands(CLI::App& app, CliContext& ctx);     // store ls|cat|get|put|rm|stat
void RegisterMonitorCommands(CLI::App& app, CliContext& ctx);   // monitor, feedback
void RegisterCompletionCommands(CLI::App& app, CliContext& ctx);  // completion, manpage (register last)

}  // namespace modelbay
