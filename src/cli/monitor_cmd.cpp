// `modelbay monitor`: a version's drift against its baseline, computed from
// its prediction log (src/monitor/offline.h) with the figures the server
// shows live at GET /models/{v}/drift.
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/model_option.h"
#include "cli/option_checks.h"
#include "model/baseline.h"
#include "monitor/drift.h"
#include "monitor/feedback.h"
#include "monitor/offline.h"
#include "registry/loader.h"
#include "registry/model_name.h"
#include "registry/registry.h"
#include "results/prediction_log.h"
#include "store/store.h"

namespace modelbay {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// PSI rules of thumb, used to flag features in the table.
constexpr double kPsiWatch = 0.1;
constexpr double kPsiDrift = 0.25;

struct MonitorFlags {
  std::string model;
  std::string version;
  std::string since;
  std::string log;
  bool json = false;
  bool feedback = false;
};

struct FeedbackFlags {
  std::string model;
  std::string file;
  std::string version;
  std::string spool;
};

// Deletes the temporary export when the command ends.
struct TempFile {
  fs::path path;
  ~TempFile() {
    std::error_code ignored;
    if (!path.empty()) fs::remove(path, ignored);
  }
};

std::string Figure(const json& v, std::string_view format = "{:.4f}") {
  return v.is_number() ? fmt::format(fmt::runtime(format), v.get<double>()) : "-";
}

std::string Flag(const json& psi) {
  if (!psi.is_number()) return "";
  const double v = psi.get<double>();
  return v > kPsiDrift ? "DRIFT" : v > kPsiWatch ? "watch" : "";
}

void PrintTable(const json& doc) {
  fmt::print("version {} ({} rows{}); baseline: {}\n", doc["version"].get<int>(), doc["window"]["rows"].get<uint64_t>(),
             doc["window"]["since"].is_string() ? " since " + doc["window"]["since"].get<std::string>() : "",
             doc["baseline_scope"].get<std::string>());
  fmt::print("{:<24} {:<12} {:>8} {:>8} {:>8} {:>8}  {}\n", "feature", "type", "psi", "js", "missing", "unseen", "");
  for (const json& f : doc["features"]) {
    fmt::print("{:<24} {:<12} {:>8} {:>8} {:>8} {:>8}  {}\n", f["name"].get<std::string>(),
               f["type"].get<std::string>(), Figure(f["psi"]), Figure(f["js_distance"]), Figure(f["missing_rate"]),
               Figure(f["unseen_rate"]), Flag(f["psi"]));
  }
  const json& o = doc["output"];
  fmt::print("{:<24} {:<12} {:>8} {:>8} {:>8} {:>8}  {}\n", "(output)", o["score"].get<std::string>(),
             Figure(o["psi"]), Figure(o["js_distance"]), "-", "-", Flag(o["psi"]));
}

void PrintFeedback(const json& doc) {
  const json& fb = doc["feedback"];
  fmt::print("version {} ({}): {} of {} logged rows have a true label; feedback for {} (request id, row) keys, "
             "{} matching no logged prediction\n",
             doc["version"].get<int>(), doc["task"].get<std::string>(), doc["labelled_rows"].get<uint64_t>(),
             doc["logged_rows"].get<uint64_t>(), fb["keys"].get<uint64_t>(), fb["unknown"].get<uint64_t>());
  for (const char* name : {"auc", "accuracy", "log_loss", "rmse"}) {
    if (doc[name].is_number()) fmt::print("{:<10} {}\n", name, Figure(doc[name], "{:.6f}"));
  }
}

// `monitor --feedback`: the figures of GET /models/{v}/feedback, from the
// shipped prediction-log and feedback objects (the server's own code).
// `model_name` is parsed ("" for the unnamed model).
Status MonitorFeedback(const Config& cfg, std::string_view model_name, const LoadedModel& model, bool as_json) {
  MB_ASSIGN_OR_RETURN(auto results, OpenResultsStore(cfg, model_name));
  monitor::FeedbackJoinOptions options;
  options.model = std::string(DisplayModelName(model_name));
  monitor::FeedbackJoin join(results, options);
  MB_ASSIGN_OR_RETURN(monitor::FeedbackMetrics m, join.Compute(model));
  const json doc = monitor::FeedbackJson(m);
  if (as_json) {
    fmt::print("{}\n", doc.dump(1, ' ', false, json::error_handler_t::replace));
  } else {
    PrintFeedback(doc);
  }
  return Status::Ok();
}

// The version whose classes the labels are checked against: --version, else
// the one `serve` answers with by default (production, else latest).
Result<int> FeedbackVersion(Registry& registry, const std::string& spec) {
  if (!spec.empty()) return registry.Resolve(spec);
  auto production = registry.Resolve(kProductionAlias);
  if (production.ok()) return production;
  return registry.Resolve("latest");
}

// `modelbay feedback FILE`: records the labels of FILE through the feedback
// log (spool, then shipped), as POST /feedback does.
Status RecordFeedback(const CliContext& ctx, const FeedbackFlags& f) {
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(std::string name, ParseModelName(f.model));
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> models, OpenModelStore(cfg, name));
  Registry registry(std::move(models));
  MB_ASSIGN_OR_RETURN(int version, FeedbackVersion(registry, f.version));
  MB_ASSIGN_OR_RETURN(auto model, LoadModel(registry, version));
  MB_ASSIGN_OR_RETURN(auto records, monitor::ReadFeedbackCsv(f.file, model->schema()));
  MB_ASSIGN_OR_RETURN(auto results, OpenResultsStore(cfg, name));
  // The spool layout of `serve`: a named model's streams under <spool>/models/<name>/.
  results::PredictionLogOptions options;
  options.spool_dir = f.spool.empty() ? cfg.home / "spool" : fs::absolute(f.spool);
  if (!name.empty()) options.spool_dir = options.spool_dir / kNamedModelsFolder / name;
  MB_ASSIGN_OR_RETURN(auto log, monitor::OpenFeedbackLog(options, results));
  MB_RETURN_IF_ERROR(log->Append(monitor::kFeedbackStream, monitor::FeedbackHeaderLine(),
                                 monitor::FormatFeedback(records, std::chrono::system_clock::now()), records.size()));
  MB_RETURN_IF_ERROR(log->Close().WithContext(fmt::format(
      "the {} labels are recorded in the local spool but not shipped to the results store yet", records.size())));
  fmt::print("recorded {} labels (checked against version {})\n", records.size(), version);
  return Status::Ok();
}

