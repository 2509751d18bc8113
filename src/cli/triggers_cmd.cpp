// `modelbay watch` and `modelbay worker`: retraining on data arrival, by
// polling any store or from S3 event notifications on SQS.
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/model_option.h"
#include "cli/option_checks.h"
#include "cli/train_flags.h"
#include "registry/model_name.h"
#include "store/sqs_client.h"
#include "store/store.h"
#include "triggers/drift_source.h"
#include "triggers/stop.h"
#include "triggers/watcher.h"
#include "triggers/worker.h"

namespace modelbay {
namespace {

// The training flags (cli/train_flags.h) plus how long a running training
// may take to finish on shutdown.
struct TriggerTrainFlags : TrainFlags {
  double grace_s = 30;

  void Add(CLI::App* cmd, bool with_data) {
    TrainFlags::Add(cmd, with_data);
    cmd->add_option("--grace", grace_s,
                    "On SIGTERM/SIGINT, seconds a running training may take to finish before it is "
                    "abandoned (a second signal abandons it at once)")
        ->capture_default_str()
        ->check(NumberIn(0, 86400));
  }
  Result<TrainOptions> Build() const {
    MB_ASSIGN_OR_RETURN(TrainOptions t, TrainFlags::Build());
    t.show_progress = false;
    return t;
  }
};

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// --on-drift and --drift-url, for watch and worker alike.
struct DriftFlags {
  double on_drift = 0;
  std::string drift_url = "http://127.0.0.1:8000";

