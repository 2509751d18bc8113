// `modelbay config`: shows where each store is and where each setting came
// from (flag, environment, .env, default), and where credentials would come
// from, without secrets (a password inside a URL included).
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "store/credentials.h"

namespace modelbay {

void RegisterConfigCommands(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand(
      "config", "Show the resolved stores and AWS settings, where each came from, and the credential source (never secrets)");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print JSON: {NAME: {\"value\", \"source\"}, \"credentials\": {...}}");
  SetAction(cmd, ctx, [&ctx, json]() -> Status {
    MB_ASSIGN_OR_RETURN(auto cfg, ctx.LoadConfig());
    auto source = [&](const char* name) {
      auto it = cfg.sources.find(name);
      return it == cfg.sources.end() ? std::string("default") : it->second;
    };
    const std::pair<const char*, std::string> settings[] = {
        {"DATA_STORE", RedactUrlCredentials(cfg.data.ToString())},
        {"MODEL_ARTIFACTS_STORE", RedactUrlCredentials(cfg.models.ToString())},
        {"RESULTS_STORE", RedactUrlCredentials(cfg.results.ToString())},
        {"MODELBAY_HOME", cfg.home.string()},
        {"AWS_REGION", cfg.aws.region},
        {"AWS_ENDPOINT_URL", RedactUrlCredentials(cfg.aws.endpoint_url)},
        {"AWS_PROFILE", cfg.aws.profile},
    };
    const std::string credentials = DescribeCredentialSource(cfg.aws, ProcessEnv());
    const std::string credentials_from =
        cfg.aws.access_key_id.empty() ? "the AWS default chain" : source("AWS_ACCESS_KEY_ID");
    if (*json) {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [name, value] : settings) out[name] = {{"value", value}, {"source", source(name)}};
      out["credentials"] = {{"source", credentials}, {"from", credentials_from}};
      std::cout << out.dump(2) << "\n";
      return Status::Ok();
    }
    for (const auto& [name, value] : settings) {
      std::cout << name << "=" << value << "    # " << source(name) << "\n";
    }
    std::cout << "credentials=" << credentials << "    # " << credentials_from << "\n";
    return Status::Ok();
  });
}

}  // namespace modelbay
