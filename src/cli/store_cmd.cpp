// `modelbay store ls|cat|get|put|rm|stat`: look inside the three stores with
// the same code paths the rest of modelbay uses (local folder or S3).
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <iterator>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/posix_file.h"
#include "store/sigv4.h"
#include "store/store.h"

namespace modelbay {
namespace {

Result<std::shared_ptr<Store>> OpenNamedStore(const CliContext& ctx, const std::string& which) {
  MB_ASSIGN_OR_RETURN(auto cfg, ctx.LoadConfig());
  if (which == "data") return OpenStore(cfg.data, cfg);
  if (which == "models") return OpenStore(cfg.models, cfg);
  if (which == "results") return OpenStore(cfg.results, cfg);
  return InvalidArgument(fmt::format("unknown store '{}': use data, models or results", which));
}

std::string CheckStoreName(const std::string& s) {
  return s == "data" || s == "models" || s == "results" ? "" : "must be data, models or results";
}

// Prints SigV4 headers for a request described in JSON on stdin; used by the
// tests that compare the signer with botocore. Credentials come from the
// JSON, never from the environment.
Status DebugSign() {
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  auto j = nlohmann::json::parse(input, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("stdin: expected a JSON object");
  try {
    SigV4Request r;
    r.method = j.value("method", "GET");
    r.host = j.at("host").get<std::string>();
    r.path = j.value("path", "/");
    for (const auto& kv : j.value("query", nlohmann::json::array())) r.query.emplace(kv.at(0), kv.at(1));
    for (const auto& kv : j.value("headers", nlohmann::json::array())) r.headers.emplace_back(kv.at(0), kv.at(1));
    r.payload_sha256 = j.value("payload_sha256", "");
    r.region = j.value("region", "us-east-1");
    r.service = j.value("service", "s3");
    AwsCredentials c{j.at("access_key").get<std::string>(), j.at("secret_key").get<std::string>(),
                     j.value("session_token", "")};
    std::tm tm{};
    std::string t = j.at("time").get<std::string>();  // 20150830T123600Z
    if (std::sscanf(t.c_str(), "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                    &tm.tm_sec) != 6) {
      return InvalidArgument("time: expected YYYYMMDDTHHMMSSZ");
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    auto h = SignV4(r, c, std::chrono::system_clock::from_time_t(timegm(&tm)));
    nlohmann::json out;
    for (const auto& [k, v] : h.headers) out["headers"][k] = v;
    out["canonical_request"] = h.canonical_request;
    out["string_to_sign"] = h.string_to_sign;
    std::cout << out.dump(2) << "\n";
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(fmt::format("stdin: {}", e.what()));
  }
  return Status::Ok();
}

}  // namespace

void RegisterStoreCommands(CLI::App& app, CliContext& ctx) {
  auto* store = app.add_subcommand("store", "Inspect the data, models and results stores (list, read, write, remove)");
  store->require_subcommand(1);

  struct Args {
    std::string which, key, file, prefix;
    std::vector<std::string> keys;
    bool long_format = false, if_absent = false, json = false;
  };
  auto args = std::make_shared<Args>();
  auto add_store = [&](CLI::App* cmd) {
    cmd->add_option("store", args->which, "data, models or results")->required()->check(CheckStoreName);
  };

  auto* ls = store->add_subcommand("ls", "List keys (recursively) under an optional prefix");
  add_store(ls);
  ls->add_option("prefix", args->prefix, "Key prefix, e.g. 1/ or uploads/");
  ls->add_flag("-l,--long", args->long_format, "Show size, last-modified time and ETag");
  ls->add_flag("--json", args->json, "Print a JSON array of {key, size, last_modified, etag}");
  SetAction(ls, ctx, [&ctx, args]() -> Status {
    MB_ASSIGN_OR_RETURN(auto s, OpenNamedStore(ctx, args->which));
    MB_ASSIGN_OR_RETURN(auto objects, s->List(args->prefix));
    if (args->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& o : objects) {
        out.push_back({{"key", o.key},
                       {"size", o.size},
                       {"last_modified", FormatIso8601(std::chrono::system_clock::time_point(
                                             std::chrono::milliseconds(o.last_modified_ms)))},
                       {"etag", o.etag}});
      }
      std::cout << out.dump(2) << "\n";
      return Status::Ok();
    }
    for (const auto& o : objects) {
      if (args->long_format) {
        std::cout << fmt::format("{:>12}  {}  {}  {}\n", o.size,
                                 FormatIso8601(std::chrono::system_clock::time_point(
                                     std::chrono::milliseconds(o.last_modified_ms))),
                                 o.etag, o.key);
      } else {
        std::cout << o.key << "\n";
      }
    }
    return Status::Ok();
  });

  auto* cat = store->add_subcommand("cat", "Print an object to stdout");
  add_store(cat);
  cat->add_option("key", args->key, "Object key")->required();
  SetAction(cat, ctx, [&ctx, args]() -> Status {
    MB_ASSIGN_OR_RETURN(auto s, OpenNamedStore(ctx, args->which));
    MB_ASSIGN_OR_RETURN(std::string data, s->Get(args->key));
    std::fwrite(data.data(), 1, data.size(), stdout);
    return Status::Ok();
  });

  auto* get = store->add_subcommand("get", "Download an object to a local file");
  add_store(get);
  get->add_option("key", args->key, "Object key")->required();
  get->add_option("file", args->file,
                  "Local file to write (replaced atomically), - for stdout; a FIFO or device is written through")
      ->required();
  SetAction(get, ctx, [&ctx, args]() -> Status {
    MB_ASSIGN_OR_RETURN(auto s, OpenNamedStore(ctx, args->which));
    // Downloaded to a temp folder first, so nothing reaches the output
    // unless the whole object (and its checks) arrived.
    ScopedTempDir tmp("modelbay-get");
    MB_RETURN_IF_ERROR(s->GetToFile(args->key, tmp.path() / "object"));
    MB_ASSIGN_OR_RETURN(auto out, OutputFile::Open(args->file));
    MB_RETURN_IF_ERROR(out->WriteFrom(tmp.path() / "object"));
    return out->Commit();
  });

  auto* put = store->add_subcommand("put", "Upload a local file (or '-' for stdin) as an object");
  add_store(put);
  put->add_option("key", args->key, "Object key")->required();
  put->add_option("file", args->file, "Local file, or - for stdin")->required();
  put->add_flag("--if-absent", args->if_absent, "Fail (exit 4) when the key already exists with other content (the same bytes again are OK)");
  SetAction(put, ctx, [&ctx, args]() -> Status {
    MB_ASSIGN_OR_RETURN(auto s, OpenNamedStore(ctx, args->which));
    if (args->file == "-") {
      std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      return args->if_absent ? s->PutIfAbsent(args->key, data) : s->Put(args->key, data);
    }
    if (!args->if_absent) return s->PutFile(args->key, args->file);
    std::FILE* f = std::fopen(args->file.c_str(), "rb");
    if (f == nullptr) return NotFound(fmt::format("cannot open {}", args->file));
    std::string data;
    char buf[65536];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) data.append(buf, n);
    std::fclose(f);
    return s->PutIfAbsent(args->key, data);
  });

  auto* rm = store->add_subcommand("rm", "Remove objects (absent keys are not an error)");
  add_store(rm);
  rm->add_option("keys", args->keys, "Object keys")->required();
  SetAction(rm, ctx, [&ctx, args]() -> Status {
    MB_ASSIGN_OR_RETURN(auto s, OpenNamedStore(ctx, args->which));
    for (const auto& k : args->keys) MB_RETURN_IF_ERROR(s->Delete(k));
    return Status::Ok();
  });

  auto* stat = store->add_subcommand("stat", "Show an object's size, ETag and last-modified time as JSON");
  add_store(stat);
  stat->add_option("key", args->key, "Object key")->required();
  SetAction(stat, ctx, [&ctx, args]() -> Status {
    MB_ASSIGN_OR_RETURN(auto s, OpenNamedStore(ctx, args->which));
    MB_ASSIGN_OR_RETURN(auto info, s->Head(args->key));
    if (!info) return NotFound(fmt::format("{} not found in {}", args->key, s->Describe()));
    nlohmann::json j{{"key", info->key}, {"size", info->size}, {"etag", info->etag},
                     {"last_modified", FormatIso8601(std::chrono::system_clock::time_point(
                                           std::chrono::milliseconds(info->last_modified_ms)))}};
    std::cout << j.dump() << "\n";
    return Status::Ok();
  });

  auto* sign = app.add_subcommand("debug-sigv4", "Print SigV4 headers for a request given as JSON on stdin");
  sign->group("");  // hidden: a test hook
  SetAction(sign, ctx, [] { return DebugSign(); });
}

}  // namespace modelbay
