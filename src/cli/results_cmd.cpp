// `modelbay results export` and `modelbay predict`: flags into calls of
// results::ExportResults and batch::Predict / batch::Finalize.
#include <algorithm>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "batch/batch.h"
#include "cli/commands.h"
#include "cli/model_option.h"
#include "cli/option_checks.h"
#include "core/csv.h"
#include "registry/loader.h"
#include "registry/model_name.h"
#include "registry/registry.h"
#include "results/prediction_log.h"
#include "results/results_file.h"
#include "results/row_format.h"
#include "store/store.h"

namespace modelbay {
namespace {
namespace fs = std::filesystem;

struct ExportFlags {
  std::string version;  // a number, `latest` or an alias
  std::string out;
  std::string model;
  bool json = false;
};

// The version number `spec` names: a number as is (its rows may outlive the
// version), `latest` or an alias through the model's registry.
Result<int> ResolveExportVersion(const Config& cfg, const ExportFlags& f) {
  Result<VersionSpec> parsed = ParseVersionSpec(f.version);
  if (!parsed.ok()) {
    const bool digits = !f.version.empty() && f.version.find_first_not_of("0123456789") == std::string::npos;
    return InvalidArgument(digits ? fmt::format("--version {}: version numbers run from 1 to 999999999, without "
                                                "leading zeros (or give `latest` or an alias)",
                                                f.version)
                                  : fmt::format("--version: {}", parsed.status().message()));
  }
  const VersionSpec& spec = *parsed;
  if (spec.kind == VersionSpec::Kind::kNumber) return spec.number;
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> models, OpenModelStore(cfg, f.model));
  return Registry(std::move(models)).Resolve(f.version);
}

struct PredictFlags {
  std::vector<std::string> inputs;
  std::string version = "";
  std::string model;
  std::string out;
  size_t batch_size = 10000;
  size_t threads = 0;
  uint64_t split_bytes = uint64_t{256} << 20;
  std::string shard;
  std::string job_id;
  std::string finalize;
  std::string spool;
  std::string fsync = "always";
  bool no_results_file = false;
  bool json = false;
};

Status Export(const CliContext& ctx, const ExportFlags& f) {
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(int version, ResolveExportVersion(cfg, f));
  MB_ASSIGN_OR_RETURN(auto results, OpenResultsStore(cfg, f.model));
  MB_ASSIGN_OR_RETURN(size_t rows, results::ExportResults(*results, version, f.out));
  std::string written = f.out;
  if (f.out.empty()) {
    written = results->Describe();
    if (!written.ends_with('/')) written += '/';
    written += fmt::format("results_{}.csv", version);
  }
  if (f.json) {
    fmt::print("{}\n", nlohmann::json{{"version", version}, {"out", written}, {"rows", rows}}.dump());
  } else if (f.out != "-") {
    fmt::print("{}\n", written);
  }
  spdlog::info("exported {} rows of version {}", rows, version);
  return Status::Ok();
}

Status Refresh(const CliContext& ctx, const ExportFlags& f) {
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(int version, ResolveExportVersion(cfg, f));
  MB_ASSIGN_OR_RETURN(auto results, OpenResultsStore(cfg, f.model));
  MB_ASSIGN_OR_RETURN(results::UpdateReport r,
                      results::UpdateResultsFile(results, version, results::DefaultResultsFileOptions()));
  if (r.leased_elsewhere) return Unavailable("another updater held the lease for longer than its TTL; try again");
  fmt::print("{{\"version\": {}, \"rebuilt\": {}, \"recovered\": {}, \"objects_added\": {}, "
             "\"rows_added\": {}, \"bytes_read\": {}, \"file_bytes\": {}, \"file_rows\": {}}}\n",
             r.version, r.rebuilt, r.recovered, r.objects_added, r.rows_added, r.bytes_read, r.file_bytes,
             r.file_rows);
  return Status::Ok();
}

Status Predict(const CliContext& ctx, const PredictFlags& f) {
  if (f.fsync != "always" && f.fsync != "never") return InvalidArgument("--fsync must be `always` or `never`");
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  if (!f.finalize.empty()) {
    if (!f.inputs.empty()) return InvalidArgument("--finalize OUT takes no inputs");
    MB_ASSIGN_OR_RETURN(std::string manifest, batch::Finalize(cfg, f.finalize));
    fmt::print("{}\n", f.json ? nlohmann::json{{"manifest", manifest}}.dump() : manifest);
    return Status::Ok();
  }
  if (f.inputs.empty()) return InvalidArgument("name at least one input (a CSV file, folder, glob or s3:// prefix)");
  batch::PredictOptions o;
  o.inputs = f.inputs;
  o.out = f.out;
  o.version = f.version;
  MB_ASSIGN_OR_RETURN(o.model, ParseModelName(f.model));
  o.threads = f.threads;
  o.block_rows = f.batch_size;
  o.split_bytes = f.split_bytes;
  o.job_id = f.job_id;
  o.spool = f.spool;
  o.fsync = f.fsync == "never" ? results::FsyncPolicy::kNever : results::FsyncPolicy::kAlways;
  o.update_results_file = !f.no_results_file;
  if (!f.shard.empty()) {
    MB_ASSIGN_OR_RETURN(o.shard, batch::ParseShard(f.shard));
  }
  MB_ASSIGN_OR_RETURN(batch::PredictReport report, batch::Predict(cfg, o));
  if (f.json) {
    nlohmann::json j = {{"version", report.version}, {"model", DisplayModelName(o.model)}, {"rows", report.rows},
                        {"outputs", report.outputs}, {"request_prefix", report.request_prefix},
                        {"manifest", report.manifest ? nlohmann::json(*report.manifest) : nlohmann::json()}};
    fmt::print("{}\n", j.dump());
  } else if (f.out != "-") {
    for (const auto& out : report.outputs) fmt::print("{}\n", out);
  }
  if (report.manifest) spdlog::info("every part is written: {}", *report.manifest);
  spdlog::info("scored {} rows with model version {}; logged as requests {}/... in the results store", report.rows,
               report.version, report.request_prefix);
  return Status::Ok();
}

}  // namespace

