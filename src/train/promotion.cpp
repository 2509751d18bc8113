#include "train/promotion.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "registry/loader.h"
#include "model/schema_infer.h"
#include "train/metrics.h"

namespace modelbay {
namespace {

// Scores `production` on the holdout. FailedPrecondition (with the reason)
// when it cannot score this data.
Result<double> ScoreProduction(const LoadedModel& production, const GateInput& in, const GateMetric& metric) {
  const Schema& ps = production.schema();
  const Schema& ns = *in.schema;
  if (ps.task != ns.task) {
    return FailedPrecondition(fmt::format("it is a {} model and this target is {}", TaskName(ps.task),
                                          TaskName(ns.task)));
  }
  if (ps.is_classifier() && ps.class_labels != ns.class_labels) {
    return FailedPrecondition(fmt::format("its classes [{}] differ from this data's [{}]",
                                          fmt::join(ps.class_labels, ", "), fmt::join(ns.class_labels, ", ")));
  }
  std::vector<size_t> columns;
  for (const auto& f : ps.features) {
    const long c = in.table->find_column(f.name);
    if (c < 0) return FailedPrecondition(fmt::format("it needs column '{}', which this data lacks", f.name));
    columns.push_back(static_cast<size_t>(c));
  }
  CellMatrix cells;
  cells.rows = in.holdout.size();
  cells.cols = columns.size();
  cells.cells.reserve(cells.rows * cells.cols);
  std::vector<float> truth;
  truth.reserve(in.holdout.size());
  for (uint32_t r : in.holdout) {
    for (size_t c : columns) cells.cells.emplace_back(in.table->cell(r, c));
    truth.push_back(in.labels[r]);
  }
  auto p = production.Predict(cells);
  if (!p.ok()) return FailedPrecondition(fmt::format("it cannot read this data: {}", p.status().message()));
  nlohmann::json metrics = ps.is_classifier() ? ClassifierMetrics(truth, p->probabilities, p->num_classes)
                                              : RegressorMetrics(truth, std::vector<float>(p->values.begin(), p->values.end()));
  if (!metrics[metric.name].is_number()) {
    return FailedPrecondition(fmt::format("its {} is undefined on this holdout", metric.name));
  }
  return metrics[metric.name].get<double>();
}

}  // namespace

std::string_view PromoteModeName(PromoteMode mode) {
  switch (mode) {
    case PromoteMode::kAuto: return "auto";
    case PromoteMode::kAlways: return "always";
    case PromoteMode::kNever: return "never";
  }
  return "auto";
}

GateDecision DecidePromotion(Registry& registry, const GateInput& in) {
  GateDecision d;
  GateMetric metric = GateMetricFor(in.schema->is_classifier() ? in.schema->class_labels.size() : 0);
  // Binary AUC is undefined when the holdout has one class; log loss is not.
  if (std::string_view(metric.name) == "roc_auc" && !in.new_metrics["roc_auc"].is_number()) {
    metric = {"log_loss", false};
  }
  d.record = {{"mode", PromoteModeName(in.mode)}, {"alias", kProductionAlias}, {"metric", metric.name},
              {"higher_is_better", metric.higher_is_better}, {"tolerance", in.tolerance},
              {"new_score", in.new_metrics[metric.name]}};
  auto finish = [&](bool promote, std::string reason) {
    d.promote = promote;
    d.reason = std::move(reason);
    d.record["promoted"] = promote;
    d.record["reason"] = d.reason;
    return d;
  };
  if (in.mode == PromoteMode::kAlways) return finish(true, "promoted: --promote always");
  if (in.mode == PromoteMode::kNever) return finish(false, "not promoted: --promote never");

  auto current = registry.GetAlias(kProductionAlias);
  if (!current.ok()) {
    return finish(false, fmt::format("not promoted: cannot read the production alias ({})", current.status().message()));
  }
  if (!current->has_value()) return finish(true, "promoted: there was no production model yet");
  int prod_version = **current;
  d.record["production_version"] = prod_version;
  if (in.table == nullptr) {
    return finish(false, fmt::format("not promoted: production version {} appeared while this version trained, so "
                                     "its holdout was not kept to compare them; promote by hand with `modelbay "
                                     "models promote N` or retrain",
                                     prod_version));
  }
  auto production = LoadModel(registry, prod_version);
  if (!production.ok()) {
    return finish(false, fmt::format("not promoted: production version {} could not be loaded ({}); promote by "
                                     "hand with `modelbay models promote N`",
                                     prod_version, production.status().message()));
  }
  auto score = ScoreProduction(**production, in, metric);
  if (!score.ok()) {
    d.record["production_score"] = nullptr;
    return finish(false, fmt::format("not promoted: production version {} cannot be compared on this holdout: {}; "
                                     "promote by hand with `modelbay models promote N` if the change is intended",
                                     prod_version, score.status().message()));
  }
  d.record["production_score"] = *score;
  const nlohmann::json& new_json = in.new_metrics[metric.name];
  if (!new_json.is_number()) {
    return finish(false, fmt::format("not promoted: the new {} is undefined on this holdout", metric.name));
  }
  double fresh = new_json.get<double>();
  bool ok = metric.higher_is_better ? fresh >= *score - in.tolerance : fresh <= *score + in.tolerance;
  return finish(ok, fmt::format("{}: {} {:.6g} vs production version {} {:.6g} (tolerance {:g})",
                                ok ? "promoted" : "not promoted", metric.name, fresh, prod_version, *score,
                                in.tolerance));
}

}  // namespace modelbay
