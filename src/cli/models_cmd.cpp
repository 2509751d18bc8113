// `modelbay models list|show|promote|import|export|delete|archive|unarchive|
// tag|describe|alias rm`: the registry from the command line. Human output is aligned text; --json output is stable for
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
#include "cli/option_checks.h"
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
  bool force = false;       // delete/archive a version an alias points to
  bool duplicate = false;   // import a bundle imported before again
  std::vector<std::string> tags;  // KEY=VALUE (KEY= removes)
  std::string text;         // describe
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

// "owner=ana, ticket=ML-7".
std::string TagsText(const std::map<std::string, std::string>& tags) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : tags) parts.push_back(fmt::format("{}={}", k, v));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// At most `max` bytes (cut on a UTF-8 boundary), "..." when cut.
std::string Shorten(std::string text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

std::map<int, std::vector<std::string>> AliasesByVersion(const std::map<std::string, int>& aliases) {
  std::map<int, std::vector<std::string>> out;
  for (const auto& [name, v] : aliases) out[v].push_back(name);
  return out;
}

Status List(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_ASSIGN_OR_RETURN(VersionListing listing, registry->Listing(/*with_state=*/true));
  const std::vector<int>& versions = listing.versions;
  MB_ASSIGN_OR_RETURN(auto table, registry->Aliases());
  auto& aliases = table.aliases;
  if (listing.latest != 0) aliases[std::string(kLatestAlias)] = listing.latest;
  auto by_version = AliasesByVersion(aliases);
  const bool any_tags = std::any_of(listing.states.begin(), listing.states.end(),
                                    [](const auto& s) { return !s.second.tags.empty(); });
  const bool any_text = std::any_of(listing.states.begin(), listing.states.end(),
                                    [](const auto& s) { return !s.second.description.empty(); });

  MB_ASSIGN_OR_RETURN(std::string model, ParseModelName(o.model));
  MB_ASSIGN_OR_RETURN(std::vector<std::string> models, ModelNames(ctx, !versions.empty() || !model.empty()));
  json out = {{"model", DisplayModelName(model)}, {"versions", json::array()}, {"aliases", aliases},
              {"models", models}};
  if (!table.damaged.empty()) out["damaged_aliases"] = table.damaged;
  for (const auto& [name, error] : table.damaged) {
    std::cerr << "modelbay: warning: alias '" << name << "' is damaged: " << error << "\n";
  }
  std::vector<std::vector<std::string>> rows = {{"VERSION", "CREATED", "TRIGGER", "TARGET", "METRIC", "ALIASES"}};
  if (any_tags) rows[0].push_back("TAGS");
  if (any_text) rows[0].push_back("DESCRIPTION");
  for (int v : versions) {
    const VersionState state = listing.StateOf(v);
    json entry = {{"version", v}, {"aliases", by_version[v]}};
    entry.update(state.ToJson());
    auto meta = registry->Metadata(v);
    std::string names = fmt::format("{}", fmt::join(by_version[v], ", "));
    const std::string number = state.archived ? fmt::format("{} (archived)", v) : std::to_string(v);
    if (!meta.ok()) {
      std::cerr << "modelbay: warning: " << meta.status().message() << "\n";
      entry["error"] = meta.status().message();
      rows.push_back({number, "DAMAGED", "-", "-", "-", names});
    } else {
      entry["created"] = meta->value("created", json());
      entry["trigger"] = TriggerText(*meta);
      entry["target"] = meta->value("target", json());
      entry["metrics"] = meta->value("metrics", json::object());
      rows.push_back({number, Scalar(entry["created"]), TriggerText(*meta), Scalar(entry["target"]),
                      MainMetric(*meta), names.empty() ? "-" : names});
    }
    if (any_tags) rows.back().push_back(state.tags.empty() ? "-" : TagsText(state.tags));
    if (any_text) rows.back().push_back(state.description.empty() ? "-" : Shorten(state.description, 40));
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
  MB_ASSIGN_OR_RETURN(VersionState state, registry->State(version));
  if (o.json) {
    json out = art.metadata;
    out.update(state.ToJson());  // the mutable state, beside the immutable metadata
    std::cout << out.dump(2) << "\n";
    return Status::Ok();
  }
  MB_ASSIGN_OR_RETURN(auto table, registry->Aliases());  // damaged aliases are left out here
  auto& aliases = table.aliases;
  MB_ASSIGN_OR_RETURN(auto latest, registry->GetAlias(kLatestAlias));
  if (latest) aliases[std::string(kLatestAlias)] = *latest;
  std::vector<std::string> names = AliasesByVersion(aliases)[version];

  std::vector<std::vector<std::string>> rows;
  rows.push_back({"version", std::to_string(version)});
  rows.push_back({"aliases", names.empty() ? "-" : fmt::format("{}", fmt::join(names, ", "))});
  rows.push_back({"archived", state.archived ? "yes (kept and served by number or alias; `latest` skips it)" : "no"});
  rows.push_back({"tags", state.tags.empty() ? "-" : TagsText(state.tags)});
  rows.push_back({"description", state.description.empty() ? "-" : state.description});
  rows.push_back({"trigger", TriggerText(art.metadata)});
  for (const auto& [key, value] : art.metadata.items()) {
    if (key == "version" || key == "trigger" || key == "tags" || key == "description" || key == "archived") continue;
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
  MB_ASSIGN_OR_RETURN(Registry::ImportOutcome outcome, registry->Import(bytes, "import", o.path, o.duplicate));
  const int version = outcome.version;
  MB_ASSIGN_OR_RETURN(json meta, registry->Metadata(version));
  if (o.json) {
    std::cout << json{{"version", version}, {"imported_from", meta["imported_from"]}, {"existing", outcome.existing}}
                     .dump(2)
              << "\n";
  } else if (outcome.existing) {
    std::cout << fmt::format("{} was imported before: it is version {}; nothing registered (--duplicate registers "
                             "it again)\n", o.path, version);
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
  if (o.json) {
    std::cout << json{{"version", version}, {"out", out}, {"bytes", bundle.size()}}.dump() << "\n";
  } else {
    std::cout << fmt::format("wrote version {} to {} ({} bytes)\n", version, out, bundle.size());
  }
  return Status::Ok();
}

// One line (or JSON) saying what a housekeeping command did.
void Report(const ModelsOptions& o, const json& j, const std::string& text) {
  if (o.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << text << "\n";
  }
}

// "; latest is now 4" (or that nothing is).
Result<std::string> LatestNow(Registry& registry) {
  MB_ASSIGN_OR_RETURN(VersionListing listing, registry.Listing(/*with_state=*/false));
  if (listing.latest != 0) return fmt::format("`latest` is now {}", listing.latest);
  return std::string(listing.versions.empty() ? "no version is left" : "every version is archived: `latest` names none");
}

Status Delete(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  // A number is taken as is, so the remainder of a delete that stopped
  // half-way can be removed; aliases and `latest` are resolved.
  MB_ASSIGN_OR_RETURN(VersionSpec spec, ParseVersionSpec(o.spec));
  int version = spec.number;
  if (spec.kind != VersionSpec::Kind::kNumber) {
    MB_ASSIGN_OR_RETURN(version, registry->Resolve(o.spec));
  }
  MB_ASSIGN_OR_RETURN(DeleteReport report, registry->Delete(version, o.force));
  MB_ASSIGN_OR_RETURN(std::string latest, LatestNow(*registry));
  std::string text = report.finished_earlier_delete
                         ? fmt::format("finished deleting version {} (an earlier delete stopped half-way)", version)
                         : fmt::format("deleted version {}", version);
  if (!report.removed_aliases.empty()) {
    text += fmt::format("; removed alias {} (it pointed at it)", fmt::join(report.removed_aliases, ", "));
  }
  text += fmt::format("; {}. Its prediction log and results_{}.csv in the results store are kept "
                      "(`modelbay results export --version {}` still reads them).", latest, version, version);
  Report(o, {{"deleted", version}, {"removed_aliases", report.removed_aliases},
             {"finished_earlier_delete", report.finished_earlier_delete}, {"results_kept", true}}, text);
  return Status::Ok();
}

Status Archive(const CliContext& ctx, const ModelsOptions& o, bool archive) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_ASSIGN_OR_RETURN(int version, registry->Resolve(o.spec));
  MB_RETURN_IF_ERROR(archive ? registry->Archive(version, o.force) : registry->Unarchive(version));
  MB_ASSIGN_OR_RETURN(std::string latest, LatestNow(*registry));
  Report(o, {{"version", version}, {"archived", archive}},
         archive ? fmt::format("archived version {}: kept, served by number or alias, never by `latest`; {}", version,
                               latest)
                 : fmt::format("version {} is not archived; {}", version, latest));
  return Status::Ok();
}

Status Tag(const CliContext& ctx, const ModelsOptions& o) {
  std::map<std::string, std::string> tags;
  for (const std::string& kv : o.tags) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument(fmt::format("'{}' is not KEY=VALUE; write e.g. owner=ana (owner= removes the tag)", kv));
    }
    tags[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_ASSIGN_OR_RETURN(int version, registry->Resolve(o.spec));
  MB_RETURN_IF_ERROR(registry->SetTags(version, tags));
  MB_ASSIGN_OR_RETURN(VersionState state, registry->State(version));
  Report(o, {{"version", version}, {"tags", state.tags}},
         fmt::format("version {} tags: {}", version, state.tags.empty() ? "none" : TagsText(state.tags)));
  return Status::Ok();
}

Status Describe(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  MB_ASSIGN_OR_RETURN(int version, registry->Resolve(o.spec));
  MB_RETURN_IF_ERROR(registry->Describe(version, o.text));
  Report(o, {{"version", version}, {"description", o.text.empty() ? json() : json(o.text)}},
         o.text.empty() ? fmt::format("version {} has no description now", version)
                        : fmt::format("version {}: {}", version, o.text));
  return Status::Ok();
}

Status AliasRemove(const CliContext& ctx, const ModelsOptions& o) {
  MB_ASSIGN_OR_RETURN(auto registry, OpenRegistry(ctx, o));
  auto before = registry->GetAlias(o.alias);
  MB_RETURN_IF_ERROR(registry->RemoveAlias(o.alias));
  const json was = before.ok() && *before ? json(**before) : json();
  Report(o, {{"alias", o.alias}, {"removed", true}, {"was", was}},
         fmt::format("removed alias {}{}", o.alias, was.is_null() ? "" : fmt::format(" (was version {})", was.dump())));
  return Status::Ok();
}

}  // namespace

void RegisterModelsCommands(CLI::App& app, CliContext& ctx) {
  auto* models = app.add_subcommand("models", "List, inspect, promote, import, export, archive, tag and delete model "
                                               "versions (of the unnamed model, or of --model NAME)");
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
  import->add_flag("--duplicate", opts->duplicate,
                   "Register the bundle even when it was imported before (by default that is a no-op\n"
                   "naming the existing version)");
  SetAction(import, ctx, [&ctx, opts] { return Import(ctx, *opts); });

  auto* exp = models->add_subcommand("export", "Write a version's model_af_<N>.zip bundle to a local file");
  exp->add_option("version", opts->spec, "Version number, 'latest' or an alias")->required();
  exp->add_option("--out", opts->out, "Output file, - for stdout (default: ./model_af_<N>.zip)");
  exp->add_flag("--json", opts->json,
                "Print {version, out, bytes} as one line of JSON (refused with --out -: stdout holds the bundle)");
  SetAction(exp, ctx, [&ctx, opts] {
    if (opts->json && opts->out == "-") return JsonWithStdoutRefused();
    return Export(ctx, *opts);
  });

  auto* del = models->add_subcommand(
      "delete",
      "Delete a version for good (its number is never reused). Refused for a version an alias points\n"
      "to unless --force, which removes those aliases too. The results store (its prediction log,\n"
      "results_<N>.csv) is left alone.");
  del->add_option("version", opts->spec, "Version number, 'latest' or an alias")->required();
  del->add_flag("--force", opts->force, "Delete even when aliases point to it (and remove those aliases)");
  del->add_flag("--json", opts->json, "Print JSON");
  SetAction(del, ctx, [&ctx, opts] { return Delete(ctx, *opts); });

  auto* arch = models->add_subcommand(
      "archive",
      "Retire a version: kept, still served by number (or an alias), but never `latest`. Refused for\n"
      "a version an alias points to unless --force, which keeps the aliases.");
  arch->add_option("version", opts->spec, "Version number, 'latest' or an alias")->required();
  arch->add_flag("--force", opts->force, "Archive even when aliases point to it (they keep serving it)");
  arch->add_flag("--json", opts->json, "Print JSON");
  SetAction(arch, ctx, [&ctx, opts] { return Archive(ctx, *opts, true); });

  auto* unarch = models->add_subcommand("unarchive", "Make an archived version a candidate for `latest` again");
  unarch->add_option("version", opts->spec, "Version number or an alias")->required();
  unarch->add_flag("--json", opts->json, "Print JSON");
  SetAction(unarch, ctx, [&ctx, opts] { return Archive(ctx, *opts, false); });

  auto* tag = models->add_subcommand("tag", "Set tags on a version: KEY=VALUE ... (KEY= removes the tag)");
  tag->add_option("version", opts->spec, "Version number, 'latest' or an alias")->required();
  tag->add_option("tags", opts->tags,
                  "KEY=VALUE: KEY is 1-63 of a-z 0-9 - _; VALUE at most 256 bytes of one line; KEY= removes")
      ->required();
  tag->add_flag("--json", opts->json, "Print JSON");
  SetAction(tag, ctx, [&ctx, opts] { return Tag(ctx, *opts); });

  auto* desc = models->add_subcommand("describe", "Set a version's description (\"\" removes it)");
  desc->add_option("version", opts->spec, "Version number, 'latest' or an alias")->required();
  desc->add_option("text", opts->text, "One line of text, at most 2000 bytes")->required();
  desc->add_flag("--json", opts->json, "Print JSON");
  SetAction(desc, ctx, [&ctx, opts] { return Describe(ctx, *opts); });

  auto* alias = models->add_subcommand("alias", "Manage aliases (set one with `models promote N --alias NAME`)");
  alias->require_subcommand(1);
  auto* alias_rm = alias->add_subcommand("rm", "Remove an alias (the version stays)");
  alias_rm->add_option("name", opts->alias, "Alias name")->required();
  alias_rm->add_flag("--json", opts->json, "Print JSON");
  SetAction(alias_rm, ctx, [&ctx, opts] { return AliasRemove(ctx, *opts); });

  for (CLI::App* sub : {list, show, promote, import, exp, del, arch, unarch, tag, desc, alias_rm}) {
    AddModelOption(sub, opts->model);
  }
}

}  // namespace modelbay
