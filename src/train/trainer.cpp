#include "train/trainer.h"

#include "modelbay_version.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "core/parallel.h"
#include "data/data_store.h"
#include "data/shard.h"
#include "model/baseline.h"
#include "model/loaded_model.h"
#include "model/preprocessor.h"
#include "model/schema_infer.h"
#include "model/xgboost_util.h"
#include "train/booster.h"
#include "train/collective.h"
#include "train/metrics.h"
#include "train/promotion.h"
#include "train/split.h"

namespace modelbay {
namespace {

struct Progress {
  bool on;
  template <typename... Args>
  void operator()(fmt::format_string<Args...> f, Args&&... args) const {
    if (on) spdlog::info(f, std::forward<Args>(args)...);
  }
};

std::vector<float> Gather(std::span<const float> labels, std::span<const uint32_t> rows) {
  std::vector<float> out;
  out.reserve(rows.size());
  for (uint32_t r : rows) out.push_back(labels[r]);
  return out;
}

// Scores encoded rows with `model` in one slice per core (LoadedModel is
// thread-safe); the predictions are those of one call on all rows.
Result<Predictions> PredictOnAllCores(const LoadedModel& model, const float* x, size_t rows) {
  constexpr size_t kMinSliceRows = 4096;
  const size_t width = model.schema().features.size();
  const size_t slices =
      std::clamp<size_t>(std::min<size_t>(std::thread::hardware_concurrency(), rows / kMinSliceRows), 1, 64);
  std::vector<Result<Predictions>> parts(slices, InvalidArgument("not scored"));
  auto bounds = [&](size_t k) { return rows * k / slices; };
  {
    std::vector<std::jthread> threads;
    for (size_t k = 1; k < slices; ++k) {
      threads.emplace_back([&, k] { parts[k] = model.PredictEncoded(x + bounds(k) * width, bounds(k + 1) - bounds(k)); });
    }
    parts[0] = model.PredictEncoded(x, bounds(1));
  }
  for (const auto& p : parts) MB_RETURN_IF_ERROR(p.status());
  if (slices == 1) return std::move(*parts[0]);
  Predictions out;
  out.rows = rows;
  out.num_classes = parts[0]->num_classes;
  out.values.reserve(rows);
  out.probabilities.reserve(rows * out.num_classes);
  for (auto& p : parts) {
    out.values.insert(out.values.end(), p->values.begin(), p->values.end());
    out.probabilities.insert(out.probabilities.end(), p->probabilities.begin(), p->probabilities.end());
  }
  return out;
}

// What Evaluate reads of the predictions: P(class 1) per row (binary), the
// class probabilities (multi-class) or the predicted value (regression).
std::vector<float> RawScores(const Predictions& p) {
  if (p.num_classes == 0) return std::vector<float>(p.values.begin(), p.values.end());
  if (p.num_classes > 2) return p.probabilities;
  std::vector<float> out(p.rows);
  for (size_t r = 0; r < p.rows; ++r) out[r] = p.probabilities[2 * r + 1];
  return out;
}

// Holdout metrics from the booster's raw output.
nlohmann::json Evaluate(const Schema& schema, std::span<const float> truth, std::span<const float> raw) {
  if (!schema.is_classifier()) return RegressorMetrics(truth, raw);
  if (schema.task == TaskType::kMulticlass) return ClassifierMetrics(truth, raw, schema.class_labels.size());
  std::vector<float> probabilities(raw.size() * 2);
  for (size_t r = 0; r < raw.size(); ++r) {
    probabilities[2 * r] = 1.0f - raw[r];
    probabilities[2 * r + 1] = raw[r];
  }
  return ClassifierMetrics(truth, probabilities, 2);
}

std::string MetricsLine(const nlohmann::json& metrics) {
  std::string out;
  for (const auto& [k, v] : metrics.items()) {
    std::string text = v.is_number_float() ? fmt::format("{:.4f}", v.get<double>()) : v.is_number() ? v.dump() : "n/a";
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", k, text);
  }
  return out;
}

// "'?', '-'" (tokens quoted, for a warning line).
std::string QuotedTokens(const std::vector<std::string>& tokens) {
  std::string out;
  for (const auto& t : tokens) out += fmt::format("{}\"{}\"", out.empty() ? "" : ", ", t);
  return out;
}

void WarnStrayTokens(const std::vector<StrayTokens>& stray) {
  for (const auto& s : stray) {
    spdlog::warn("column '{}' is {}numeric: {} cell(s) that are not numbers are read as missing ({}{}), the "
                 "first on line {} of {}; {}",
                 s.column, s.forced ? "forced " : "", s.cells, QuotedTokens(s.tokens),
                 s.more_tokens ? ", ..." : "", s.first_line, s.first_source,
                 s.forced ? "as --column-type asked"
                          : fmt::format("pass --column-type {}=categorical if they are categories", s.column));
  }
}

nlohmann::json StrayTokensJson(const std::vector<StrayTokens>& stray) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : stray) {
    out.push_back({{"column", s.column}, {"cells", s.cells}, {"first_line", s.first_line},
                   {"first_source", s.first_source}, {"tokens", s.tokens}, {"forced", s.forced}});
  }
  return out;
}

