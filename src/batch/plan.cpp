#include "batch/plan.h"

#include <glob.h>

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/hash.h"

namespace modelbay::batch {
namespace fs = std::filesystem;
namespace {

Result<size_t> ParseCount(std::string_view text, std::string_view what) {
  size_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || text.empty()) {
    return InvalidArgument(fmt::format("{} '{}' is not a whole number", what, text));
  }
  return v;
}

// Objects under a store key or prefix: the key itself when it exists, else
// every .csv below `key/` (or below `key` when it ends in '/').
Status AddStoreObjects(const std::shared_ptr<Store>& store, const std::string& key,
                       const std::string& name_prefix, std::vector<InputObject>& out) {
  if (!key.empty() && !key.ends_with('/')) {
    MB_ASSIGN_OR_RETURN(auto info, store->Head(key));
    if (info) {
      out.push_back({name_prefix + key, store, key, info->size});
      return Status::Ok();
    }
  }
  std::string prefix = key.empty() || key.ends_with('/') ? key : key + "/";
  MB_ASSIGN_OR_RETURN(auto objects, store->List(prefix));
  size_t before = out.size();
  for (const auto& o : objects) {
    if (o.key.ends_with(".csv")) out.push_back({name_prefix + o.key, store, o.key, o.size});
  }
  if (out.size() == before) {
    return NotFound(fmt::format("{}{}: no such object and no .csv object under it in {}", name_prefix, key,
                                store->Describe()));
  }
  return Status::Ok();
}

Status AddLocalFile(const fs::path& path, std::vector<InputObject>& out) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return InvalidArgument(fmt::format("{}: cannot read: {}", path.string(), ec.message()));
  out.push_back({path.string(), nullptr, path.string(), size});
  return Status::Ok();
}

Status AddLocal(const std::string& arg, std::vector<InputObject>& out) {
  if (arg.find_first_of("*?[") != std::string::npos) {
    glob_t g{};
    int rc = ::glob(arg.c_str(), 0, nullptr, &g);
    std::vector<std::string> matches(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    globfree(&g);
    if (rc != 0 || matches.empty()) return NotFound(fmt::format("{}: no file matches", arg));
    for (const auto& m : matches) {
      if (fs::is_regular_file(m)) MB_RETURN_IF_ERROR(AddLocalFile(m, out));
    }
    return Status::Ok();
  }
  std::error_code ec;
  if (fs::is_directory(arg, ec)) {
    size_t before = out.size();
    for (const auto& e : fs::recursive_directory_iterator(arg, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".csv") MB_RETURN_IF_ERROR(AddLocalFile(e.path(), out));
    }
    if (ec) return InvalidArgument(fmt::format("{}: cannot list: {}", arg, ec.message()));
    if (out.size() == before) return NotFound(fmt::format("{}: no .csv file in this folder", arg));
    return Status::Ok();
  }
  if (!fs::exists(arg, ec)) return NotFound(fmt::format("{}: no such file; check the path", arg));
  if (!fs::is_regular_file(arg, ec)) {
    return InvalidArgument(fmt::format("{}: not a regular file or folder; pass a CSV file", arg));
  }
  return AddLocalFile(arg, out);
}

}  // namespace

Result<Shard> ParseShard(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return InvalidArgument(fmt::format("--shard '{}' must be I/N (e.g. 0/3: the first of three shards)", text));
  }
  MB_ASSIGN_OR_RETURN(size_t i, ParseCount(text.substr(0, slash), "shard index"));
  MB_ASSIGN_OR_RETURN(size_t n, ParseCount(text.substr(slash + 1), "shard count"));
  if (n == 0 || i >= n) {
    return InvalidArgument(fmt::format("--shard {}: the index must be 0..N-1 and N at least 1", text));
  }
  return Shard{i, n};
}

Result<std::optional<Shard>> ShardFromEnv(const Config& config) {
  std::string index = config.Get("AWS_BATCH_JOB_ARRAY_INDEX");
  std::string size = config.Get("AWS_BATCH_JOB_ARRAY_SIZE");
  if (index.empty() && size.empty()) return std::optional<Shard>();
  if (index.empty() || size.empty()) {
    return InvalidArgument("AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE must be set together");
  }
  MB_ASSIGN_OR_RETURN(Shard s, ParseShard(index + "/" + size));
  return std::optional<Shard>(s);
}

Result<std::vector<InputObject>> ResolveInputs(const Config& config, const std::vector<std::string>& args) {
  std::vector<InputObject> out;
  for (const auto& arg : args) {
    if (arg.starts_with("s3://")) {
      std::string rest = arg.substr(5);
      size_t slash = rest.find('/');
      std::string bucket = rest.substr(0, slash);
      std::string key = slash == std::string::npos ? "" : rest.substr(slash + 1);
      MB_ASSIGN_OR_RETURN(StoreLocation loc, ParseStoreLocation("s3://" + bucket, {}));
      MB_ASSIGN_OR_RETURN(auto store, OpenStore(loc, config));
      MB_RETURN_IF_ERROR(AddStoreObjects(store, key, "s3://" + bucket + "/", out));
    } else if (arg.starts_with("data:")) {
      MB_ASSIGN_OR_RETURN(auto store, OpenStore(config.data, config));
      MB_RETURN_IF_ERROR(AddStoreObjects(store, arg.substr(5), "data:", out));
    } else {
      MB_RETURN_IF_ERROR(AddLocal(arg, out));
    }
  }
  std::sort(out.begin(), out.end(), [](const InputObject& a, const InputObject& b) { return a.name < b.name; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const InputObject& a, const InputObject& b) { return a.name == b.name; }),
            out.end());
  if (out.empty()) return InvalidArgument("no input: name a CSV file, a folder, a glob or an s3:// prefix");
  return out;
}

std::vector<Part> PlanParts(const std::vector<InputObject>& inputs, uint64_t split_bytes) {
  std::vector<Part> parts;
  split_bytes = std::max<uint64_t>(split_bytes, 1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string hash = Sha256Hex(inputs[i].name).substr(0, 16);
    const uint64_t size = inputs[i].size;
    for (uint64_t begin = 0;; begin += split_bytes) {
      uint64_t end = size - begin > split_bytes ? begin + split_bytes : size;
      parts.push_back({i, begin, end, fmt::format("part-{}-{}-{}.csv", hash, begin, end)});
      if (end >= size) break;
    }
  }
  return parts;
}

std::vector<size_t> PartsOfShard(size_t parts, const Shard& shard) {
  std::vector<size_t> mine;
  for (size_t i = shard.index; i < parts; i += shard.count) mine.push_back(i);
  return mine;
}

std::string PlanJson(const std::vector<InputObject>& inputs, const std::vector<Part>& parts, std::string_view job) {
  nlohmann::json j;
  j["job"] = job;
  j["parts"] = nlohmann::json::array();
  for (const auto& p : parts) {
    j["parts"].push_back({{"key", p.key}, {"input", inputs[p.object].name}, {"begin", p.begin}, {"end", p.end}});
  }
  return j.dump(1) + "\n";
}

}  // namespace modelbay::batch
