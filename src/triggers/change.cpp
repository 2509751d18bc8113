#include "triggers/change.h"

#include <algorithm>

#include "core/hash.h"
#include "triggers/s3_event.h"

namespace modelbay {

using nlohmann::json;

std::string ChangeId(std::vector<DataRef> refs) {
  std::sort(refs.begin(), refs.end(), [](const DataRef& a, const DataRef& b) {
    return a.key != b.key ? a.key < b.key : a.etag < b.etag;
  });
  std::string text;
  for (const auto& r : refs) text += r.key + ":" + r.etag + "\n";
  return Sha256Hex(text);
}

json TriggerDetailFor(const std::vector<DataRef>& refs, const json& extra) {
  json detail = extra.is_object() ? extra : json::object();
  json keys = json::array();
  json etags = json::object();
  for (const auto& r : refs) {
    keys.push_back(r.key);
    etags[r.key] = r.etag;
  }
  detail["keys"] = std::move(keys);
  detail["etags"] = std::move(etags);
  return detail;
}

namespace {

void ReadEtags(const json& detail, TrainedOn& out) {
  if (!detail.is_object()) return;
  auto it = detail.find("etags");
  if (it == detail.end() || !it->is_object()) return;
  for (const auto& [key, value] : it->items()) {
    if (value.is_string()) out.etags[key] = NormalizeEtag(value.get<std::string>());
  }
}

void ReadDataEntries(const json& entries, TrainedOn& out) {
  if (!entries.is_array()) return;
  for (const auto& e : entries) {
    if (!e.is_object() || !e.contains("key") || !e["key"].is_string()) continue;
    const std::string key = e["key"].get<std::string>();
    if (auto s = e.find("sha256"); s != e.end() && s->is_string()) out.sha256[key] = s->get<std::string>();
    if (auto t = e.find("etag"); t != e.end() && t->is_string()) {
      out.etags[key] = NormalizeEtag(t->get<std::string>());
    }
  }
}

}  // namespace

TrainedOn TrainedOnFromMetadata(const json& metadata) {
  TrainedOn out;
  if (!metadata.is_object()) return out;
  if (auto it = metadata.find("data"); it != metadata.end()) ReadDataEntries(*it, out);
  if (auto it = metadata.find("trigger_detail"); it != metadata.end()) ReadEtags(*it, out);
  return out;
}

Result<bool> Covers(const TrainedOn& trained, const std::vector<DataRef>& refs,
                    const ContentHashFn& hash) {
  if (refs.empty()) return false;
  for (const auto& ref : refs) {
    if (auto e = trained.etags.find(ref.key); e != trained.etags.end() && e->second == ref.etag) {
      continue;
    }
    auto s = trained.sha256.find(ref.key);
    if (s == trained.sha256.end()) return false;
    MB_ASSIGN_OR_RETURN(std::string content_hash, hash(ref));
    if (content_hash != s->second) return false;
  }
  return true;
}

}  // namespace modelbay
