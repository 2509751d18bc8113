// `modelbay serve`: the inference service of DESIGN §5.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "monitor/drift.h"
#include "monitor/feedback.h"
#include "registry/registry.h"
#include "results/prediction_log.h"
#include "results/results_file.h"
#include "results/spool_dir.h"
#include "serve/http_server.h"
#include "serve/model_cache.h"
#include "serve/named_models.h"
#include "serve/service.h"
#include "store/store.h"

namespace modelbay {
namespace {

// Accepted ranges of the numeric flags (docs/serving.md lists them).
constexpr int kMaxThreads = 1024;
constexpr int64_t kMaxBodyBytes = int64_t{1} << 30;  // the body is held in memory
constexpr int64_t kMaxRows = 10'000'000;
constexpr int64_t kMaxSeconds = 3600;

struct ServeFlags {
  std::string host = "0.0.0.0";
  int port = 8000;
  int threads = 0;
  size_t max_body_bytes = 8 << 20;
  size_t max_rows = 10000;
  std::string spool;
  std::string fsync = "always";
  double alias_refresh_s = 2.0;
  double read_timeout_s = 15.0;
  double write_timeout_s = 15.0;
  int ship_interval_ms = 1000;
  uint64_t drift_window = monitor::kDefaultDriftWindowRows;
  bool no_drift = false;
  uint64_t feedback_max_rows = monitor::kDefaultFeedbackMaxLoggedRows;
  uint64_t feedback_max_labels = monitor::kDefaultFeedbackMaxLabels;
  double results_refresh_s = 60.0;
  double results_lease_ttl_s = 30.0;
  // SageMaker's container contract: port 8080 unless --port is given, the
  // model store is the folder SageMaker unpacked model.tar.gz into.
  bool sagemaker = false;
  std::string model_dir = "/opt/ml/model";
  bool no_access_log = false;
};

constexpr int kSageMakerPort = 8080;

// The port when --port is not on the command line: 8080 in SageMaker mode
// (its contract; the image's MODELBAY_PORT=8000 must not win), else
// MODELBAY_PORT when set, else the default.
Status PortFromEnvironment(ServeFlags& f) {
  if (f.sagemaker) {
    f.port = kSageMakerPort;
    return Status::Ok();
  }
  const char* env = std::getenv("MODELBAY_PORT");
  if (env == nullptr || *env == '\0') return Status::Ok();
  std::string value = env;
  if (std::string problem = IntegerIn(0, 65535)(value); !problem.empty()) {
    return InvalidArgument(fmt::format("MODELBAY_PORT: {}", problem));
  }
  f.port = std::stoi(value);
  return Status::Ok();
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

Status Serve(const CliContext& ctx, const ServeFlags& f) {
  // Every numeric flag was range-checked by its validator (cli/option_checks.h).
  ConfigOverrides overrides = ctx.overrides;
  if (f.sagemaker) {
    // Read only: serving never writes to the model store.
    std::error_code ec;
    if (!std::filesystem::is_directory(f.model_dir, ec)) {
      return FailedPrecondition(fmt::format("--sagemaker: the model folder {} does not exist; SageMaker unpacks "
                                            "model.tar.gz there (a modelbay model store: see docs/deploy.md), "
                                            "or give another with --model-dir", f.model_dir));
    }
    overrides.model_store = std::filesystem::absolute(f.model_dir).string();
  }
  MB_ASSIGN_OR_RETURN(Config cfg, LoadConfig(overrides));
  MB_ASSIGN_OR_RETURN(auto models, OpenStore(cfg.models, cfg));
  MB_ASSIGN_OR_RETURN(auto results, OpenStore(cfg.results, cfg));
  auto registry = std::make_shared<Registry>(models);

  results::PredictionLogOptions log_options;
  log_options.spool_dir = f.spool.empty() ? cfg.home / "spool" : std::filesystem::absolute(f.spool);
  log_options.fsync = f.fsync == "always" ? results::FsyncPolicy::kAlways : results::FsyncPolicy::kNever;
  log_options.ship_interval = std::chrono::milliseconds(f.ship_interval_ms);
  log_options.writer_id = results::NewWriterId();  // one id for every stream of this server
  MB_ASSIGN_OR_RETURN(auto log, results::PredictionLog::Open(log_options, results));
  MB_ASSIGN_OR_RETURN(auto feedback_log, monitor::OpenFeedbackLog(log_options, results));
  monitor::FeedbackJoinOptions join_options;
  join_options.max_logged_rows = f.feedback_max_rows;
  join_options.max_labels = f.feedback_max_labels;
  join_options.min_refresh = std::chrono::seconds(1);  // a scrape of N versions lists the store once
  monitor::FeedbackJoin feedback_join(results, join_options);

  serve::Metrics metrics;
  serve::ModelCache cache(registry, metrics, Millis(f.alias_refresh_s));
  serve::ServiceOptions service_options;
  service_options.max_rows = f.max_rows;
  service_options.max_body_bytes = f.max_body_bytes;
  service_options.api_token = cfg.Get("MODELBAY_API_TOKEN");
  serve::Service service(service_options, cache, log.get(), metrics);
  monitor::DriftTracker drift(f.drift_window);
  if (!f.no_drift) service.AttachDrift(&drift);
  serve::NamedModelsOptions named_options;
  named_options.models = models;
  named_options.results = results;
  named_options.log = log_options;
  named_options.alias_refresh = Millis(f.alias_refresh_s);
  named_options.results_refresh = Millis(f.results_refresh_s);
  named_options.results_file.lease_ttl = Millis(f.results_lease_ttl_s);
  named_options.feedback = true;
  named_options.feedback_join = join_options;
  serve::NamedModels named(std::move(named_options), metrics);
  service.AttachNamedModels(&named);
  service.AttachFeedback(feedback_log.get(), &feedback_join);

  serve::ServerOptions server_options;
  server_options.host = f.host;
  server_options.port = static_cast<uint16_t>(f.port);
  server_options.threads = f.threads;
  server_options.max_body_bytes = f.max_body_bytes;
  server_options.read_timeout = Millis(f.read_timeout_s);
  server_options.write_timeout = Millis(f.write_timeout_s);
  server_options.access_log = !f.no_access_log;
  serve::HttpServer server(server_options, service, metrics);  // handles SIGTERM from here on
  MB_RETURN_IF_ERROR(server.Listen());

  // results_<N>.csv kept current from the shipped log (one updater per
  // version across servers, by lease).
  std::unique_ptr<results::ResultsFileRefresher> refresher;
  if (f.results_refresh_s > 0) {
    results::ResultsFileOptions file_options;
    file_options.lease_ttl = Millis(f.results_lease_ttl_s);
    refresher = std::make_unique<results::ResultsFileRefresher>(
        results, Millis(f.results_refresh_s), file_options,
        [&metrics](const results::UpdateReport& r) {
          if (r.rows_added > 0 || r.rebuilt || r.recovered) metrics.ResultsFileUpdated(r.rows_added, r.bytes_read);
        },
        [&metrics] { metrics.ResultsFileFailed(); });
    refresher->Start();
  }

  spdlog::info("models from {}, prediction log spooled in {} and shipped to {}", models->Describe(),
               log_options.spool_dir.string(), results->Describe());
  cache.Start();
  named.Start();
  std::printf("serving on http://%s:%u (auth %s)\n", f.host.c_str(), server.port(),
              service_options.api_token.empty() ? "off" : "on: bearer token");
  std::fflush(stdout);

  Status run = server.Run();
  cache.Stop();
  spdlog::info("shipping the prediction log");
  Status named_closed = named.Close();  // each named model's log, cache and results file
  Status closed = log->Close();
  if (Status fb = feedback_log->Close(); !fb.ok() && closed.ok()) closed = fb;
  if (refresher) {
    spdlog::info("updating the results files");
    refresher->Stop(/*final_pass=*/closed.ok());
  }
  if (!closed.ok()) {
    return closed.WithContext(fmt::format("the prediction log was not fully shipped; it stays in {} "
                                          "and ships on the next start",
                                          log_options.spool_dir.string()));
  }
  if (!named_closed.ok()) return named_closed;
  spdlog::info("stopped");
  return run;
}

}  // namespace

void RegisterServeCommands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve POST /inference (the seed's contract) with a model cache and a prediction log; every model\n"
      "of the store: the unnamed one (`default`) and each named one (\"model\" on /inference,\n"
      "/v2/models/NAME, ?model= on /invocations; docs/serving.md)");
  cmd->add_option("--host", flags->host, "Address to listen on")->capture_default_str()->envname("MODELBAY_HOST");
  CLI::Option* port = cmd->add_option("--port", flags->port,
                                      "Port to listen on (0: any free port); else MODELBAY_PORT, else 8000 "
                                      "(8080 with --sagemaker, which ignores MODELBAY_PORT)")
                          ->check(IntegerIn(0, 65535));
  cmd->add_option("--threads", flags->threads, "I/O threads (0: one per CPU core)")
      ->capture_default_str()
      ->check(IntegerIn(0, kMaxThreads));
  cmd->add_option("--max-body-bytes", flags->max_body_bytes, "Largest request body accepted (413 above)")
      ->capture_default_str()
      ->check(IntegerIn(1, kMaxBodyBytes));
  cmd->add_option("--max-rows", flags->max_rows, "Most rows per /inference request (413 above)")
      ->capture_default_str()
      ->check(IntegerIn(1, kMaxRows));
  cmd->add_option("--spool", flags->spool, "Folder of the local prediction-log spool (default: <home>/spool)");
  cmd->add_option("--fsync", flags->fsync,
                  "always: a 200 survives power loss; never: it survives a process crash")
      ->capture_default_str()
      ->check(CLI::IsMember({"always", "never"}));
  cmd->add_option("--alias-refresh", flags->alias_refresh_s,
                  "Seconds between re-reads of versions and aliases (a promotion is served after it)")
      ->capture_default_str()
      ->check(NumberIn(0.1, kMaxSeconds));
  cmd->add_option("--read-timeout", flags->read_timeout_s,
                  "Seconds a client has to send a whole request (also the keep-alive idle limit)")
      ->capture_default_str()
      ->check(NumberIn(0.1, kMaxSeconds));
  cmd->add_option("--write-timeout", flags->write_timeout_s, "Seconds a client has to read a response")
      ->capture_default_str()
      ->check(NumberIn(0.1, kMaxSeconds));
  cmd->add_option("--ship-interval-ms", flags->ship_interval_ms,
                  "Milliseconds between background shipments of the prediction log")
      ->capture_default_str()
      ->check(IntegerIn(10, kMaxSeconds * 1000));
  cmd->add_option("--drift-window", flags->drift_window,
                  "Rows per version (of every model) in the live drift window (GET /models/{v}/drift, the drift gauges "
                  "of /metrics)")
      ->capture_default_str()
      ->check(IntegerIn(monitor::kMinDriftWindowRows, 100'000'000));
  cmd->add_flag("--no-drift", flags->no_drift,
                "Do not count rows in drift windows (GET /models/{v}/drift answers 503, no drift gauges)");
  cmd->add_option("--feedback-max-rows", flags->feedback_max_rows,
                  "Logged rows per model the feedback join keeps (every version together; the oldest shipped "
                  "objects are dropped past it and counted in modelbay_feedback_evicted_total)")
      ->capture_default_str()
      ->check(IntegerIn(1, 1'000'000'000));
  cmd->add_option("--feedback-max-labels", flags->feedback_max_labels,
                  "Labels per model the feedback join keeps (the oldest dropped past it, and counted)")
      ->capture_default_str()
      ->check(IntegerIn(1, 1'000'000'000));
  cmd->add_option("--results-refresh", flags->results_refresh_s,
                  "Seconds between updates of results_<N>.csv in the results store from the shipped log "
                  "(0: off; `modelbay results export` writes it)")
      ->capture_default_str()
      ->check(NumberIn(0, kMaxSeconds));
  cmd->add_option("--results-lease-ttl", flags->results_lease_ttl_s,
                  "Seconds after which another server takes over the results_<N>.csv updates of a server "
                  "that died mid-update")
      ->capture_default_str()
      ->check(NumberIn(1, kMaxSeconds));
  cmd->add_flag("--sagemaker", flags->sagemaker,
                "SageMaker's container contract: /ping and /invocations on port 8080, the model store read "
                "from --model-dir (docs/deploy.md)")
      ->envname("MODELBAY_SAGEMAKER");
  cmd->add_option("--model-dir", flags->model_dir,
                  "With --sagemaker: the folder holding the model store (SageMaker unpacks model.tar.gz there)")
      ->capture_default_str();
  cmd->add_flag("--no-access-log", flags->no_access_log,
                "Do not log one line per request (method, path, status, latency, model version, rows, request\n"
                "id; JSON with --log-format json). Every 5xx cause is logged at warning level either way");
  SetAction(cmd, ctx, [&ctx, flags, port] {
    if (port->count() == 0) MB_RETURN_IF_ERROR(PortFromEnvironment(*flags));
    return Serve(ctx, *flags);
  });
}

}  // namespace modelbay
