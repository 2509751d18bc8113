#include "data/data_store.h"

#include <algorithm>
#include <chrono>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/hash.h"

namespace modelbay {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kOwnPrefix = ".modelbay/";

std::string RecordKey(const std::string& key) { return fmt::format(".modelbay/uploads/{}.json", key); }

bool EndsWithCsv(std::string_view key) {
  if (key.size() < 4) return false;
  std::string ext(key.substr(key.size() - 4));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".csv";
}

bool IsDataKey(std::string_view key) { return !key.starts_with(kOwnPrefix) && EndsWithCsv(key); }

std::string JoinKeys(const std::vector<ObjectInfo>& objects) {
  std::string out;
  for (const auto& o : objects) {
    if (!out.empty()) out += ", ";
    out += o.key;
  }
  return out;
}

// Where a store object is, for messages: "s3://bucket/prefix/key" or a path.
std::string Where(const Store& store, std::string_view key) {
  std::string root = store.Describe();
  if (!root.empty() && root.back() != '/') root += '/';
  return root + std::string(key);
}

std::string DefaultKey(const fs::path& file) {
  std::string name = file.filename().string();
  return EndsWithCsv(name) ? name : file.stem().string() + ".csv";
}

// True when `key` already holds exactly the content hashed as `sha256`.
Result<bool> AlreadyStored(Store& data, const std::string& key, const std::string& sha256, uint64_t size) {
  MB_ASSIGN_OR_RETURN(std::optional<ObjectInfo> head, data.Head(key));
  if (!head || head->size != size) return false;
  // The upload record vouches for the content as long as the object is the
  // one it describes (same etag); otherwise hash what is there.
  auto record = data.Get(RecordKey(key));
  if (record.ok()) {
    json r = json::parse(*record, nullptr, /*allow_exceptions=*/false);
    if (r.is_object() && r.value("etag", "") == head->etag && r.value("sha256", "") == sha256) return true;
  } else if (record.status().code() != Code::kNotFound) {
    return record.status();
  }
  MB_ASSIGN_OR_RETURN(std::string content, data.Get(key));
  return Sha256Hex(content) == sha256;
}

}  // namespace

Result<UploadOutcome> UploadData(Store& data, const fs::path& file, const UploadOptions& options) {
  std::string key = options.name.empty() ? DefaultKey(file) : options.name;
  if (Status st = ValidateKey(key); !st.ok()) {
    return InvalidArgument(fmt::format("--name {}: {}", key, st.message()));
  }
  if (key.starts_with(kOwnPrefix)) {
    return InvalidArgument(fmt::format("--name {}: keys under {} are modelbay's own bookkeeping; "
                                       "choose another name", key, kOwnPrefix));
  }
  if (!EndsWithCsv(key)) {
    return InvalidArgument(fmt::format("--name {}: data keys end in .csv (training only reads those); "
                                       "use --name {}.csv", key, key));
  }

  // The bytes to store: the file itself, or its comma-separated rewrite.
  std::optional<std::string> converted;
  if (options.delimiter != ',') {
    MB_ASSIGN_OR_RETURN(std::string text, ReadCsvText(file));
    MB_ASSIGN_OR_RETURN(converted, ToCommaSeparated(text, options.delimiter, file.string()));
  }
  MB_ASSIGN_OR_RETURN(CsvTable table, converted ? ParseCsv(*converted, file.string()) : ReadCsvFile(file));
  if (table.rows() == 0) {
    return InvalidArgument(fmt::format("{}: has a header but no data rows; add at least one row "
                                       "below the header", file.string()));
  }
  if (options.target && table.find_column(*options.target) < 0) {
    std::string cols;
    for (const auto& h : table.header()) cols += (cols.empty() ? "" : ",") + h;
    return InvalidArgument(fmt::format("{}:1: no column named '{}' (the header has: {}); pass "
                                       "--target with one of these names or add the column",
                                       file.string(), *options.target, cols));
  }
  std::string sha256;
  uint64_t size = 0;
  if (converted) {
    sha256 = Sha256Hex(*converted);
    size = converted->size();
  } else {
    MB_ASSIGN_OR_RETURN(sha256, Sha256FileHex(file));
    std::error_code ec;
    size = fs::file_size(file, ec);
    if (ec) return InvalidArgument(fmt::format("{}: cannot read its size: {}", file.string(), ec.message()));
  }

  UploadOutcome out;
  out.key = key;
  out.sha256 = sha256;
  out.rows = table.rows();
  MB_ASSIGN_OR_RETURN(out.unchanged, AlreadyStored(data, key, sha256, size));
  if (out.unchanged) return out;

  MB_RETURN_IF_ERROR(converted ? data.Put(key, *converted) : data.PutFile(key, file));
  MB_ASSIGN_OR_RETURN(std::optional<ObjectInfo> head, data.Head(key));
  json record = {
      {"key", key},
      {"sha256", sha256},
      {"rows", table.rows()},
      {"columns", table.header()},
      {"size", size},
      {"etag", head ? head->etag : ""},
      {"uploaded_at", FormatIso8601(std::chrono::system_clock::now())},
      {"source_file", file.filename().string()},
  };
  if (converted) record["source_delimiter"] = std::string(1, options.delimiter);
  MB_RETURN_IF_ERROR(data.Put(RecordKey(key), record.dump(2) + "\n"));
  return out;
}

