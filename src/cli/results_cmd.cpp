// `modelbay results export` and `modelbay predict`: the prediction log's
// single CSV per version, and batch scoring logged like served requests.
#include <algorithm>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "core/csv.h"
#include "model/loader.h"
#include "registry/registry.h"
#include "results/prediction_log.h"
#include "results/row_format.h"
#include "store/store.h"

namespace modelbay {
namespace {
namespace fs = std::filesystem;

struct ExportFlags {
  int version = 0;
  std::string out;
};

struct PredictFlags {
  std::string file;
  std::string version = "";
  std::string out;
  size_t batch_size = 10000;
  std::string spool;
  std::string fsync = "always";
};

Status Export(const CliContext& ctx, const ExportFlags& f) {
  if (f.version <= 0) return InvalidArgument("--version must be a version number (1, 2, ...)");
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(auto results, OpenStore(cfg.results, cfg));
  MB_ASSIGN_OR_RETURN(size_t rows, ExportResults(*results, f.version, f.out));
  if (f.out.empty()) {
    std::string where = results->Describe();
    if (!where.ends_with('/')) where += '/';
    fmt::print("{}results_{}.csv\n", where, f.version);
  } else {
    fmt::print("{}\n", f.out);
  }
  spdlog::info("exported {} rows of version {}", rows, f.version);
  return Status::Ok();
}

std::string NewUuid() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  uint64_t a = gen(), b = gen();
  a = (a & 0xffffffffffff0fffULL) | 0x4000;          // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff,
                     b >> 48, b & 0xffffffffffffULL);
}

// A spool of its own (serve holds <home>/spool): the first free of
// <base>/predict-0, -1, ...; leftovers of a crashed run there ship on Open.
Result<std::unique_ptr<PredictionLog>> OpenBatchLog(const Config& cfg, const PredictFlags& f,
                                                    std::shared_ptr<Store> results) {
  PredictionLogOptions o;
  o.fsync = f.fsync == "never" ? FsyncPolicy::kNever : FsyncPolicy::kAlways;
  fs::path base = f.spool.empty() ? cfg.home / "spool" : fs::absolute(f.spool);
  Status last;
  for (int i = 0; i < 16; ++i) {
    o.spool_dir = base / fmt::format("predict-{}", i);
    auto log = PredictionLog::Open(o, results);
    if (log.ok() || log.status().code() != Code::kFailedPrecondition) return log;
    last = log.status();
  }
  return last;
}

fs::path DefaultOut(const fs::path& in) {
  fs::path out = in;
  out.replace_filename(in.stem().string() + "_predictions" + (in.has_extension() ? in.extension().string() : ".csv"));
  return out;
}

// Finds the first row of a failed batch that the model refuses, to name its
// line in the file.
Status LocateBadRow(const LoadedModel& model, const CsvTable& table, const std::vector<size_t>& cols,
                    size_t begin, size_t end, const Status& batch_error) {
  CellMatrix one;
  one.rows = 1;
  one.cols = cols.size();
  for (size_t r = begin; r < end; ++r) {
    one.cells.clear();
    for (size_t c : cols) {
      std::string_view v = table.cell(r, c);
      one.cells.push_back(v.empty() ? Cell(std::monostate{}) : Cell(v));
    }
    auto p = model.Predict(one);
    if (!p.ok()) {
      std::string msg = p.status().message();
      if (msg.starts_with("row 0, ")) msg.erase(0, 7);
      return InvalidArgument(fmt::format("{}:{}: {}", table.source(), table.line_of(r), msg));
    }
  }
  return batch_error.WithContext(table.source());
}

