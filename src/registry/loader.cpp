#include "registry/loader.h"

namespace modelbay {

Result<std::shared_ptr<const LoadedModel>> LoadModel(Registry& registry, int version) {
  MB_ASSIGN_OR_RETURN(VersionArtifacts artifacts, registry.Fetch(version));
  return LoadedModel::FromArtifacts(version, artifacts.model, artifacts.preprocessor,
                                    std::move(artifacts.metadata), artifacts.baseline);
}

Result<std::shared_ptr<const LoadedModel>> LoadModel(Registry& registry, std::string_view spec) {
  MB_ASSIGN_OR_RETURN(int version, registry.Resolve(spec));
  return LoadModel(registry, version);
}

}  // namespace modelbay
