// modelbay: CSV -> versioned, served, logged, retrained tabular models.
#include <cstdio>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "modelbay_version.h"

int main(int argc, char** argv) {
  using namespace modelbay;
  CLI::App app{
      "modelbay: from a CSV file to a versioned, served, logged and retrained model.\n"
      "Stores come from DATA_STORE, MODEL_ARTIFACTS_STORE and RESULTS_STORE (flags, environment\n"
      "or ./.env); unset, they are local folders under ./.modelbay (MODELBAY_HOME).",
      "modelbay"};
  app.set_version_flag("--version", std::string(MODELBAY_VERSION) + " (" + MODELBAY_GIT_REV + ")");
  app.require_subcommand(1);
  app.fallthrough();

  CliContext ctx;
  auto opt = [&](const char* name, std::optional<std::string>& target, const char* help) {
    app.add_option_function<std::string>(name, [&target](const std::string& v) { target = v; }, help);
  };
  opt("--data-store", ctx.overrides.data_store, "Data store URL (overrides DATA_STORE)");
  opt("--model-store", ctx.overrides.model_store, "Model store URL (overrides MODEL_ARTIFACTS_STORE)");
  opt("--results-store", ctx.overrides.results_store, "Results store URL (overrides RESULTS_STORE)");
  opt("--endpoint-url", ctx.overrides.endpoint_url, "S3 endpoint (overrides AWS_ENDPOINT_URL)");
  opt("--region", ctx.overrides.region, "AWS region (overrides AWS_REGION)");
  opt("--home", ctx.overrides.home, "Root of the embedded default stores (overrides MODELBAY_HOME)");
  app.add_flag("-v,--verbose", ctx.verbose, "Log debug details to stderr");

  RegisterConfigCommands(app, ctx);
  RegisterDataCommands(app, ctx);
  RegisterTrainCommands(app, ctx);
  RegisterModelsCommands(app, ctx);
  RegisterCleanupCommands(app, ctx);
  RegisterServeCommands(app, ctx);
  RegisterResultsCommands(app, ctx);
  RegisterTriggerCommands(app, ctx);
  RegisterStoreCommands(app, ctx);
  RegisterMonitorCommands(app, ctx);

  app.parse_complete_callback([&] {
    spdlog::set_level(ctx.verbose ? spdlog::level::debug : spdlog::level::info);
  });
  spdlog::set_default_logger(spdlog::stderr_color_mt("modelbay"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!ctx.result.ok()) {
    std::fflush(stdout);
    std::cerr << "modelbay: error: " << ctx.result.message() << "\n";
    return ExitCodeFor(ctx.result.code());
  }
  return 0;
}