Status Predict(const CliContext& ctx, const PredictFlags& f) {
  if (f.batch_size == 0) return InvalidArgument("--batch-size must be at least 1");
  if (f.fsync != "always" && f.fsync != "never") return InvalidArgument("--fsync must be `always` or `never`");
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(auto models, OpenStore(cfg.models, cfg));
  MB_ASSIGN_OR_RETURN(auto results, OpenStore(cfg.results, cfg));
  Registry registry(models);
  std::string spec = f.version;
  if (spec.empty()) {
    MB_ASSIGN_OR_RETURN(auto production, registry.GetAlias(kProductionAlias));
    spec = production ? std::to_string(*production) : "latest";
  }
  MB_ASSIGN_OR_RETURN(auto model, LoadModel(registry, spec));
  const Schema& schema = model->schema();

  MB_ASSIGN_OR_RETURN(CsvTable table, ReadCsvFile(f.file));
  std::vector<size_t> cols;
  for (const auto& feature : schema.features) {
    long c = table.find_column(feature.name);
    if (c < 0) {
      std::string names;
      for (const auto& x : schema.features) names += (names.empty() ? "" : ", ") + x.name;
      return InvalidArgument(fmt::format("{}: missing column '{}'; model version {} needs the columns {} "
                                         "(others, like the target, are ignored)",
                                         f.file, feature.name, model->version(), names));
    }
    cols.push_back(static_cast<size_t>(c));
  }

  fs::path out_path = f.out.empty() ? DefaultOut(f.file) : fs::path(f.out);
  fs::path partial = out_path;
  partial += ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) return InvalidArgument(fmt::format("cannot write {}: check the folder exists and is writable", partial.string()));
  std::string header;
  for (const auto& name : table.header()) {
    if (!header.empty()) header.push_back(',');
    results::AppendCsvField(header, name);
  }
  header += ",prediction";
  if (schema.is_classifier()) {
    for (const auto& label : schema.class_labels) {
      header.push_back(',');
      results::AppendCsvField(header, "prob_" + label);
    }
  }
  out << header << '\n';

  MB_ASSIGN_OR_RETURN(auto log, OpenBatchLog(cfg, f, results));
  const std::string request_id = "batch-" + NewUuid();
  CellMatrix cells;
  cells.cols = cols.size();
  std::string text;
  for (size_t begin = 0; begin < table.rows(); begin += f.batch_size) {
    size_t end = std::min(table.rows(), begin + f.batch_size);
    cells.rows = end - begin;
    cells.cells.clear();
    for (size_t r = begin; r < end; ++r) {
      for (size_t c : cols) {
        std::string_view v = table.cell(r, c);
        cells.cells.push_back(v.empty() ? Cell(std::monostate{}) : Cell(v));
      }
    }
    auto predictions = model->Predict(cells);
    if (!predictions.ok()) {
      (void)log->Close();
      out.close();
      fs::remove(partial);
      return LocateBadRow(*model, table, cols, begin, end, predictions.status());
    }
    MB_RETURN_IF_ERROR(log->Append(*model, request_id, cells, *predictions, std::chrono::system_clock::now()));
    text.clear();
    for (size_t r = begin; r < end; ++r) {
      for (size_t c = 0; c < table.cols(); ++c) {
        if (c) text.push_back(',');
        results::AppendCsvField(text, table.cell(r, c));
      }
      text.push_back(',');
      results::AppendCsvField(text, model->LabelText(*predictions, r - begin));
      for (size_t k = 0; k < predictions->num_classes; ++k) {
        fmt::format_to(std::back_inserter(text), ",{}",
                       predictions->probabilities[(r - begin) * predictions->num_classes + k]);
      }
      text.push_back('\n');
    }
    out << text;
  }
  out.close();
  if (!out) return Unavailable(fmt::format("cannot write {} (disk full?)", partial.string()));
  std::error_code ec;
  fs::rename(partial, out_path, ec);
  if (ec) return Unavailable(fmt::format("cannot write {}: {}", out_path.string(), ec.message()));
  Status shipped = log->Close();
  if (!shipped.ok()) {
    return shipped.WithContext(fmt::format("predictions written to {}, but logging them", out_path.string()));
  }
  fmt::print("{}\n", out_path.string());
  spdlog::info("scored {} rows with model version {}; logged as request {} in {}", table.rows(),
               model->version(), request_id, results->Describe());
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
  exp->add_option("--version", ef->version, "Model version whose rows to export")->required();
  exp->add_option("--out", ef->out,
                  "Local file to write (default: results_<N>.csv at the root of the results store)");
  SetAction(exp, ctx, [&ctx, ef] { return Export(ctx, *ef); });

  auto pf = std::make_shared<PredictFlags>();
  auto* predict = app.add_subcommand(
      "predict",
      "Score a CSV file in batch with the same preprocessing as the server; every row is logged to\n"
      "the results store (request id batch-<uuid>) before the command returns.");
  predict->add_option("FILE", pf->file, "CSV file with the model's feature columns (by name)")->required();
  predict->add_option("--version", pf->version,
                      "Model version, `latest` or an alias (default: production, else latest)");
  predict->add_option("--out", pf->out, "Output CSV (default: FILE with a _predictions suffix)");
  predict->add_option("--batch-size", pf->batch_size, "Rows scored per call")->capture_default_str();
  predict->add_option("--spool", pf->spool, "Folder for the local log spool (default: <home>/spool)");
  predict->add_option("--fsync", pf->fsync, "Spool fsync policy: always or never")->capture_default_str();
  SetAction(predict, ctx, [&ctx, pf] { return Predict(ctx, *pf); });
}

}  // namespace modelbay
