// The checks every model version passes before it is registered
// (Registry::Publish, so both `train` and `models import`) and again before it
// is loaded (LoadedModel::FromArtifacts), before XGBoost sees any byte of it:
// preprocessor.json is read strictly (Preprocessor::FromJson, which also
// refuses a repeated column name), model.json is parsed and validated
// (ParseXgboostModel), and the two must agree: the model's feature count is
// the schema's, its objective and num_class fit the schema's task and labels.
#pragma once

#include <string_view>

#include "core/status.h"
#include "model/forest.h"
#include "model/preprocessor.h"

namespace modelbay {

struct CheckedArtifacts {
  Preprocessor preprocessor;
  XgbModel model;
};

// `source` prefixes error messages (e.g. "version 3", "model_af_3.zip").
// Errors keep their code: DataLoss from preprocessor.json, InvalidArgument
// from model.json or a mismatch; callers choose the code they report.
Result<CheckedArtifacts> CheckArtifacts(std::string_view model_json, std::string_view preprocessor_json,
                                        std::string_view source);

}  // namespace modelbay
