// modelbay: CSV -> versioned, served, logged, retrained tabular models.
#include <cstdio>
#include <iostream>


#include "cli/commands.h"
#include "core/logging.h"
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
  RegisterCompletionCommands(app, ctx);

  std::string log_format = "text";
  app.add_option("--log-format", log_format, "Log lines on stderr: text or json (one JSON object per line)")
      ->envname("MODELBAY_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}));
  app.parse_complete_callback([&] {
    if (Status s = ConfigureLogging(log_format, ctx.verbose); !s.ok()) throw CLI::ValidationError(s.message());
  });
  (void)ConfigureLogging("text", false);  // until the flags are parsed

  app.footer(kExitCodesHelp);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    if (auto hint = TypoHint(app, argc, argv)) {
      std::cerr << "modelbay: error: " << *hint << "\n";
    } else {
      app.exit(e);
    }
    return 2;  // every usage error: see kExitCodesHelp
  }
  if (!ctx.result.ok()) {
    std::fflush(stdout);
    std::cerr << "modelbay: error: " << ctx.result.message() << "\n";
    return ExitCodeFor(ctx.result.code());
  }
  return 0;
}