nlohmann::json ColumnTypesJson(const std::map<std::string, FeatureType>& types) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, type] : types) out[name] = FeatureTypeName(type);
  return out;
}

nlohmann::json FileJson(const DataFile& f) {
  return {{"key", f.key}, {"etag", f.etag}, {"size", f.size}, {"last_modified_ms", f.last_modified_ms}};
}

DataFile FileFromJson(const nlohmann::json& j) {
  DataFile f;
  f.key = j.at("key").get<std::string>();
  f.etag = j.at("etag").get<std::string>();
  f.size = j.at("size").get<uint64_t>();
  f.last_modified_ms = j.at("last_modified_ms").get<int64_t>();
  return f;
}

// Plain values as bytes for the collective (every worker runs this same
// binary, so the representation is the same on both ends), and back.
template <typename T>
std::string ValueBytes(std::span<const T> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

template <typename T>
void AppendValues(std::vector<T>& out, std::string_view bytes) {
  size_t n = bytes.size() / sizeof(T);
  size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, bytes.data(), n * sizeof(T));
}

// One training, step by step. Every worker of a distributed training runs
// the same steps; each step that needs the others ends in one collective
// exchange (Collective::Agree), so an error anywhere stops every worker at
// the same step. A single-process training is a world of one.
class TrainRun {
 public:
  TrainRun(const TrainOptions& options, Store& data, Registry& registry, Collective& team)
      : options_(options),
        data_(data),
        registry_(registry),
        team_(team),
        progress_{options.show_progress && team.rank() == 0} {}

  Result<TrainOutcome> Run() {
    MB_RETURN_IF_ERROR(Timed("select files", [&] { return SelectFiles(); }));
    MB_RETURN_IF_ERROR(Timed("read data", [&] { return ReadShare(); }));
    MB_RETURN_IF_ERROR(Timed("schema", [&] { return AgreeSchema(); }));
    MB_RETURN_IF_ERROR(Timed("split", [&] { return SplitRows(); }));
    MB_RETURN_IF_ERROR(Timed("preprocessor", [&] { return FitPreprocessor(); }));
    MB_RETURN_IF_ERROR(Timed("encode + input baseline", [&] { return EncodeAndReleaseTable(); }));
    MB_RETURN_IF_ERROR(Timed("boosting", [&] { return FitModel(); }));
    MB_RETURN_IF_ERROR(Timed("holdout metrics", [&] { return EvaluateHoldout(); }));
    Result<TrainOutcome> outcome = InvalidArgument("not published");
    (void)Timed("publish", [&] {
      outcome = Publish();
      return Status::Ok();
    });
    return outcome;
  }

