// Loading a registered version into memory: fetch (checksums verified by the
// registry) -> LoadedModel.
#pragma once

#include <memory>
#include <string_view>

#include "model/loaded_model.h"
#include "registry/registry.h"

namespace modelbay {

Result<std::shared_ptr<const LoadedModel>> LoadModel(Registry& registry, int version);
// Resolves `spec` ("3", "latest", an alias) first.
Result<std::shared_ptr<const LoadedModel>> LoadModel(Registry& registry, std::string_view spec);

}  // namespace modelbay