Result<std::vector<DataFile>> SelectData(Store& data, std::string_view spec) {
  MB_ASSIGN_OR_RETURN(std::vector<ObjectInfo> objects, data.List(""));
  std::erase_if(objects, [](const ObjectInfo& o) { return !IsDataKey(o.key); });
  auto to_file = [](const ObjectInfo& o) {
    DataFile f;
    f.key = o.key;
    f.etag = o.etag;
    f.last_modified_ms = o.last_modified_ms;
    f.size = o.size;
    return f;
  };

  if (spec != "latest" && spec != "all") {
    std::string key(spec);
    if (Status st = ValidateKey(key); !st.ok()) {
      return InvalidArgument(fmt::format("--data {}: {}", key, st.message()));
    }
    MB_ASSIGN_OR_RETURN(std::optional<ObjectInfo> head, data.Head(key));
    if (!head) {
      return NotFound(fmt::format(
          "no data file '{}' in the data store {}; {}", key, data.Describe(),
          objects.empty() ? "it has no CSV files: upload one with `modelbay upload FILE`"
                          : "it has: " + JoinKeys(objects) + " (or use --data latest / --data all)"));
    }
    return std::vector<DataFile>{to_file(*head)};
  }
  if (objects.empty()) {
    return NotFound(fmt::format("the data store {} has no CSV files; upload one with `modelbay upload FILE`",
                                data.Describe()));
  }
  if (spec == "latest") {
    // Newest first; among equal times the greatest key, so the choice is stable.
    auto newest = std::max_element(objects.begin(), objects.end(), [](const ObjectInfo& a, const ObjectInfo& b) {
      return std::tie(a.last_modified_ms, a.key) < std::tie(b.last_modified_ms, b.key);
    });
    return std::vector<DataFile>{to_file(*newest)};
  }
  std::vector<DataFile> files;
  for (const auto& o : objects) files.push_back(to_file(o));
  return files;
}

Result<CsvTable> LoadData(Store& data, std::vector<DataFile>& files) {
  if (files.empty()) return InvalidArgument("no data files selected");
  std::optional<CsvTable> all;
  std::set<std::string> seen;
  std::vector<DataFile> kept;
  for (DataFile& f : files) {
    MB_ASSIGN_OR_RETURN(std::string content, data.Get(f.key));
    f.sha256 = Sha256Hex(content);
    f.size = content.size();
    if (!seen.insert(f.sha256).second) continue;  // identical content counted once
    MB_ASSIGN_OR_RETURN(CsvTable table, ParseCsv(std::move(content), Where(data, f.key)));
    f.rows = table.rows();
    kept.push_back(f);
    if (!all) {
      all = std::move(table);
    } else {
      MB_RETURN_IF_ERROR(all->Append(std::move(table)));
    }
  }
  if (all->rows() == 0) {
    return InvalidArgument(fmt::format("{}: has a header but no data rows; upload a file with data",
                                       all->source()));
  }
  files = std::move(kept);
  return std::move(*all);
}

}  // namespace modelbay