 private:
  // Runs one step; its wall time goes to the debug log (`modelbay -v
  // train`: where a training's time goes, step by step).
  template <typename Step>
  Status Timed(std::string_view name, Step&& step) {
    const auto start = std::chrono::steady_clock::now();
    Status st = step();
    spdlog::debug("train step '{}': {:.3f} s", name,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return st;
  }

  // Rank 0 lists the data store; every worker uses its list (a listing per
  // worker could differ while data arrives).
  Status SelectFiles() {
    Result<nlohmann::json> mine = nlohmann::json::array();
    if (team_.rank() == 0) {
      auto files = SelectData(data_, options_.data);
      if (!files.ok()) {
        mine = files.status();
      } else {
        for (const auto& f : *files) mine->push_back(FileJson(f));
      }
    }
    MB_ASSIGN_OR_RETURN(std::vector<nlohmann::json> all, team_.Agree(mine));
    for (const auto& j : all[0]) files_.push_back(FileFromJson(j));
    return Status::Ok();
  }

  // One process reads every selected file (identical content once); a
  // worker reads only its share (data/shard.h).
  Status ReadShare() {
    progress_("loading {} data file(s) from {}{}", files_.size(), data_.Describe(),
              team_.distributed() ? fmt::format(", split over {} workers", team_.world()) : "");
    Result<CsvTable> table = InvalidArgument("no data");
    std::vector<PartRead> read;
    if (!team_.distributed()) {
      table = LoadData(data_, files_);
      for (const auto& f : files_) read.push_back({{f.key, 0, f.size, f.size}, f.etag, f.sha256, f.rows});
    } else {
      auto plan = PlanShares(files_, team_.world(), DefaultPartBytes(files_, team_.world()));
      table = LoadShare(data_, plan[team_.rank()], files_, read);
    }
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& r : read) {
      parts.push_back({{"key", r.part.key}, {"etag", r.etag}, {"offset", r.part.offset}, {"length", r.part.length},
                       {"object_size", r.part.object_size}, {"sha256", r.sha256}, {"rows", r.rows}});
    }
    // (A Result is built from an error status only: debug builds assert it.)
    Result<nlohmann::json> mine = table.ok() ? Result<nlohmann::json>(std::move(parts)) : table.status();
    MB_ASSIGN_OR_RETURN(shares_, team_.Agree(mine));
    table_ = std::move(*table);
    return Status::Ok();
  }

  // Every worker's schema facts, merged in rank order: the schema one
  // process would infer from all the data, on every worker.
  Status AgreeSchema() {
    SchemaOptions schema_options{options_.target, options_.drop, options_.column_types};
    auto facts = CollectSchemaFacts(table_, schema_options);
    Result<nlohmann::json> mine = facts.ok() ? Result<nlohmann::json>(SchemaFactsToJson(*facts)) : facts.status();
    MB_ASSIGN_OR_RETURN(std::vector<nlohmann::json> all, team_.Agree(mine));
    MB_ASSIGN_OR_RETURN(facts_, SchemaFactsFromJson(all[0]));
    for (size_t r = 1; r < all.size(); ++r) {
      MB_ASSIGN_OR_RETURN(SchemaFacts other, SchemaFactsFromJson(all[r]));
      MB_RETURN_IF_ERROR(MergeSchemaFacts(facts_, other));
    }
    MB_ASSIGN_OR_RETURN(inferred_, DecideSchema(facts_, schema_options));
    LabelRows(table_, inferred_);
    const Schema& schema = inferred_.schema;
    if (team_.rank() == 0) WarnStrayTokens(inferred_.stray);
    progress_("read {} rows x {} columns", facts_.rows, facts_.header.size());
    if (facts_.rows_without_target > 0) {
      if (team_.rank() == 0) {
        spdlog::warn("{} rows have no value in target '{}' (the first on {}); they are left out of training",
                     facts_.rows_without_target, schema.target, facts_.first_without_target);
      }
    }
    if (facts_.rows_with_target < 2) {
      return InvalidArgument(fmt::format("{} has {} row(s) with a target; training needs at least 2 (one to learn "
                                         "from, one to check the model on)",
                                         facts_.source, facts_.rows_with_target));
    }
    progress_("target '{}': {}{}; {} features", schema.target, TaskName(schema.task),
              schema.is_classifier() ? fmt::format(" ({} classes)", schema.class_labels.size()) : "",
              schema.features.size());
    return Status::Ok();
  }

  Status SplitRows() {
    split_ = SplitHoldout(table_, inferred_.rows);
    std::vector<uint32_t>().swap(inferred_.rows);  // split_ holds the same rows
    if (!team_.distributed()) {
      EnsureBothSides(split_);
      train_rows_ = split_.train.size();
      holdout_rows_ = split_.holdout.size();
      return Status::Ok();
    }
    std::vector<uint64_t> counts = {split_.train.size(), split_.holdout.size()};
    MB_RETURN_IF_ERROR(team_.Sum(counts));
    train_rows_ = counts[0];
    holdout_rows_ = counts[1];
    if (train_rows_ == 0 || holdout_rows_ == 0) {
      return InvalidArgument(fmt::format("the data has {} rows with a target: too few for a distributed training "
                                         "to hold some out; train in one process",
                                         facts_.rows_with_target));
    }
    return Status::Ok();
  }

