// Predict: named steps — load the model, resolve and plan the inputs, open
// the log, score this shard's parts through the ordered block pipeline,
// commit the outputs, ship the log, finalize.
#include "batch/batch.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "batch/output.h"
#include "core/csv.h"
#include "core/hash.h"
#include "core/posix_file.h"
#include "core/thread_name.h"
#include "registry/loader.h"
#include "registry/registry.h"
#include "registry/model_name.h"
#include "results/results_file.h"
#include "results/row_format.h"

namespace modelbay::batch {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kPlanKey = "_plan.json";
constexpr std::string_view kManifestKey = "_manifest.json";

// Closes the prediction log on every path out of Predict (the success path
// closes it explicitly to report shipping errors).
struct LogCloser {
  results::PredictionLog* log;
  ~LogCloser() {
    if (log) (void)log->Close();
  }
};

// The model's feature columns in a file's header; InvalidArgument naming the
// first missing one.
Result<std::vector<size_t>> FeatureColumns(const LoadedModel& model, const CsvFileReader& reader) {
  const Schema& schema = model.schema();
  std::vector<size_t> cols;
  for (const auto& feature : schema.features) {
    auto it = std::find(reader.header().begin(), reader.header().end(), feature.name);
    if (it == reader.header().end()) {
      std::string names;
      for (const auto& x : schema.features) names += (names.empty() ? "" : ", ") + x.name;
      return InvalidArgument(fmt::format("{}: missing column '{}'; model version {} needs the columns {} "
                                         "(others, like the target, are ignored)",
                                         reader.source(), feature.name, model.version(), names));
    }
    cols.push_back(static_cast<size_t>(it - reader.header().begin()));
  }
  return cols;
}

std::string OutputHeader(const LoadedModel& model, const std::vector<std::string>& header) {
  std::string out;
  for (const auto& name : header) {
    if (!out.empty()) out.push_back(',');
    results::AppendCsvField(out, name);
  }
  out += ",prediction";
  if (model.schema().is_classifier()) {
    for (const auto& label : model.schema().class_labels) {
      out.push_back(',');
      results::AppendCsvField(out, "prob_" + label);
    }
  }
  out.push_back('\n');
  return out;
}

Cell CellOf(std::string_view v) { return v.empty() ? Cell(std::monostate{}) : Cell(v); }

// Names the first row of a failed block that the model refuses: file, line,
// column number and name.
Status LocateBadRow(const LoadedModel& model, const CsvTable& table, const std::vector<size_t>& cols,
                    const Status& block_error) {
  CellMatrix one;
  one.rows = 1;
  one.cols = cols.size();
  for (size_t r = 0; r < table.rows(); ++r) {
    one.cells.clear();
    for (size_t c : cols) one.cells.push_back(CellOf(table.cell(r, c)));
    auto p = model.Predict(one);
    if (p.ok()) continue;
    // The column: the first feature that fails alone.
    size_t bad = cols.size();
    for (size_t k = 0; k < cols.size() && bad == cols.size(); ++k) {
      CellMatrix probe = one;
      for (size_t j = 0; j < cols.size(); ++j) {
        if (j != k) probe.cells[j] = Cell(std::monostate{});
      }
      if (!model.Predict(probe).ok()) bad = k;
    }
    std::string msg = p.status().message();
    if (msg.starts_with("row 0, ")) msg.erase(0, 7);
    if (bad == cols.size()) return InvalidArgument(fmt::format("{}:{}: {}", table.source(), table.line_of(r), msg));
    return InvalidArgument(fmt::format("{}:{}:{}: {}", table.source(), table.line_of(r), cols[bad] + 1, msg));
  }
  return block_error.WithContext(table.source());
}

// What a scoring thread needs; all of it is immutable or thread-safe.
struct ScoreContext {
  const LoadedModel* model;
  results::PredictionLog* log;
  std::vector<size_t> cols;
  std::string request_prefix;  // batch-<job>/<part>
};

struct Block {
  CsvTable table;
  uint64_t first_row = 0;
};

// Scores one block, logs its rows, returns its output text.
Result<std::string> ScoreBlock(const ScoreContext& ctx, const Block& block) {
  const CsvTable& t = block.table;
  CellMatrix cells;
  cells.rows = t.rows();
  cells.cols = ctx.cols.size();
  cells.cells.reserve(cells.rows * cells.cols);
  for (size_t r = 0; r < t.rows(); ++r) {
    for (size_t c : ctx.cols) cells.cells.push_back(CellOf(t.cell(r, c)));
  }
  auto predictions = ctx.model->Predict(cells);
  if (!predictions.ok()) return LocateBadRow(*ctx.model, t, ctx.cols, predictions.status());
  Status logged = ctx.log->Append(*ctx.model, ctx.request_prefix, cells, *predictions,
                                  std::chrono::system_clock::now(), block.first_row);
  if (!logged.ok()) return logged.WithContext("logging the predictions");
  std::string text;
  text.reserve(t.rows() * 64);
  for (size_t r = 0; r < t.rows(); ++r) {
    for (size_t c = 0; c < t.cols(); ++c) {
      if (c) text.push_back(',');
      results::AppendCsvField(text, t.cell(r, c));
    }
    text.push_back(',');
    results::AppendCsvField(text, ctx.model->LabelText(*predictions, r));
    for (size_t k = 0; k < predictions->num_classes; ++k) {
      fmt::format_to(std::back_inserter(text), ",{}", predictions->probabilities[r * predictions->num_classes + k]);
    }
    text.push_back('\n');
  }
  return text;
}

// N scoring threads; blocks go in with a sequence number and come out in
// that order. At most `window` blocks are queued or done-but-unwritten.
class OrderedPool {
 public:
  explicit OrderedPool(size_t threads) {
    for (size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([this] {
        SetThreadName("mb-batch");
        Run();
      });
    }
  }
  ~OrderedPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  size_t threads() const { return workers_.size(); }

