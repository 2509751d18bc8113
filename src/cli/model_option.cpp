#include "cli/model_option.h"

#include "registry/model_name.h"

namespace modelbay {
namespace {

Result<std::shared_ptr<Store>> OpenScoped(const StoreLocation& location, const Config& cfg, std::string_view name) {
  MB_ASSIGN_OR_RETURN(std::string parsed, ParseModelName(name));
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> store, OpenStore(location, cfg));
  return ModelScope(std::move(store), parsed);
}

}  // namespace

CLI::Option* AddModelOption(CLI::App* cmd, std::string& name) {
  return cmd->add_option("--model", name,
                         "Named model of the store (lowercase letters, digits, '-', '_'; default: the unnamed\n"
                         "model, also called `default`); each has its own versions, aliases and results");
}

Result<std::shared_ptr<Store>> OpenModelStore(const Config& cfg, std::string_view name) {
  return OpenScoped(cfg.models, cfg, name);
}

Result<std::shared_ptr<Store>> OpenResultsStore(const Config& cfg, std::string_view name) {
  return OpenScoped(cfg.results, cfg, name);
}

}  // namespace modelbay