  // Scaler ranges and category vocabularies of every worker's training rows.
  Status FitPreprocessor() {
    for (size_t c : inferred_.feature_columns) columns_.push_back(&table_.column(c));
    auto stats = Preprocessor::CollectStats(inferred_.schema, columns_, split_.train);
    MB_ASSIGN_OR_RETURN(std::vector<nlohmann::json> all, team_.Agree(Preprocessor::StatsToJson(stats)));
    MB_ASSIGN_OR_RETURN(std::vector<Preprocessor::FeatureStats> merged, Preprocessor::StatsFromJson(all[0]));
    for (size_t r = 1; r < all.size(); ++r) {
      MB_ASSIGN_OR_RETURN(auto other, Preprocessor::StatsFromJson(all[r]));
      Preprocessor::MergeStats(merged, other);
    }
    pre_ = Preprocessor::FromStats(inferred_.schema, merged);
    return Status::Ok();
  }

  // Encodes both sides of the split into float matrices and keeps a copy
  // of the holdout's text (the promotion gate scores production on it),
  // then releases the parsed CSV: boosting holds only what XGBoost needs
  // (its DMatrix; x_train goes once copied) and the holdout.
  Status EncodeAndReleaseTable() {
    y_train_ = Gather(inferred_.labels, split_.train);
    local_truth_ = Gather(inferred_.labels, split_.holdout);
    std::vector<float>().swap(inferred_.labels);
    if (auto columns = GateColumns()) {
      kept_holdout_text_ = true;
      holdout_table_ = table_.Subset(split_.holdout, *columns);
      holdout_rows_local_.resize(split_.holdout.size());
      for (uint32_t i = 0; i < holdout_rows_local_.size(); ++i) holdout_rows_local_[i] = i;
    }
    // From here on only the feature columns are read.
    for (size_t c = 0; c < table_.cols(); ++c) {
      if (std::find(inferred_.feature_columns.begin(), inferred_.feature_columns.end(), c) ==
          inferred_.feature_columns.end()) {
        table_.ReleaseColumn(c);
      }
    }
    {
      // The input baseline and the encoding both only read the table: they
      // run as one set of tasks on every core (the baseline first, the
      // longest; the encoding, in slices of rows, on the other cores and
      // on the baseline's once it is done).
      const size_t width = pre_.num_features();
      x_hold_.resize(split_.holdout.size() * width);
      x_train_.resize(split_.train.size() * width);
      std::vector<uint32_t> baseline_rows = BaselineRows();
      constexpr size_t baseline_tasks = 1;
      constexpr size_t kSliceRows = 65536;
      const size_t hold_slices = (split_.holdout.size() + kSliceRows - 1) / kSliceRows;
      const size_t train_slices = (split_.train.size() + kSliceRows - 1) / kSliceRows;
      auto encode = [&](std::span<const uint32_t> rows, float* out, size_t slice) {
        const size_t begin = slice * kSliceRows;
        const size_t end = std::min(rows.size(), begin + kSliceRows);
        pre_.Transform(columns_, rows.subspan(begin, end - begin), out + begin * width);
      };
      ParallelFor(baseline_tasks + hold_slices + train_slices, [&](size_t k) {
        if (k < baseline_tasks) {
          if (team_.distributed()) {
            sketches_ = SketchFeatures(pre_, columns_, baseline_rows);
          } else {
            baseline_.features = ComputeFeatureBaselines(pre_, columns_, baseline_rows);
          }
        } else if (k < baseline_tasks + hold_slices) {
          encode(split_.holdout, x_hold_.data(), k - baseline_tasks);
        } else {
          encode(split_.train, x_train_.data(), k - baseline_tasks - hold_slices);
        }
      });
      if (!team_.distributed()) {
        baseline_.scope = fmt::format("the training data ({} rows with a target)", baseline_rows.size());
      }
    }
    if (team_.distributed()) MB_RETURN_IF_ERROR(MergeInputBaseline());
    columns_.clear();
    table_ = CsvTable();
    std::vector<uint32_t>().swap(split_.train);
    return Status::Ok();
  }

