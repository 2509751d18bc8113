// `modelbay models list|show|promote|import|export`: the registry from the
// command line. Human output is aligned text; --json output is stable for
// scripts.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_option.h"
#include "core/posix_file.h"
#include "registry/model_name.h"
#include "registry/registry.h"
#include "store/store.h"

namespace modelbay {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

struct ModelsOptions {
  bool json = false;
  std::string spec;
  std::string alias = std::string(kProductionAlias);
  std::string reason;
  std::string path;
  std::string out;
  std::string model;  // --model ("" = the unnamed model)
};

Result<std::unique_ptr<Registry>> OpenRegistry(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> store, OpenModelStore(cfg, o.model));
  return std::make_unique<Registry>(std::move(store));
}

// Every model of the store: "default" first (when it has versions or no
// other model exists), then the named ones.
Result<std::vector<std::string>> ModelNames(const CliContext& ctx, bool default_has_versions) {
  MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
  MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> store, OpenStore(cfg.models, cfg));
  MB_ASSIGN_OR_RETURN(std::vector<std::string> named, ListNamedModels(*store));
  if (default_has_versions || named.empty()) named.insert(named.begin(), std::string(kDefaultModelName));
  return named;
}

std::string Scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) return fmt::format("{:.4g}", v.get<double>());
  if (v.is_null()) return "-";
  return v.dump();
}

// "manual", "data-arrival", ... ("-" when not recorded).
std::string TriggerText(const json& meta) {
  const json t = meta.value("trigger", json());
  return t.is_null() ? "-" : Scalar(t);
}

// The metric a reader compares versions by: "accuracy 0.9123".
std::string MainMetric(const json& meta) {
  const json metrics = meta.value("metrics", json());
  if (!metrics.is_object()) return "-";
  for (const char* k : {"accuracy", "roc_auc", "f1", "rmse", "r2", "mae", "log_loss"}) {
    if (metrics.contains(k) && metrics[k].is_number()) return fmt::format("{} {:.4f}", k, metrics[k].get<double>());
  }
  for (const auto& [k, v] : metrics.items()) {
    if (v.is_number()) return fmt::format("{} {:.4f}", k, v.get<double>());
  }
  return "-";
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], widths[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
}

std::map<int, std::vector<std::string>> AliasesByVersion(const std::map<std::string, int>& aliases) {
  std::map<int, std::vector<std::string>> out;
  for (const auto& [name, v] : aliases) out[v].push_back(name);
  return out;
}

Status List(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_ASSIGN_OR_RETURN(auto versions, registry->ListVersions());
  MB_ASSIGN_OR_RETURN(auto table, registry->Aliases());
  auto& aliases = table.aliases;
  if (!versions.empty()) aliases[std::string(kLatestAlias)] = versions.back();
  auto by_version = AliasesByVersion(aliases);

  MB_ASSIGN_OR_RETURN(std::string model, ParseModelName(o.model));
  MB_ASSIGN_OR_RETURN(std::vector<std::string> models, ModelNames(ctx, !versions.empty() || !model.empty()));
  json out = {{"model", DisplayModelName(model)}, {"versions", json::array()}, {"aliases", aliases},
              {"models", models}};
  if (!table.damaged.empty()) out["damaged_aliases"] = table.damaged;
  for (const auto& [name, error] : table.damaged) {
    std::cerr << "modelbay: warning: alias '" << name << "' is damaged: " << error << "\n";
  }
  std::vector<std::vector<std::string>> rows = {{"VERSION", "CREATED", "TRIGGER", "TARGET", "METRIC", "ALIASES"}};
  for (int v : versions) {
    json entry = {{"version", v}, {"aliases", by_version[v]}};
    auto meta = registry->Metadata(v);
    std::string names = fmt::format("{}", fmt::join(by_version[v], ", "));
    if (!meta.ok()) {
      std::cerr << "modelbay: warning: " << meta.status().message() << "\n";
      entry["error"] = meta.status().message();
      rows.push_back({std::to_string(v), "DAMAGED", "-", "-", "-", names});
    } else {
      entry["created"] = meta->value("created", json());
      entry["trigger"] = TriggerText(*meta);
      entry["target"] = meta->value("target", json());
      entry["metrics"] = meta->value("metrics", json::object());
      rows.push_back({std::to_string(v), Scalar(entry["created"]), TriggerText(*meta), Scalar(entry["target"]),
                      MainMetric(*meta), names.empty() ? "-" : names});
    }
    out["versions"].push_back(std::move(entry));
  }
  if (o.json) {
    std::cout << out.dump(2) << "\n";
  } else if (versions.empty()) {
    std::cout << (model.empty() ? std::string("no versions yet: run `modelbay train` (or `modelbay models import BUNDLE.zip`)\n")
                                : fmt::format("model '{}' has no versions yet: run `modelbay train --model {}` (or "
                                              "`modelbay models import BUNDLE.zip --model {}`)\n", model, model, model));
  } else {
    PrintTable(rows);
  }
  if (!o.json && models.size() > 1) {
    std::cout << fmt::format("models in this store: {} (pick one with --model NAME)\n", fmt::join(models, ", "));
  }
  return Status::Ok();
}

