// `modelbay config`: shows where each store is and where settings came from,
// without secrets.
#include <iostream>

#include "cli/commands.h"

namespace modelbay {

void RegisterConfigCommands(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand("config", "Show the resolved stores and AWS settings (never secrets)");
  SetAction(cmd, ctx, [&ctx]() -> Status {
    MB_ASSIGN_OR_RETURN(auto cfg, ctx.LoadConfig());
    std::cout << "DATA_STORE=" << cfg.data.ToString() << "\n"
              << "MODEL_ARTIFACTS_STORE=" << cfg.models.ToString() << "\n"
              << "RESULTS_STORE=" << cfg.results.ToString() << "\n"
              << "AWS_REGION=" << cfg.aws.region << "\n"
              << "AWS_ENDPOINT_URL=" << cfg.aws.endpoint_url << "\n"
              << "credentials="
              << (cfg.aws.access_key_id.empty() ? "AWS default chain" : "static keys (hidden)") << "\n";
    return Status::Ok();
  });
}

}  // namespace modelbay