  // The table columns whose holdout text the promotion gate needs: those
  // of the production version's features (every column when its metadata
  // cannot be read). None when no text is needed: only rank 0's gate in
  // --promote auto with a production version scores text. (A production
  // version that appears while this one trains is then not compared: the
  // gate says so and does not promote.)
  std::optional<std::vector<size_t>> GateColumns() {
    if (team_.rank() != 0 || options_.promote != PromoteMode::kAuto) return std::nullopt;
    auto current = registry_.GetAlias(kProductionAlias);
    if (current.ok() && !current->has_value()) return std::nullopt;
    // Production's feature names; unreadable metadata keeps every column.
    auto metadata = current.ok() ? registry_.Metadata(**current) : Result<nlohmann::json>(current.status());
    const nlohmann::json* features = nullptr;
    if (metadata.ok()) {
      const auto schema = metadata->find("schema");
      if (schema != metadata->end() && schema->is_object()) {
        const auto list = schema->find("features");
        if (list != schema->end() && list->is_array()) features = &*list;
      }
    }
    std::set<std::string> names;
    for (size_t i = 0; features != nullptr && i < features->size(); ++i) {
      const nlohmann::json& f = (*features)[i];
      if (f.is_object() && f.contains("name") && f["name"].is_string()) names.insert(f["name"].get<std::string>());
    }
    std::vector<size_t> columns;
    for (size_t c = 0; c < table_.cols(); ++c) {
      if (features == nullptr || names.contains(table_.header()[c])) columns.push_back(c);
    }
    return columns;
  }

  // XGBoost on this worker's training rows; with a communicator joined,
  // XGBoost itself syncs the sketches and histograms across workers.
  Status FitModel() {
    const size_t width = pre_.num_features();
    MB_ASSIGN_OR_RETURN(params_, ResolveParams(inferred_.schema, options_.params));
    progress_("training XGBoost on {} rows ({} held out), {} rounds", train_rows_, holdout_rows_, params_.rounds);
    const int every = std::max(1, params_.rounds / 10);
    MB_ASSIGN_OR_RETURN(booster_, FitBooster(std::move(x_train_), y_train_, width, params_,
                                             [&](int done, int total) {
                                               if (done % every == 0 || done == total) {
                                                 progress_("round {}/{}", done, total);
                                               }
                                             }));
    return Status::Ok();
  }

  // Metrics on every worker's holdout rows together. The holdout is scored
  // once, as the server scores it (the version's LoadedModel), on every
  // core; the output baseline reuses the same predictions.
  Status EvaluateHoldout() {
    Status scored = ScoreHoldout();
    MB_RETURN_IF_ERROR(team_.Agree(scored.ok() ? Result<nlohmann::json>(nullptr) : scored).status());
    local_raw_ = RawScores(*holdout_predictions_);
    std::vector<float> truth;
    std::vector<float> all_raw;
    MB_ASSIGN_OR_RETURN(std::vector<std::string> truths, team_.AllGather(ValueBytes<float>(local_truth_)));
    MB_ASSIGN_OR_RETURN(std::vector<std::string> raws, team_.AllGather(ValueBytes<float>(local_raw_)));
    for (const auto& t : truths) AppendValues(truth, t);
    for (const auto& r : raws) AppendValues(all_raw, r);
    metrics_ = Evaluate(inferred_.schema, truth, all_raw);
    MB_RETURN_IF_ERROR(GatherOutputs());
    metrics_["holdout_rows"] = holdout_rows_;
    progress_("holdout metrics: {}", MetricsLine(metrics_));
    return Status::Ok();
  }

  // The output baseline describes every worker's holdout rows: each row's
  // score (OutputScore) and predicted class go to every worker.
  Status GatherOutputs() {
    const Predictions& p = *holdout_predictions_;
    std::vector<double> scores(p.rows);
    for (size_t r = 0; r < p.rows; ++r) scores[r] = OutputScore(p, r);
    const std::vector<double> labels = p.num_classes > 0 ? p.values : std::vector<double>();
    MB_ASSIGN_OR_RETURN(std::vector<std::string> all_scores, team_.AllGather(ValueBytes<double>(scores)));
    MB_ASSIGN_OR_RETURN(std::vector<std::string> all_labels, team_.AllGather(ValueBytes<double>(labels)));
    output_scores_.clear();
    output_labels_.clear();
    for (const auto& b : all_scores) AppendValues(output_scores_, b);
    for (const auto& b : all_labels) AppendValues(output_labels_, b);
    const double classes = static_cast<double>(inferred_.schema.class_labels.size());
    if ((inferred_.schema.is_classifier() && output_labels_.size() != output_scores_.size()) ||
        !std::all_of(output_labels_.begin(), output_labels_.end(),
                     [&](double k) { return k >= 0 && k < classes && k == std::floor(k); })) {
      return DataLoss("the workers' holdout predictions are malformed");
    }
    return Status::Ok();
  }

