// "Did you mean": walks the command line the way CLI11 does (subcommand by
// subcommand) to find the first unknown subcommand or long option, and names
// the nearest known one (core/suggest.h).
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/suggest.h"

namespace modelbay {
namespace {

// The visible subcommands of `app`, by name.
std::vector<CLI::App*> Subcommands(CLI::App* app) {
  return app->get_subcommands([](CLI::App* sub) { return !sub->get_group().empty(); });
}

// `app` and its parents: options of a parent are accepted after a
// subcommand (fallthrough).
std::vector<CLI::App*> Chain(CLI::App* app) {
  std::vector<CLI::App*> chain;
  for (CLI::App* a = app; a != nullptr; a = a->get_parent()) chain.push_back(a);
  return chain;
}

const CLI::Option* FindOption(CLI::App* app, const std::string& name) {
  for (CLI::App* a : Chain(app)) {
    if (const CLI::Option* o = a->get_option_no_throw(name)) return o;
  }
  return nullptr;
}

std::optional<std::string> UnknownOptionHint(CLI::App* app, const std::string& name) {
  std::vector<std::string> known;
  for (CLI::App* a : Chain(app)) {
    for (const CLI::Option* o : a->get_options()) {
      for (const auto& l : o->get_lnames()) known.push_back("--" + l);
    }
  }
  auto near = NearestName(name, known);
  std::string where = app->get_parent() == nullptr ? "modelbay" : "modelbay " + app->get_name();
  return fmt::format("unknown option {} for `{}`{}; see `{} --help`", name, where,
                     near ? fmt::format(" (did you mean {}?)", *near) : "", where);
}

}  // namespace

std::optional<std::string> TypoHint(CLI::App& root, int argc, const char* const* argv) {
  CLI::App* app = &root;
  for (int i = 1; i < argc; ++i) {
    const std::string token = argv[i];
    if (token == "--") return std::nullopt;
    if (token.starts_with("--")) {
      const std::string name = token.substr(0, token.find('='));
      const CLI::Option* o = FindOption(app, name);
      if (o == nullptr) return UnknownOptionHint(app, name);
      if (token.find('=') == std::string::npos && o->get_expected_min() > 0) ++i;  // its value
      continue;
    }
    if (token.size() > 1 && token[0] == '-') {
      const CLI::Option* o = FindOption(app, token.substr(0, 2));
      if (o != nullptr && token.size() == 2 && o->get_expected_min() > 0) ++i;
      continue;
    }
    std::vector<CLI::App*> subs = Subcommands(app);
    CLI::App* next = nullptr;
    std::vector<std::string> names;
    for (CLI::App* s : subs) {
      if (s->check_name(token)) next = s;
      names.push_back(s->get_name());
    }
    if (next != nullptr) {
      app = next;
      continue;
    }
    if (!subs.empty() && app->get_require_subcommand_min() > 0) {
      std::string where = app->get_parent() == nullptr ? "modelbay" : "modelbay " + app->get_name();
      auto near = NearestName(token, names);
      return fmt::format("unknown command `{} {}`{}; commands: {}", where, token,
                         near ? fmt::format(" (did you mean `{} {}`?)", where, *near) : "",
                         fmt::join(names, ", "));
    }
    // A positional argument of `app`.
  }
  return std::nullopt;
}

}  // namespace modelbay
