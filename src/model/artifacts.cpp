#include "model/artifacts.h"

#include <fmt/format.h>

#include "model/schema_infer.h"

namespace modelbay {
namespace {

Status CheckFit(const XgbModel& m, const Schema& s, std::string_view source) {
  auto mismatch = [&](std::string what) {
    return InvalidArgument(fmt::format("{}: model.json does not match preprocessor.json: {}", source, what));
  };
  if (m.num_feature != s.features.size()) {
    return mismatch(fmt::format("the model takes {} features, the schema lists {}", m.num_feature,
                                s.features.size()));
  }
  bool fits = false;
  switch (s.task) {
    case TaskType::kBinary: fits = m.objective == "binary:logistic" || m.objective == "reg:logistic"; break;
    case TaskType::kMulticlass: fits = m.objective == "multi:softprob" && m.num_class == s.class_labels.size(); break;
    case TaskType::kRegression:
      fits = m.num_class == 0 && !m.objective.starts_with("binary:") && m.objective != "reg:logistic";
      break;
  }
  if (!fits) {
    return mismatch(fmt::format("objective {} with num_class {} does not fit the {} target '{}'{}", m.objective,
                                m.num_class, TaskName(s.task), s.target,
                                s.task == TaskType::kMulticlass
                                    ? fmt::format(" ({} classes, multi:softprob)", s.class_labels.size())
                                    : ""));
  }
  return Status::Ok();
}

}  // namespace

Result<CheckedArtifacts> CheckArtifacts(std::string_view model_json, std::string_view preprocessor_json,
                                        std::string_view source) {
  CheckedArtifacts out;
  MB_ASSIGN_OR_RETURN(out.preprocessor,
                      Preprocessor::FromJson(preprocessor_json, fmt::format("{} preprocessor.json", source)));
  MB_ASSIGN_OR_RETURN(out.model, ParseXgboostModel(model_json, fmt::format("{} model.json", source)));
  MB_RETURN_IF_ERROR(CheckFit(out.model, out.preprocessor.schema(), source));
  return out;
}

}  // namespace modelbay