  Status ScoreHoldout() {
    MB_ASSIGN_OR_RETURN(model_json_, SaveModelJson(booster_.get()));
    MB_ASSIGN_OR_RETURN(auto model, LoadedModel::FromArtifacts(0, model_json_, pre_.ToJson(), nullptr));
    MB_ASSIGN_OR_RETURN(holdout_predictions_, PredictOnAllCores(*model, x_hold_.data(), local_truth_.size()));
    return Status::Ok();
  }

  // Rank 0 publishes (commit marker last, as every version); the others
  // learn the outcome from it, so every process fails when publishing does.
  Result<TrainOutcome> Publish() {
    Result<nlohmann::json> mine = nlohmann::json(nullptr);
    if (team_.rank() == 0) mine = PublishVersion();
    MB_ASSIGN_OR_RETURN(std::vector<nlohmann::json> all, team_.Agree(mine));
    const nlohmann::json& o = all[0];
    TrainOutcome outcome;
    outcome.version = o.at("version").get<int>();
    outcome.metrics = o.at("metrics");
    outcome.promoted = o.at("promoted").get<bool>();
    outcome.promotion = o.at("promotion").get<std::string>();
    outcome.data_keys = o.at("data_keys").get<std::vector<std::string>>();
    outcome.rank = team_.rank();
    outcome.world_size = team_.world();
    return outcome;
  }

  // The promotion gate scores production on the holdout. A distributed
  // worker holds only its share of it: rank 0 compares the new version and
  // production on its own share.
  GateDecision DecideGate() {
    if (!team_.distributed()) {
      return DecidePromotion(registry_, {options_.promote, options_.promote_tolerance, HoldoutText(),
                                         holdout_rows_local_, local_truth_, &inferred_.schema, metrics_});
    }
    nlohmann::json share_metrics = Evaluate(inferred_.schema, local_truth_, local_raw_);
    GateDecision gate = DecidePromotion(registry_, {options_.promote, options_.promote_tolerance, HoldoutText(),
                                                    holdout_rows_local_, local_truth_, &inferred_.schema,
                                                    share_metrics});
    gate.record["holdout_scope"] = fmt::format("worker 0's share of the holdout ({} rows)", local_truth_.size());
    return gate;
  }

  const CsvTable* HoldoutText() const {
    return kept_holdout_text_ ? &holdout_table_ : nullptr;
  }

  nlohmann::json DataJson() const {
    // Per key: the bytes and rows every worker read of it.
    std::map<std::string, nlohmann::json> by_key;
    for (const auto& share : shares_) {
      for (const auto& p : share) {
        auto [it, fresh] = by_key.try_emplace(p["key"].get<std::string>(),
                                              nlohmann::json{{"key", p["key"]}, {"sha256", nullptr}, {"rows", 0},
                                                             {"size", p["object_size"]}, {"etag", p["etag"]}});
        it->second["rows"] = it->second["rows"].get<size_t>() + p["rows"].get<size_t>();
        if (p["length"] == p["object_size"]) it->second["sha256"] = p["sha256"];
      }
    }
    nlohmann::json out = nlohmann::json::array();
    for (auto& [key, j] : by_key) out.push_back(std::move(j));
    return out;
  }

  nlohmann::json WorkersJson() const {
    nlohmann::json shares = nlohmann::json::array();
    for (size_t r = 0; r < shares_.size(); ++r) {
      size_t rows = 0;
      for (const auto& p : shares_[r]) rows += p["rows"].get<size_t>();
      shares.push_back({{"rank", r}, {"rows", rows}, {"parts", shares_[r]}});
    }
    return {{"world_size", team_.world()}, {"shares", shares}};
  }

  // The rows with a target this process holds (training and holdout), in
  // file order: both sides are ascending (SplitHoldout).
  std::vector<uint32_t> BaselineRows() const {
    std::vector<uint32_t> rows(split_.train.size() + split_.holdout.size());
    std::merge(split_.train.begin(), split_.train.end(), split_.holdout.begin(), split_.holdout.end(), rows.begin());
    return rows;
  }

