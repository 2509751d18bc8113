#include "registry/model_name.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "registry/layout.h"
#include "registry/registry.h"
#include "store/prefixed_store.h"

namespace modelbay {
using namespace registry_internal;

Result<std::string> ParseModelName(std::string_view name) {
  if (name.empty() || name == kDefaultModelName) return std::string();
  if (std::string why = NameProblem(name); !why.empty()) {
    return InvalidArgument(fmt::format("model name '{}' is not valid: {}; use 1-63 lowercase letters, digits, '-' "
                                       "or '_', starting with a letter or digit, not a number (e.g. churn, "
                                       "fraud-v2); 'default' names the unnamed model",
                                       ShowName(name), why));
  }
  return std::string(name);
}

std::string_view DisplayModelName(std::string_view parsed) {
  return parsed.empty() ? kDefaultModelName : parsed;
}

std::string ModelKeyPrefix(std::string_view parsed) {
  return parsed.empty() ? std::string() : fmt::format("{}/{}/", kNamedModelsFolder, parsed);
}

std::shared_ptr<Store> ModelScope(std::shared_ptr<Store> store, std::string_view parsed) {
  if (parsed.empty()) return store;
  return std::make_shared<PrefixedStore>(std::move(store), ModelKeyPrefix(parsed));
}

Result<std::vector<std::string>> ListNamedModels(Store& models) {
  const std::string folder = fmt::format("{}/", kNamedModelsFolder);
  MB_ASSIGN_OR_RETURN(auto objects, models.List(folder));
  std::set<std::string> names;
  for (const auto& o : objects) {
    // models/<name>/<N>/.committed
    std::string_view rest = std::string_view(o.key).substr(folder.size());
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) continue;
    const std::string_view name = rest.substr(0, slash);
    const std::string_view inner = rest.substr(slash + 1);
    const size_t vslash = inner.find('/');
    if (vslash == std::string_view::npos || inner.substr(vslash + 1) != kCommitted) continue;
    if (!ParseVersionNumber(inner.substr(0, vslash)) || !NameProblem(name).empty()) continue;
    names.emplace(name);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace modelbay
