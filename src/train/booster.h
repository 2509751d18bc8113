// XGBoost training through the C API: parameters (defaults of the seed,
// overridable with --params), boosting rounds with progress, in-memory
// prediction and saving in XGBoost's JSON model format.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "model/schema.h"
#include "model/xgboost_util.h"

namespace modelbay {

inline constexpr int kDefaultRounds = 100;

struct BoostParams {
  std::vector<std::pair<std::string, std::string>> params;  // for XGBoosterSetParam, in order
  int rounds = kDefaultRounds;
  nlohmann::json ToJson() const;  // recorded in metadata
};

// Defaults: objective by task (binary:logistic, multi:softprob + num_class,
// reg:squarederror), max_depth 6, eta 0.3, tree_method hist, nthread = the
// machine's cores, seed 0, 100 rounds. `overrides` (a JSON object: strings,
// numbers, booleans) replaces any of them; "num_boost_round" (or
// "n_estimators") sets the rounds. InvalidArgument naming the key when a
// value has the wrong type or the objective does not fit the task.
Result<BoostParams> ResolveParams(const Schema& schema, const nlohmann::json& overrides);

// InvalidArgument naming the first key of `overrides` that is not one of
// XGBoost 1.7's documented parameter names (or an alias, or modelbay's
// num_boost_round), with the nearest known name: {"max_dept": 4} ->
// "did you mean max_depth?". XGBoost itself accepts unknown keys silently.
Status CheckParamNames(const nlohmann::json& overrides);

// Called after each round with (rounds done, total).
using RoundCallback = std::function<void(int, int)>;

// Trains on a row-major float matrix (NaN = missing, rows x cols) and
// labels. The matrix is released as soon as XGBoost has copied it into its
// DMatrix, before the first round: boosting never holds both.
Result<BoosterPtr> FitBooster(std::vector<float> features, std::span<const float> labels, size_t cols,
                              const BoostParams& params, const RoundCallback& on_round = {});

// The model in XGBoost's own JSON format.
Result<std::string> SaveModelJson(BoosterHandle booster);

}  // namespace modelbay