  // Distributed: the input baseline of every worker's rows (the steps are in
  // model/baseline.h). Every worker makes the same collective calls in the
  // same order; worker 0 keeps the result.
  Status MergeInputBaseline() {
    nlohmann::json mine = nlohmann::json::array();
    for (const QuantileSketch& s : sketches_) mine.push_back({{"count", s.count}, {"points", s.points}});
    std::vector<QuantileSketch>().swap(sketches_);
    MB_ASSIGN_OR_RETURN(std::vector<std::string> wires, team_.AllGather(mine.dump()));
    const size_t width = pre_.schema().features.size();
    std::vector<std::vector<QuantileSketch>> by_feature(width);
    for (size_t r = 0; r < wires.size(); ++r) {
      const Status malformed = DataLoss(fmt::format("worker {} sent a malformed quantile sketch", r));
      nlohmann::json all = nlohmann::json::parse(wires[r], nullptr, /*allow_exceptions=*/false);
      if (!all.is_array() || all.size() != width) return malformed;
      for (size_t f = 0; f < width; ++f) {
        const nlohmann::json& j = all[f];
        if (!j.is_object() || !j.contains("count") || !j["count"].is_number_unsigned() || !j.contains("points") ||
            !j["points"].is_array() || j["points"].size() > kSketchPoints ||
            j["points"].size() > j["count"].get<uint64_t>()) {
          return malformed;
        }
        QuantileSketch s{j["count"].get<uint64_t>(), {}};
        for (const nlohmann::json& p : j["points"]) {
          if (!p.is_number()) return malformed;
          s.points.push_back(p.get<double>());
        }
        if (!std::is_sorted(s.points.begin(), s.points.end())) return malformed;
        by_feature[f].push_back(std::move(s));
      }
    }
    std::vector<FeatureBaseline> edges_from(width);
    for (size_t f = 0; f < width; ++f) {
      if (pre_.schema().features[f].type != FeatureType::kNumeric) continue;
      NumericHistogram& h = edges_from[f].numeric.histogram;
      h.edges = EdgesFromSketches(by_feature[f]);
      h.counts.assign(std::max<size_t>(1, h.edges.size() - 1), 0);
    }
    const std::vector<uint32_t> rows = BaselineRows();
    std::vector<FeatureTally> tally = TallyFeatures(pre_, columns_, rows, edges_from);

    // One vector per reduction: counts (summed), sums (summed), extremes (max of max and of -min).
    std::vector<uint64_t> counts;
    std::vector<double> sums, extremes;
    for (const FeatureTally& t : tally) {
      counts.insert(counts.end(), {t.rows, t.missing, t.count});
      counts.insert(counts.end(), t.bins.begin(), t.bins.end());
      counts.insert(counts.end(), t.categories.begin(), t.categories.end());
      sums.push_back(t.sum);
      extremes.insert(extremes.end(), {t.max, -t.min});
    }
    MB_RETURN_IF_ERROR(team_.Sum(counts));
    MB_RETURN_IF_ERROR(team_.Sum(sums));
    MB_RETURN_IF_ERROR(team_.Max(extremes));
    if (team_.rank() != 0) return Status::Ok();
    size_t at = 0;
    for (size_t f = 0; f < tally.size(); ++f) {
      FeatureTally& t = tally[f];
      t.rows = counts[at++];
      t.missing = counts[at++];
      t.count = counts[at++];
      for (uint64_t& b : t.bins) b = counts[at++];
      for (uint64_t& c : t.categories) c = counts[at++];
      t.sum = sums[f];
      t.max = extremes[2 * f];
      t.min = -extremes[2 * f + 1];
    }
    baseline_.features = FinishFeatures(pre_, tally, edges_from);
    baseline_.scope = fmt::format("the training data of all {} workers ({} rows with a target)", team_.world(),
                                  tally.empty() ? 0 : tally[0].rows);
    return Status::Ok();
  }

  // baseline.json, output: the model's predictions for the holdout rows,
  // scored as the server scores (data the model did not learn from, as live
  // traffic is; predictions on its training rows are over-confident).
  Result<std::string> BaselineJson() {
    baseline_.output = ComputeOutputBaseline(inferred_.schema, output_scores_, output_labels_);
    baseline_.scope += fmt::format("; outputs: the model on {} holdout rows", output_scores_.size());
    return BaselineToJson(baseline_);
  }

