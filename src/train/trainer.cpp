#include "train/trainer.h"

#include "modelbay_version.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/clock.h"
#include "data/data_store.h"
#include "model/preprocessor.h"
#include "model/schema_infer.h"
#include "model/xgboost_util.h"
#include "train/booster.h"
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

// Holdout metrics from the booster's raw output.
nlohmann::json Evaluate(const Schema& schema, std::span<const float> truth, const std::vector<float>& raw) {
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

}  // namespace

Result<TrainOutcome> Train(const TrainOptions& options, Store& data, Registry& registry) {
  const auto started = std::chrono::steady_clock::now();
  const auto created = std::chrono::system_clock::now();
  Progress progress{options.show_progress};

  MB_ASSIGN_OR_RETURN(std::vector<DataFile> files, SelectData(data, options.data));
  progress("loading {} data file(s) from {}", files.size(), data.Describe());
  MB_ASSIGN_OR_RETURN(CsvTable table, LoadData(data, files));
  progress("read {} rows x {} columns", table.rows(), table.cols());

  MB_ASSIGN_OR_RETURN(InferredSchema inferred,
                      InferSchema(table, {options.target, options.drop, options.column_types}));
  const Schema& schema = inferred.schema;
  WarnStrayTokens(inferred.stray);
  if (inferred.rows_without_target > 0) {
    spdlog::warn("{} rows have no value in target '{}' (the first on line {} of {}); they are left out of training",
                 inferred.rows_without_target, schema.target, inferred.first_line_without_target, table.source());
  }
  if (inferred.rows.size() < 2) {
    return InvalidArgument(fmt::format("{} has {} row(s) with a target; training needs at least 2 (one to learn "
                                       "from, one to check the model on)",
                                       table.source(), inferred.rows.size()));
  }
  progress("target '{}': {}{}; {} features", schema.target, TaskName(schema.task),
           schema.is_classifier() ? fmt::format(" ({} classes)", schema.class_labels.size()) : "",
           schema.features.size());

  Split split = SplitHoldout(inferred.rows, inferred.labels, schema.is_classifier());
  TextColumns columns;
  for (size_t c : inferred.feature_columns) columns.push_back(&table.column(c));
  Preprocessor pre = Preprocessor::Fit(schema, columns, split.train);
  const size_t width = pre.num_features();
  std::vector<float> x_train(split.train.size() * width);
  pre.Transform(columns, split.train, x_train.data());
  std::vector<float> y_train = Gather(inferred.labels, split.train);

  MB_ASSIGN_OR_RETURN(BoostParams params, ResolveParams(schema, options.params));
  progress("training XGBoost on {} rows ({} held out), {} rounds", split.train.size(), split.holdout.size(),
           params.rounds);
  const int every = std::max(1, params.rounds / 10);
  MB_ASSIGN_OR_RETURN(BoosterPtr booster,
                      FitBooster(x_train.data(), y_train.data(), split.train.size(), width, params,
                                 [&](int done, int total) {
                                   if (done % every == 0 || done == total) progress("round {}/{}", done, total);
                                 }));
  x_train = {};

  std::vector<float> x_hold(split.holdout.size() * width);
  pre.Transform(columns, split.holdout, x_hold.data());
  MB_ASSIGN_OR_RETURN(std::vector<float> raw, PredictDense(booster.get(), x_hold.data(), split.holdout.size(), width));
  nlohmann::json metrics = Evaluate(schema, Gather(inferred.labels, split.holdout), raw);
  metrics["holdout_rows"] = split.holdout.size();
  progress("holdout metrics: {}", MetricsLine(metrics));

  MB_ASSIGN_OR_RETURN(std::string model_json, SaveModelJson(booster.get()));
  std::string preprocessor_json = pre.ToJson();

  GateDecision gate = DecidePromotion(
      registry, {options.promote, options.promote_tolerance, &table, split.holdout, inferred.labels, &schema, metrics});

  nlohmann::json data_json = nlohmann::json::array();
  TrainOutcome outcome;
  for (const auto& f : files) {
    data_json.push_back({{"key", f.key}, {"sha256", f.sha256}, {"rows", f.rows}, {"size", f.size}, {"etag", f.etag}});
    outcome.data_keys.push_back(f.key);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string code_rev = options.code_rev.empty() ? std::string(MODELBAY_GIT_REV) : options.code_rev;
  nlohmann::json metadata = {
      {"created", FormatIso8601(created)},
      {"target", schema.target},
      {"task", TaskName(schema.task)},
      {"schema", SchemaToJson(schema)},
      {"column_types", ColumnTypesJson(options.column_types)},
      {"stray_tokens", StrayTokensJson(inferred.stray)},
      {"data", data_json},
      {"rows", {{"total", table.rows()}, {"with_target", inferred.rows.size()}, {"train", split.train.size()},
                {"holdout", split.holdout.size()}, {"without_target", inferred.rows_without_target}}},
      {"holdout", {{"fraction", kHoldoutFraction}, {"seed", kSplitSeed}, {"stratified", schema.is_classifier()}}},
      {"params", params.ToJson()},
      {"metrics", metrics},
      {"library_versions", {{"xgboost", XgboostVersionString()}, {"modelbay", MODELBAY_VERSION}}},
      {"code_revision", code_rev.empty() ? nlohmann::json(nullptr) : nlohmann::json(code_rev)},
      {"trigger", options.trigger},
      {"trigger_detail", options.trigger_detail},
      {"training_seconds", seconds},
      {"promotion", gate.record},
  };
  MB_ASSIGN_OR_RETURN(int version, registry.Publish(model_json, preprocessor_json, std::move(metadata)));
  progress("registered version {} in {}", version, registry.store().Describe());

  outcome.version = version;
  outcome.metrics = metrics;
  outcome.promotion = gate.reason;
  if (gate.promote) {
    Status s = registry.SetAlias("production", version, gate.reason);
    if (!s.ok()) {
      outcome.promotion = fmt::format("not promoted: setting the production alias failed ({})", s.message());
    } else {
      outcome.promoted = true;
    }
  }
  return outcome;
}

}  // namespace modelbay