void RegisterResultsCommands(CLI::App& app, CliContext& ctx) {
  auto* results = app.add_subcommand("results", "The prediction log in the results store");
  results->require_subcommand(1);
  auto ef = std::make_shared<ExportFlags>();
  auto* exp = results->add_subcommand(
      "export",
      "Write the seed's results_<N>.csv: every logged row of a version once, header once, in time\n"
      "order. Reads what servers and `modelbay predict` shipped to the results store (a server\n"
      "ships within about a second and on shutdown; rows still in a server's spool are not included).");
  exp->add_option("--version", ef->version, "Model version whose rows to export: a number, `latest` or an alias")
      ->required();
  exp->add_option("--out", ef->out,
                  "Local file to write, - for stdout (default: results_<N>.csv at the root of the results store)");
  exp->add_flag("--json", ef->json,
                "Print {version, out, rows} as one line of JSON (refused with --out -: stdout holds the CSV)");
  AddModelOption(exp, ef->model);
  SetAction(exp, ctx, [&ctx, ef] {
    if (ef->json && ef->out == "-") return JsonWithStdoutRefused();
    return Export(ctx, *ef);
  });

  auto rf = std::make_shared<ExportFlags>();
  auto* refresh = results->add_subcommand(
      "refresh",
      "Bring results_<N>.csv in the results store up to date now, as a server does every\n"
      "--results-refresh: only log objects it does not hold yet are read and appended. Prints what\n"
      "the update did (rows added, bytes read) as JSON.");
  refresh->add_option("--version", rf->version, "Model version whose file to update: a number, `latest` or an alias")
      ->required();
  AddModelOption(refresh, rf->model);
  SetAction(refresh, ctx, [&ctx, rf] { return Refresh(ctx, *rf); });

  auto pf = std::make_shared<PredictFlags>();
  auto* predict = app.add_subcommand(
      "predict",
      "Score CSV files in batch with the same preprocessing as the server, on every core, in memory\n"
      "bounded by --batch-size; output rows are in input order and the same bytes whatever --threads.\n"
      "Every row is logged to the results store (request id batch-<job>/<part>/<row>) before the\n"
      "command returns. Several inputs (or --shard) write one part per input part to a folder or\n"
      "s3:// prefix: <out>/part-<input-hash>-<begin>-<end>.csv, plus _plan.json and, once every part\n"
      "exists, _manifest.json.");
  predict->add_option("INPUT", pf->inputs,
                      "CSV file, folder (every .csv under it), glob, s3://bucket/key-or-prefix/ or\n"
                      "data:KEY (in the data store)");
  predict->add_option("--version", pf->version,
                      "Model version, `latest` or an alias (default: production, else latest)");
  AddModelOption(predict, pf->model);
  predict->add_option("--out", pf->out,
                      "Output: a file, - (stdout), s3://bucket/key, or for several parts a folder or\n"
                      "s3://bucket/prefix/ (default for one local file: FILE with a _predictions suffix)");
  predict->add_option("--threads", pf->threads, "Scoring threads (default: every core)")
      ->check(IntegerIn(0, 1024));
  predict->add_option("--batch-size", pf->batch_size, "Rows per block (memory is bounded by ~2 blocks per thread)")
      ->capture_default_str()
      ->check(IntegerIn(1, 1000000));
  predict->add_option("--shard", pf->shard,
                      "I/N: score only shard I of N (0-based); default from AWS_BATCH_JOB_ARRAY_INDEX/SIZE");
  predict->add_option("--split-bytes", pf->split_bytes,
                      "With a parts output, inputs larger than this are split into byte ranges")
      ->capture_default_str();
  predict->add_option("--job-id", pf->job_id,
                      "Job id in the logged request ids (default: derived from inputs, output and version\n"
                      "for a parts output, so a rerun logs the same ids; random for one file)");
  predict->add_option("--finalize", pf->finalize,
                      "OUT: write OUT/_manifest.json if every part of OUT/_plan.json exists (no scoring)");
  predict->add_option("--spool", pf->spool, "Folder for the local log spool (default: <home>/spool)");
  predict->add_option("--fsync", pf->fsync, "Spool fsync policy: always or never")->capture_default_str();
  predict->add_flag("--no-results-file", pf->no_results_file,
                    "Do not bring results_<N>.csv in the results store up to date before returning");
  predict->add_flag("--json", pf->json,
                    "Print {version, model, rows, outputs, request_prefix, manifest} as one line of JSON\n"
                    "(refused with --out -: stdout holds the predictions)");
  SetAction(predict, ctx, [&ctx, pf] {
    if (pf->json && pf->out == "-") return JsonWithStdoutRefused();
    return Predict(ctx, *pf);
  });
}

}  // namespace modelbay