  Result<nlohmann::json> PublishVersion() {
    const Schema& schema = inferred_.schema;
    const std::string& model_json = model_json_;
    GateDecision gate = DecideGate();
    TrainOutcome outcome;
    for (const auto& f : files_) outcome.data_keys.push_back(f.key);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::string code_rev = options_.code_rev.empty() ? std::string(MODELBAY_GIT_REV) : options_.code_rev;
    nlohmann::json metadata = {
        {"created", FormatIso8601(created_)},
        {"target", schema.target},
        {"task", TaskName(schema.task)},
        {"schema", SchemaToJson(schema)},
        {"column_types", ColumnTypesJson(options_.column_types)},
        {"stray_tokens", StrayTokensJson(inferred_.stray)},
        {"data", DataJson()},
        {"rows", {{"total", facts_.rows}, {"with_target", facts_.rows_with_target}, {"train", train_rows_},
                  {"holdout", holdout_rows_}, {"without_target", facts_.rows_without_target}}},
        {"holdout", {{"fraction", kHoldoutFraction}, {"seed", kSplitSeed}, {"rule", "row-hash"}}},
        {"workers", WorkersJson()},
        {"params", params_.ToJson()},
        {"metrics", metrics_},
        {"library_versions", {{"xgboost", XgboostVersionString()}, {"modelbay", MODELBAY_VERSION}}},
        {"code_revision", code_rev.empty() ? nlohmann::json(nullptr) : nlohmann::json(code_rev)},
        {"trigger", options_.trigger},
        {"trigger_detail", options_.trigger_detail},
        {"training_seconds", seconds},
        {"promotion", gate.record},
    };
    Result<std::string> baseline_or = InvalidArgument("no baseline");
    MB_RETURN_IF_ERROR(Timed("output baseline", [&] {
      baseline_or = BaselineJson();
      return baseline_or.status();
    }));
    std::string baseline = std::move(*baseline_or);
    MB_ASSIGN_OR_RETURN(int version, registry_.Publish(model_json, pre_.ToJson(), std::move(metadata), baseline));
    progress_("registered version {} in {}", version, registry_.store().Describe());
    outcome.version = version;
    outcome.promotion = gate.reason;
    if (gate.promote) {
      Status s = registry_.SetAlias(kProductionAlias, version, gate.reason);
      if (!s.ok()) {
        outcome.promotion = fmt::format("not promoted: setting the production alias failed ({})", s.message());
      } else {
        outcome.promoted = true;
      }
    }
    return nlohmann::json{{"version", outcome.version},
                          {"metrics", metrics_},
                          {"promoted", outcome.promoted},
                          {"promotion", outcome.promotion},
                          {"data_keys", outcome.data_keys}};
  }

  const TrainOptions& options_;
  Store& data_;
  Registry& registry_;
  Collective& team_;
  Progress progress_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  const std::chrono::system_clock::time_point created_ = std::chrono::system_clock::now();

  std::vector<DataFile> files_;
  std::vector<nlohmann::json> shares_;  // per worker: the parts it read
  CsvTable table_;
  SchemaFacts facts_;
  InferredSchema inferred_;
  Split split_;
  uint64_t train_rows_ = 0;
  uint64_t holdout_rows_ = 0;
  TextColumns columns_;
  Preprocessor pre_;
  // Every worker's holdout rows: the score each output baseline counts, and
  // the predicted class (classifiers).
  std::vector<double> output_scores_, output_labels_;
  std::vector<QuantileSketch> sketches_;  // distributed: this worker's, until MergeInputBaseline
  // Set by EncodeAndReleaseTable (table_ is empty after it).
  std::vector<float> x_train_;
  std::vector<float> y_train_;
  std::vector<float> x_hold_;
  Baseline baseline_;  // inputs from EncodeAndReleaseTable, output at publishing
  bool kept_holdout_text_ = false;
  CsvTable holdout_table_;                   // the holdout rows' text
  std::vector<uint32_t> holdout_rows_local_;  // 0..n-1 into holdout_table_
  BoostParams params_;
  BoosterPtr booster_;
  std::string model_json_;                  // set by ScoreHoldout
  std::optional<Predictions> holdout_predictions_;
  std::vector<float> local_truth_;
  std::vector<float> local_raw_;
  nlohmann::json metrics_;
};

}  // namespace

Result<TrainOutcome> Train(const TrainOptions& options, Store& data, Registry& registry) {
  std::unique_ptr<Collective> single = Collective::Single();
  return Train(options, data, registry, *single);
}

Result<TrainOutcome> Train(const TrainOptions& options, Store& data, Registry& registry, Collective& team) {
  return TrainRun(options, data, registry, team).Run();
}

}  // namespace modelbay
