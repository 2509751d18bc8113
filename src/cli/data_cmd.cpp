// sample-data, upload.
#include <cctype>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "data/data_store.h"
#include "data/sample_data.h"
#include "store/store.h"

namespace modelbay {
namespace {

struct SampleDataArgs {
  SampleDataOptions options;
  std::string out;
};

struct UploadArgs {
  std::string file;
  std::string name;
  std::string target;
  std::string sep;
  bool json = false;
};

// --sep: one ASCII character, or `tab` / `\t`.
Result<char> ParseSep(const std::string& sep) {
  if (sep == "tab" || sep == "\\t" || sep == "\t") return '\t';
  const auto c = static_cast<unsigned char>(sep[0]);
  if (sep.size() != 1 || c < 0x20 || c >= 0x7f || c == '"' || std::isalnum(c)) {
    return InvalidArgument(fmt::format("--sep '{}': give the file's delimiter as one character (';', '|', ',') or "
                                       "`tab`; not a quote, letter or digit", sep));
  }
  return static_cast<char>(c);
}

}  // namespace

void RegisterDataCommands(CLI::App& app, CliContext& ctx) {
  auto sample = std::make_shared<SampleDataArgs>();
  CLI::App* s = app.add_subcommand(
      "sample-data",
      "Write a synthetic churn CSV like the seed's (Country,Count,id,churn) with a learnable signal");
  s->add_option("--rows", sample->options.rows, "Number of data rows")
      ->capture_default_str()
      ->check(IntegerIn(1, 1'000'000'000));
  s->add_option("--seed", sample->options.seed, "Random seed (the same seed gives the same file)")
      ->capture_default_str();
  s->add_option("--out", sample->out, "CSV file to write, - for stdout")->required();
  s->add_option("--classes", sample->options.classes,
                "2: churn 0/1 (the seed's columns); 3-10: a string target `tier` instead")
      ->capture_default_str();  // range-checked by WriteSampleData (its message names the range)
  s->add_flag("--regression", sample->options.regression, "A numeric target `spend` instead of churn");
  SetAction(s, ctx, [sample]() -> Status {
    MB_RETURN_IF_ERROR(WriteSampleData(sample->out, sample->options));
    if (sample->out != "-") fmt::print("wrote {} rows to {}\n", sample->options.rows, sample->out);
    return Status::Ok();
  });

  auto up = std::make_shared<UploadArgs>();
  CLI::App* u = app.add_subcommand(
      "upload", "Check a CSV file and store it in the data store (identical content is not re-uploaded)");
  u->add_option("file", up->file, "CSV file (RFC 4180, UTF-8, with a header line)")->required();
  u->add_option("--name", up->name, "Key in the data store (default: the file's name)");
  u->add_option("--target", up->target, "Require this column (the training target) in the file");
  CLI::Option* sep = u->add_option("--sep", up->sep,
                "The file's delimiter (';', '|', `tab`, ...): read with it and stored comma-separated\n"
                "(default: comma; a file written with ';', tab or '|' is refused with a hint to pass --sep)");
  u->add_flag("--json", up->json, "Print the outcome as JSON: {key, store, rows, sha256, unchanged}");
  SetAction(u, ctx, [up, sep, &ctx]() -> Status {
    MB_ASSIGN_OR_RETURN(Config cfg, ctx.LoadConfig());
    MB_ASSIGN_OR_RETURN(std::shared_ptr<Store> store, OpenStore(cfg.data, cfg));
    UploadOptions options;
    if (sep->count() > 0) {
      MB_ASSIGN_OR_RETURN(options.delimiter, ParseSep(up->sep));
    }
    options.name = up->name;
    if (!up->target.empty()) options.target = up->target;
    MB_ASSIGN_OR_RETURN(UploadOutcome outcome, UploadData(*store, up->file, options));
    if (up->json) {
      nlohmann::json out = {{"key", outcome.key},       {"store", store->Describe()},
                            {"rows", outcome.rows},     {"sha256", outcome.sha256},
                            {"unchanged", outcome.unchanged}};
      fmt::print("{}\n", out.dump(2));
      return Status::Ok();
    }
    fmt::print("{} {} in {}: {} rows, sha256 {}\n", outcome.key,
               outcome.unchanged ? "unchanged (identical content already stored)" : "uploaded",
               store->Describe(), outcome.rows, outcome.sha256);
    return Status::Ok();
  });
}

}  // namespace modelbay