Status Show(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_ASSIGN_OR_RETURN(int version, registry->Resolve(o.spec));
  MB_ASSIGN_OR_RETURN(VersionArtifacts art, registry->Fetch(version));  // verifies every checksum
  if (o.json) {
    std::cout << art.metadata.dump(2) << "\n";
    return Status::Ok();
  }
  MB_ASSIGN_OR_RETURN(auto table, registry->Aliases());  // damaged aliases are left out here
  auto& aliases = table.aliases;
  MB_ASSIGN_OR_RETURN(auto versions, registry->ListVersions());
  if (!versions.empty()) aliases[std::string(kLatestAlias)] = versions.back();
  std::vector<std::string> names = AliasesByVersion(aliases)[version];

  std::vector<std::vector<std::string>> rows;
  rows.push_back({"version", std::to_string(version)});
  rows.push_back({"aliases", names.empty() ? "-" : fmt::format("{}", fmt::join(names, ", "))});
  rows.push_back({"trigger", TriggerText(art.metadata)});
  for (const auto& [key, value] : art.metadata.items()) {
    if (key == "version" || key == "trigger") continue;
    std::string text;
    if (value.is_object() && std::all_of(value.begin(), value.end(), [](const json& x) { return x.is_primitive(); })) {
      std::vector<std::string> parts;
      for (const auto& [k, v] : value.items()) parts.push_back(fmt::format("{}={}", k, Scalar(v)));
      text = fmt::format("{}", fmt::join(parts, ", "));
    } else if (value.is_primitive()) {
      text = Scalar(value);
    } else {
      text = value.dump();
    }
    if (text.size() > 160) text = text.substr(0, 150) + " ... (see --json)";
    rows.push_back({key, text});
  }
  PrintTable(rows);
  std::cout << "checksums verified: model.json, preprocessor.json, metadata.json\n";
  return Status::Ok();
}

Status Promote(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_RETURN_IF_ERROR(ValidateAliasName(o.alias));
  MB_ASSIGN_OR_RETURN(int version, registry->Resolve(o.spec));
  MB_RETURN_IF_ERROR(registry->Fetch(version).status());  // never promote a damaged version
  auto previous = registry->GetAlias(o.alias);
  std::string reason = o.reason.empty() ? fmt::format("promoted with `modelbay models promote {}`", o.spec) : o.reason;
  MB_RETURN_IF_ERROR(registry->SetAlias(o.alias, version, reason));
  std::string before = previous.ok() && *previous ? std::to_string(**previous) : "(none)";
  if (o.json) {
    std::cout << json{{"alias", o.alias}, {"version", version},
                      {"previous", previous.ok() && *previous ? json(**previous) : json()}}.dump(2) << "\n";
  } else {
    std::cout << fmt::format("{}: {} -> {}\n", o.alias, before, version);
  }
  return Status::Ok();
}

