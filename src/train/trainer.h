// Training: selected data -> schema -> fitted preprocessor -> XGBoost ->
// holdout metrics -> a registered version -> the promotion gate.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/schema.h"
#include "registry/registry.h"
#include "store/store.h"

namespace modelbay {

enum class PromoteMode { kAuto, kAlways, kNever };

struct TrainOptions {
  std::string data = "latest";          // latest | all | a data-store key
  std::optional<std::string> target;    // else "churn" if present, else the last column
  std::vector<std::string> drop;        // columns not used as features
  std::map<std::string, FeatureType> column_types;  // forced feature types (--column-type)
  nlohmann::json params = nlohmann::json::object();  // XGBoost params over the defaults
  PromoteMode promote = PromoteMode::kAuto;
  double promote_tolerance = 0.0;       // auto: new may be this much worse
  std::string trigger = "manual";       // manual | data-arrival | code-change | import
  nlohmann::json trigger_detail = nlohmann::json::object();  // e.g. {"keys": [...]}
  std::string code_rev;                 // git SHA when known
  bool show_progress = true;            // progress lines on stderr
};

struct TrainOutcome {
  int version = 0;
  nlohmann::json metrics;     // holdout metrics of the new version
  bool promoted = false;      // became `production`
  std::string promotion;      // the gate's decision, in words
  std::vector<std::string> data_keys;
  int rank = 0;               // this worker's rank (0 in one process)
  int world_size = 1;
};

class Collective;

// Single-process training: reads every selected file.
Result<TrainOutcome> Train(const TrainOptions& options, Store& data, Registry& registry);
// One worker of a distributed training (docs/training.md): reads its share
// of the data, agrees with the others on the schema and preprocessor, and
// trains with them; the worker of rank 0 publishes the version. Every worker
// returns the same outcome, or an error.
Result<TrainOutcome> Train(const TrainOptions& options, Store& data, Registry& registry, Collective& team);

}  // namespace modelbay