  void Submit(const ScoreContext* ctx, uint64_t seq, Block block) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back({ctx, seq, std::move(block)});
    }
    cv_.notify_one();
  }
  // Waits for block `seq`'s result.
  Result<std::string> Take(uint64_t seq) {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return done_.count(seq) > 0; });
    auto node = done_.extract(seq);
    return std::move(node.mapped());
  }

 private:
  struct Task {
    const ScoreContext* ctx;
    uint64_t seq;
    Block block;
  };
  void Run() {
    for (;;) {
      Task task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      Result<std::string> r = ScoreBlock(*task.ctx, task.block);
      {
        std::lock_guard lock(mu_);
        done_.emplace(task.seq, std::move(r));
      }
      done_cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::deque<Task> queue_;                        // guarded by mu_
  std::map<uint64_t, Result<std::string>> done_;  // guarded by mu_
  bool stop_ = false;                             // guarded by mu_
  std::vector<std::thread> workers_;
};

// Streams one part through the pool into `sink`; returns its row count.
// Every submitted block is taken before returning, so the pool is idle after.
// Blocks are taken in input order, so the first failing block holds the
// first bad row; a read (parse) error is in a later block than any
// submitted one, so it counts only when every earlier block scored.
Result<size_t> ScorePart(OrderedPool& pool, const ScoreContext& ctx, CsvFileReader& reader, size_t block_rows,
                         OutputSink& sink) {
  const size_t window = 2 * pool.threads();
  uint64_t next_read = 0, next_write = 0, rows = 0;
  bool end = false;
  Status read_error, score_error;
  for (;;) {
    while (!end && next_read - next_write < window) {
      auto block = reader.NextBlock(block_rows);
      if (!block.ok() || block->rows() == 0) {
        if (!block.ok()) read_error = block.status();
        end = true;
        break;
      }
      size_t n = block->rows();
      pool.Submit(&ctx, next_read++, Block{std::move(*block), rows});
      rows += n;
    }
    if (next_write == next_read) break;
    Result<std::string> text = pool.Take(next_write++);
    if (!score_error.ok()) continue;  // draining after an error
    Status s = text.ok() ? sink.Write(*text) : text.status();
    if (!s.ok()) {
      score_error = s;
      end = true;
    }
  }
  if (!score_error.ok()) return score_error;
  if (!read_error.ok()) return read_error;
  return static_cast<size_t>(rows);
}

// Where the output goes.
struct OutputPlan {
  bool parts = false;               // a folder / prefix of parts
  std::shared_ptr<Store> store;     // parts: rooted at the prefix; single: for an s3:// key
  std::string key;                  // single output to a store key
  fs::path file;                    // single output to a local file or "-"
  std::string describe;
};

bool IsS3(std::string_view s) { return s.starts_with("s3://"); }

// Opens OUT as a parts prefix (local folder or s3://bucket/prefix/).
Result<std::shared_ptr<Store>> OpenPartsStore(const Config& config, const std::string& out) {
  std::string where = IsS3(out) ? out : fs::absolute(out).string();
  MB_ASSIGN_OR_RETURN(StoreLocation loc, ParseStoreLocation(where, {}));
  return OpenStore(loc, config);
}

Result<OutputPlan> PlanOutput(const Config& config, const PredictOptions& o, const std::vector<InputObject>& inputs,
                              bool sharded) {
  OutputPlan plan;
  std::error_code ec;
  plan.parts = inputs.size() > 1 || sharded || o.out.ends_with('/') || (!o.out.empty() && fs::is_directory(o.out, ec));
  if (plan.parts) {
    if (o.out.empty() || o.out == "-") {
      return InvalidArgument(fmt::format("{} input parts need --out FOLDER or --out s3://bucket/prefix/ "
                                         "(one output part per input part)",
                                         inputs.size() > 1 ? "several" : "sharded"));
    }
    MB_ASSIGN_OR_RETURN(plan.store, OpenPartsStore(config, o.out));
    plan.describe = plan.store->Describe();
    return plan;
  }
  if (IsS3(o.out)) {
    std::string rest = o.out.substr(5);
    size_t slash = rest.find('/');
    MB_ASSIGN_OR_RETURN(StoreLocation loc, ParseStoreLocation("s3://" + rest.substr(0, slash), {}));
    MB_ASSIGN_OR_RETURN(plan.store, OpenStore(loc, config));
    plan.key = rest.substr(slash + 1);
    plan.describe = o.out;
    return plan;
  }
  if (o.out.empty()) {
    if (inputs[0].store) return InvalidArgument("an input from a store needs --out (a file, - or s3://bucket/key)");
    fs::path in = inputs[0].key;
    plan.file = in;
    plan.file.replace_filename(in.stem().string() + "_predictions" + (in.has_extension() ? in.extension().string() : ".csv"));
  } else {
    plan.file = o.out;
  }
  plan.describe = plan.file.string();
  return plan;
}

Result<std::shared_ptr<const LoadedModel>> LoadVersion(const Config& config, const std::string& model,
                                                       const std::string& version) {
  MB_ASSIGN_OR_RETURN(auto models, OpenStore(config.models, config));
  Registry registry(ModelScope(std::move(models), model));
  std::string spec = version;
  if (spec.empty()) {
    MB_ASSIGN_OR_RETURN(auto production, registry.GetAlias(kProductionAlias));
    spec = production ? std::to_string(*production) : "latest";
  }
  return LoadModel(registry, spec);
}

// A spool of its own (serve holds <home>/spool): the first free of
// <base>/predict-0, -1, ...; leftovers of a crashed run there ship on Open.
Result<std::unique_ptr<results::PredictionLog>> OpenBatchLog(const Config& config, const PredictOptions& o,
                                                    std::shared_ptr<Store> results) {
  results::PredictionLogOptions lo;
  lo.fsync = o.fsync;
  fs::path base = o.spool.empty() ? config.home / "spool" : fs::absolute(o.spool);
  if (!o.model.empty()) base = base / kNamedModelsFolder / o.model;  // a named model's rows never mix with another's
  Status last;
  for (int i = 0; i < 16; ++i) {
    lo.spool_dir = base / fmt::format("predict-{}", i);
    auto log = results::PredictionLog::Open(lo, results);
    if (log.ok() || log.status().code() != Code::kFailedPrecondition) return log;
    last = log.status();
  }
  return last;
}

// The local file to read an input from: the file itself, or the object
// downloaded into `temp` (kept while consecutive parts read it).
class InputFiles {
 public:
  explicit InputFiles(const fs::path& temp) : temp_(temp) {}
  Result<fs::path> PathOf(const std::vector<InputObject>& inputs, size_t index) {
    const InputObject& in = inputs[index];
    if (!in.store) return fs::path(in.key);
    if (current_ != index) {
      std::error_code ec;
      if (!path_.empty()) fs::remove(path_, ec);
      path_ = temp_ / fmt::format("input-{}.csv", index);
      MB_RETURN_IF_ERROR(in.store->GetToFile(in.key, path_));
      current_ = index;
    }
    return path_;
  }

 private:
  fs::path temp_;
  fs::path path_;
  size_t current_ = SIZE_MAX;
};

std::string ManifestJson(const nlohmann::json& plan, const std::vector<uint64_t>& sizes) {
  nlohmann::json m;
  m["job"] = plan["job"];
  m["parts"] = nlohmann::json::array();
  for (size_t i = 0; i < plan["parts"].size(); ++i) {
    nlohmann::json p = plan["parts"][i];
    p["bytes"] = sizes[i];
    m["parts"].push_back(std::move(p));
  }
  return m.dump(1) + "\n";
}

// Writes the manifest when every part of the plan exists; the missing parts'
// count otherwise (FailedPrecondition).
Result<std::string> FinalizeStore(Store& store) {
  auto text = store.Get(std::string(kPlanKey));
  if (!text.ok()) {
    return text.status().code() == Code::kNotFound
               ? NotFound(fmt::format("{}: no {} here; is this the --out of a sharded `modelbay predict`?",
                                      store.Describe(), kPlanKey))
               : text.status();
  }
  nlohmann::json plan = nlohmann::json::parse(*text, nullptr, false);
  if (plan.is_discarded() || !plan.contains("parts") || !plan["parts"].is_array()) {
    return DataLoss(fmt::format("{}/{} is not a plan written by modelbay", store.Describe(), kPlanKey));
  }
  std::vector<uint64_t> sizes;
  std::vector<std::string> missing;
  for (const auto& p : plan["parts"]) {
    std::string key = p.value("key", "");
    MB_RETURN_IF_ERROR(ValidateKey(key));
    MB_ASSIGN_OR_RETURN(auto info, store.Head(key));
    if (!info) missing.push_back(key);
    sizes.push_back(info ? info->size : 0);
  }
  if (!missing.empty()) {
    return FailedPrecondition(fmt::format("{} of {} parts are not written yet (first: {}); run the shards that "
                                          "own them, then finalize again",
                                          missing.size(), sizes.size(), missing.front()));
  }
  MB_RETURN_IF_ERROR(store.Put(std::string(kManifestKey), ManifestJson(plan, sizes)));
  std::string where = store.Describe();
  if (!where.ends_with('/')) where += '/';
  return where + std::string(kManifestKey);
}

}  // namespace