Status Monitor(const CliContext& ctx, const MonitorFlags& f) {
  MB_ASSIGN_OR_RETURN(std::string name, ParseModelName(f.model));
  monitor::OfflineOptions options;
  options.model = std::string(DisplayModelName(name));
  if (!f.since.empty()) {
    MB_ASSIGN_OR_RETURN(options.since, monitor::ParseSince(f.since));
  }
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> models, OpenModelStore(cfg, name));
  Registry registry(std::move(models));
  MB_ASSIGN_OR_RETURN(int version, registry.Resolve(f.version));
  MB_ASSIGN_OR_RETURN(auto model, LoadModel(registry, version));
  if (f.feedback) return MonitorFeedback(cfg, name, *model, f.json);
  // The log: a file given with --log, else the version's log exported from
  // the results store to a temporary file.
  TempFile temp;
  fs::path log = f.log;
  if (log.empty()) {
    MB_ASSIGN_OR_RETURN(auto results, OpenResultsStore(cfg, name));
    temp.path = fs::temp_directory_path() / fmt::format("modelbay-monitor-{}-{}.csv", ::getpid(), version);
    MB_ASSIGN_OR_RETURN(size_t rows, results::ExportResults(*results, version, temp.path));
    spdlog::debug("read {} logged rows of version {}", rows, version);
    log = temp.path;
  }
  MB_ASSIGN_OR_RETURN(json doc, monitor::DriftFromLog(*model, log, options));
  if (f.json || doc["baseline"] != "ok") {
    if (!f.json) {
      fmt::print("{}\n", doc["message"].get<std::string>());
    } else {
      fmt::print("{}\n", doc.dump(1, ' ', false, json::error_handler_t::replace));
    }
    return Status::Ok();
  }
  PrintTable(doc);
  return Status::Ok();
}

}  // namespace

void RegisterMonitorCommands(CLI::App& app, CliContext& ctx) {
  auto flags = std::make_shared<MonitorFlags>();
  CLI::App* cmd = app.add_subcommand(
      "monitor", "A version's drift against its training baseline, from its prediction log (the figures of "
                 "GET /models/{v}/drift)");
  cmd->add_option("--version", flags->version, "Version number, `latest` or an alias")->required();
  AddModelOption(cmd, flags->model);
  cmd->add_option("--since", flags->since, "Only rows logged at or after this UTC time (2026-12-02T01:30:00Z)");
  cmd->add_option("--log", flags->log,
                  "A prediction-log CSV of the version (e.g. from `results export`) instead of the results store");
  cmd->add_flag("--json", flags->json, "Print the drift document as JSON");
  cmd->add_flag("--feedback", flags->feedback,
                "Instead of drift: the live metrics over the rows with true labels (AUC, accuracy, log loss or "
                "RMSE; the figures of GET /models/{v}/feedback), from the shipped prediction log and feedback");
  SetAction(cmd, ctx, [&ctx, flags] { return Monitor(ctx, *flags); });

  auto ff = std::make_shared<FeedbackFlags>();
  CLI::App* fb = app.add_subcommand(
      "feedback", "Record true labels for logged predictions (as POST /feedback): FILE is a CSV with columns "
                  "request_id,label[,row]; see `monitor --feedback` for the metrics");
  fb->add_option("FILE", ff->file, "CSV with a header: request_id,label and optionally row (the row's index in "
                                   "a multi-row request, default 0)")
      ->required();
  fb->add_option("--version", ff->version,
                 "Check the labels against this version's classes (default: production, else latest)");
  fb->add_option("--spool", ff->spool, "Folder of the local spool (default: <home>/spool; feedback goes to its "
                                       "feedback/ folder, a named model's to models/NAME/feedback/)");
  AddModelOption(fb, ff->model);
  SetAction(fb, ctx, [&ctx, ff] { return RecordFeedback(ctx, *ff); });
}

}  // namespace modelbay