Result<std::string> ReadLocalFile(const std::string& path, uint64_t limit) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return NotFound(fmt::format("cannot read {}: {}", path, ec.message()));
  if (size > limit) return InvalidArgument(fmt::format("{} is {} bytes, larger than any modelbay bundle", path, size));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (!in.good() && !in.eof()) return Unavailable(fmt::format("error reading {}", path));
  return buf.str();
}

Status Import(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_ASSIGN_OR_RETURN(std::string bytes, ReadLocalFile(o.path, BundleLimits{}.max_total_bytes));
  MB_ASSIGN_OR_RETURN(int version, registry->Import(bytes, "import", o.path));
  MB_ASSIGN_OR_RETURN(json meta, registry->Metadata(version));
  if (o.json) {
    std::cout << json{{"version", version}, {"imported_from", meta["imported_from"]}}.dump(2) << "\n";
  } else {
    std::string from = meta["imported_from"].contains("version")
                           ? fmt::format(" (was version {})", Scalar(meta["imported_from"]["version"]))
                           : "";
    std::cout << fmt::format("imported {} as version {}{}\n", o.path, version, from);
  }
  return Status::Ok();
}

Status Export(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_ASSIGN_OR_RETURN(int version, registry->Resolve(o.spec));
  MB_RETURN_IF_ERROR(registry->Fetch(version).status());
  MB_ASSIGN_OR_RETURN(std::string bundle, registry->Bundle(version));
  std::string out = o.out.empty() ? BundleName(version) : o.out;
  MB_RETURN_IF_ERROR(WriteOutputFile(out, bundle));
  if (out == "-") return Status::Ok();
  std::cout << fmt::format("wrote version {} to {} ({} bytes)\n", version, out, bundle.size());
  return Status::Ok();
}

}  // namespace

void RegisterModelsCommands(CLI::App& app, CliContext& ctx) {
  auto* models = app.add_subcommand("models", "List, inspect, promote, import and export model versions "
                                               "(of the unnamed model, or of --model NAME)");
  models->require_subcommand(1);
  auto opts = std::make_shared<ModelsOptions>();

  auto* list = models->add_subcommand("list", "List the complete versions with their aliases and main metric");
  list->add_flag("--json", opts->json, "Print JSON (stable for scripts)");
  SetAction(list, ctx, [&ctx, opts] { return List(ctx, *opts); });

  auto* show = models->add_subcommand("show", "Show a version's metadata after verifying every checksum");
  show->add_option("version", opts->spec, "Version number, 'latest' or an alias")->required();
  show->add_flag("--json", opts->json, "Print the metadata as JSON");
  SetAction(show, ctx, [&ctx, opts] { return Show(ctx, *opts); });

  auto* promote = models->add_subcommand("promote", "Point an alias (default: production) at a version");
  promote->add_option("version", opts->spec, "Version number, 'latest' or an alias")->required();
  promote->add_option("--alias", opts->alias, "Alias to set (default: production)");
  promote->add_option("--reason", opts->reason, "Why, recorded with the alias");
  promote->add_flag("--json", opts->json, "Print JSON");
  SetAction(promote, ctx, [&ctx, opts] { return Promote(ctx, *opts); });

  auto* import = models->add_subcommand("import", "Register a model_af_<N>.zip bundle as a new version");
  import->add_option("bundle", opts->path, "Path of the bundle (.zip)")->required();
  import->add_flag("--json", opts->json, "Print JSON");
  SetAction(import, ctx, [&ctx, opts] { return Import(ctx, *opts); });

  auto* exp = models->add_subcommand("export", "Write a version's model_af_<N>.zip bundle to a local file");
  exp->add_option("version", opts->spec, "Version number, 'latest' or an alias")->required();
  exp->add_option("--out", opts->out, "Output file, - for stdout (default: ./model_af_<N>.zip)");
  SetAction(exp, ctx, [&ctx, opts] { return Export(ctx, *opts); });
  for (CLI::App* sub : {list, show, promote, import, exp}) AddModelOption(sub, opts->model);
}

}  // namespace modelbay
