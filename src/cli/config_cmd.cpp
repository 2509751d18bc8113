// `modelbay config`: shows where each store is and where settings came from,
// without secrets (a password inside a URL included).
#include <iostream>

#include "cli/commands.h"

namespace modelbay {

void RegisterConfigCommands(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand("config", "Show the resolved stores and AWS settings (never secrets)");
  SetAction(cmd, ctx, [&ctx]() -> Status {
    MB_ASSIGN_OR_RETURN(auto cfg, ctx.LoadConfig());
    std::cout << "DATA_STORE=" << RedactUrlCredentials(cfg.data.ToString()) << "\n"
              << "MODEL_ARTIFACTS_STORE=" << RedactUrlCredentials(cfg.models.ToString()) << "\n"
              << "RESULTS_STORE=" << RedactUrlCredentials(cfg.results.ToString()) << "\n"
              << "AWS_REGION=" << cfg.aws.region << "\n"
              << "AWS_ENDPOINT_URL=" << RedactUrlCredentials(cfg.aws.endpoint_url) << "\n"
              << "credentials="
              << (cfg.aws.access_key_id.empty() ? "AWS default chain" : "static keys (hidden)") << "\n";
    return Status::Ok();
  });
}

}  // namespace modelbay