  void Add(CLI::App* cmd, std::string_view debounce_flag) {
    cmd->add_option("--on-drift", on_drift,
                    fmt::format("Train (trigger drift) only when the served version's largest PSI (features and "
                                "output, from the server's GET /models/{{v}}/drift; of --model's model) stays "
                                "above this for {} seconds AND new data exists; new data alone then does not train",
                                debounce_flag))
        ->check(NumberIn(0.001, 100));
    cmd->add_option("--drift-url", drift_url,
                    "The modelbay server whose live drift --on-drift reads (its API token: MODELBAY_API_TOKEN)")
        ->capture_default_str();
  }
  // The drift source of model `model` (as given to --model), when --on-drift is set.
  Result<DriftSource> Source(const Config& cfg, const std::string& model) const {
    MB_ASSIGN_OR_RETURN(std::string name, ParseModelName(model));
    return HttpDriftSource(drift_url, cfg.Get("MODELBAY_API_TOKEN"), name);
  }
};

// A training abandoned on shutdown may still be running on its thread:
// end the process now rather than run destructors under it.
Status ExitIfAbandoned(Status s) {
  if (s.code() == Code::kCancelled) {
    spdlog::warn("{}", s.message());
    spdlog::default_logger()->flush();
    std::fflush(stdout);
    std::_Exit(ExitCodeFor(Code::kCancelled));
  }
  return s;
}

}  // namespace

void RegisterTriggerCommands(CLI::App& app, CliContext& ctx) {
  {
    auto* cmd = app.add_subcommand(
        "watch",
        "Poll the data store and retrain when its data changes (trigger data-arrival, promote auto). "
        "Safe to run several at once: each change is trained once.");
    struct Flags {
      double interval = 10;
      double debounce = 5;
      double lease_ttl = 120;
      bool once = false;
      std::string model;
      DriftFlags drift;
      TriggerTrainFlags train;
    };
    auto f = std::make_shared<Flags>();
    cmd->add_option("--interval", f->interval, "Seconds between polls")->capture_default_str()->check(NumberIn(0.1, 86400));
    cmd->add_option("--debounce", f->debounce, "Seconds a change must stay unchanged before training")
        ->capture_default_str()->check(NumberIn(0, 86400));
    cmd->add_option("--lease-ttl", f->lease_ttl,
                    "Seconds a lease lasts without renewal (a dead watcher's change is taken over after it)")
        ->capture_default_str()->check(NumberIn(1, 86400));
    cmd->add_flag("--once", f->once, "Handle the current state once (train if needed) and exit");
    f->drift.Add(cmd, "--debounce");
    f->train.Add(cmd, /*with_data=*/true);
    AddModelOption(cmd, f->model);
    SetAction(cmd, ctx, [&ctx, f]() -> Status {
      if (f->train.data != "latest" && f->train.data != "all") {
        return InvalidArgument("--data must be latest or all for watch (got '" + f->train.data + "')");
      }
      MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
      MB_ASSIGN_OR_RETURN(auto data, OpenStore(cfg.data, cfg));
      MB_ASSIGN_OR_RETURN(auto models, OpenModelStore(cfg, f->model));
      WatchOptions options;
      options.interval = Millis(f->interval);
      options.debounce = Millis(f->debounce);
      options.lease_ttl = Millis(f->lease_ttl);
      options.run.heartbeat_every = std::max(Millis(f->lease_ttl / 3), std::chrono::milliseconds(1000));
      options.run.grace = Millis(f->train.grace_s);
      MB_ASSIGN_OR_RETURN(options.train, f->train.Build());
      if (f->drift.on_drift > 0) {
        options.drift_threshold = f->drift.on_drift;
        MB_ASSIGN_OR_RETURN(options.drift_source, f->drift.Source(cfg, f->model));
      }
      static StopSignal stop;
      ForwardTerminationSignals(stop);
      Watcher watcher(data, models, options);
      return ExitIfAbandoned(watcher.Run(stop, f->once));
    });
  }
  {
    auto* cmd = app.add_subcommand(
        "worker",
        "Retrain from S3 event notifications on an SQS queue: one training per new data file, "
        "messages deleted only once the version is registered (with --on-drift: one training, trigger drift, "
        "on the newest new file once the served version's drift is sustained).");
    struct Flags {
      std::string queue_url;
      int wait = 10;
      int visibility = 60;
      double lease_ttl = 120;
      std::string model;
      double debounce = 5;
      DriftFlags drift;
      TriggerTrainFlags train;
    };
    auto f = std::make_shared<Flags>();
    cmd->add_option("--queue-url", f->queue_url, "The SQS queue URL (or MODELBAY_QUEUE_URL)");
    cmd->add_option("--wait", f->wait, "Long-poll seconds per receive (0-20)")->capture_default_str()->check(IntegerIn(0, 20));
    cmd->add_option("--visibility", f->visibility,
                    "Seconds a received message stays hidden; extended while its training runs")
        ->capture_default_str()->check(IntegerIn(1, 43200));
    cmd->add_option("--lease-ttl", f->lease_ttl, "Seconds a training lease lasts without renewal")
        ->capture_default_str()->check(NumberIn(1, 86400));
    f->drift.Add(cmd, "--debounce");
    cmd->add_option("--debounce", f->debounce,
                    "With --on-drift: seconds the drift must stay above the threshold (read after every receive); "
                    "data messages are held in flight meanwhile")
        ->capture_default_str()->check(NumberIn(0, 86400));
    f->train.Add(cmd, /*with_data=*/false);
    AddModelOption(cmd, f->model);
    SetAction(cmd, ctx, [&ctx, f]() -> Status {
      MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
      std::string queue_url = f->queue_url.empty() ? cfg.Get("MODELBAY_QUEUE_URL") : f->queue_url;
      if (queue_url.empty()) {
        return InvalidArgument("no queue: pass --queue-url URL or set MODELBAY_QUEUE_URL");
      }
      if (cfg.data.kind != StoreLocation::Kind::kS3) {
        return InvalidArgument("the worker reads S3 event notifications, so DATA_STORE must be an S3 "
                               "bucket (s3://bucket/prefix); for a local folder use `modelbay watch`");
      }
      MB_ASSIGN_OR_RETURN(auto data, OpenStore(cfg.data, cfg));
      MB_ASSIGN_OR_RETURN(auto models, OpenModelStore(cfg, f->model));
      MB_ASSIGN_OR_RETURN(auto sqs, SqsClient::Open(queue_url, cfg.aws));
      WorkerOptions options;
      options.wait_seconds = f->wait;
      options.visibility_seconds = f->visibility;
      options.lease_ttl = Millis(f->lease_ttl);
      options.grace = Millis(f->train.grace_s);
      MB_ASSIGN_OR_RETURN(options.train, f->train.Build());
      if (f->drift.on_drift > 0) {
        options.drift_threshold = f->drift.on_drift;
        options.debounce = Millis(f->debounce);
        MB_ASSIGN_OR_RETURN(options.drift_source, f->drift.Source(cfg, f->model));
      }
      static StopSignal stop;
      ForwardTerminationSignals(stop);
      Worker worker(std::move(sqs), cfg.data, data, models, options);
      return ExitIfAbandoned(worker.Run(stop));
    });
  }
}

}  // namespace modelbay