Result<PredictReport> Predict(const Config& config, const PredictOptions& o) {
  if (o.block_rows == 0) return InvalidArgument("--batch-size must be at least 1");
  // Step 1: the model.
  MB_ASSIGN_OR_RETURN(auto model, LoadVersion(config, o.model, o.version));

  // Step 2: inputs, shard, parts, output.
  MB_ASSIGN_OR_RETURN(auto inputs, ResolveInputs(config, o.inputs));
  std::optional<Shard> shard = o.shard;
  if (!shard) {
    MB_ASSIGN_OR_RETURN(shard, ShardFromEnv(config));
  }
  MB_ASSIGN_OR_RETURN(OutputPlan out, PlanOutput(config, o, inputs, shard.has_value()));
  std::vector<Part> parts = out.parts ? PlanParts(inputs, o.split_bytes)
                                      : std::vector<Part>{{0, 0, inputs[0].size, ""}};
  std::vector<size_t> mine = PartsOfShard(parts.size(), shard.value_or(Shard{}));
  std::string job = o.job_id;
  if (job.empty()) {
    job = out.parts ? Sha256Hex(fmt::format("{}\n{}\n{}", PlanJson(inputs, parts, ""), out.describe,
                                            model->version())).substr(0, 16)
                    : RandomHex(8);
  }
  PredictReport report;
  report.version = model->version();
  report.request_prefix = "batch-" + job;
  if (out.parts) MB_RETURN_IF_ERROR(out.store->Put(std::string(kPlanKey), PlanJson(inputs, parts, job)));

  // Step 3: the log (closed on every path) and the scoring threads.
  MB_ASSIGN_OR_RETURN(auto all_results, OpenStore(config.results, config));
  std::shared_ptr<Store> results = ModelScope(std::move(all_results), o.model);
  MB_ASSIGN_OR_RETURN(auto log, OpenBatchLog(config, o, results));
  LogCloser closer{log.get()};
  ScopedTempDir temp("modelbay-predict");
  InputFiles files(temp.path());
  size_t threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::unique_ptr<OutputSink>> sinks;
  {
    OrderedPool pool(threads);
    // Step 4: every part of this shard, each to a temp output.
    for (size_t index : mine) {
      const Part& part = parts[index];
      MB_ASSIGN_OR_RETURN(fs::path path, files.PathOf(inputs, part.object));
      MB_ASSIGN_OR_RETURN(auto reader, CsvFileReader::Open(path, inputs[part.object].name));
      if (out.parts) MB_RETURN_IF_ERROR(reader->SetRange(part.begin, part.end));
      ScoreContext ctx{model.get(), log.get(), {}, report.request_prefix + "/" + (out.parts ? part.key : "0")};
      MB_ASSIGN_OR_RETURN(ctx.cols, FeatureColumns(*model, *reader));
      std::unique_ptr<OutputSink> sink;
      if (out.parts) {
        MB_ASSIGN_OR_RETURN(sink, OpenStoreSink(out.store, part.key, temp.path() / "out"));
      } else if (out.store) {
        MB_ASSIGN_OR_RETURN(sink, OpenStoreSink(out.store, out.key, temp.path() / "out"));
      } else {
        MB_ASSIGN_OR_RETURN(sink, OpenFileSink(out.file));
      }
      MB_RETURN_IF_ERROR(sink->Write(OutputHeader(*model, reader->header())));
      MB_ASSIGN_OR_RETURN(size_t rows, ScorePart(pool, ctx, *reader, o.block_rows, *sink));
      report.rows += rows;
      sinks.push_back(std::move(sink));
    }
  }
  // Step 5: every part scored: make the outputs visible.
  for (auto& sink : sinks) {
    MB_RETURN_IF_ERROR(sink->Commit());
    report.outputs.push_back(sink->Describe());
  }
  // Step 6: the log is in the results store before we return.
  closer.log = nullptr;
  Status shipped = log->Close();
  if (!shipped.ok()) {
    return shipped.WithContext(fmt::format("predictions written to {}, but logging them", out.describe));
  }
  if (o.update_results_file) results::UpdateResultsFileAfterBatch(results, report.version);
  // Step 7: the manifest, when this run completed the set.
  if (out.parts) {
    auto manifest = FinalizeStore(*out.store);
    if (manifest.ok()) report.manifest = *manifest;
    else if (manifest.status().code() != Code::kFailedPrecondition) return manifest.status();
  }
  return report;
}

Result<std::string> Finalize(const Config& config, const std::string& out) {
  MB_ASSIGN_OR_RETURN(auto store, OpenPartsStore(config, out));
  return FinalizeStore(*store);
}

}  // namespace modelbay::batch
