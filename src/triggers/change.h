// Change detection: which data a training would read now (keys + ETags),
// and whether a registered version was already trained on exactly that.
//
// A version covers a data file when its metadata records the same key with
// the same ETag (triggered trainings record ETags in their trigger detail),
// or the same key with the same SHA-256 of the content (every training
// records that; checking it costs one download, cached by the caller).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace modelbay {

struct DataRef {
  std::string key;
  std::string etag;  // normalized: no quotes
  bool operator==(const DataRef&) const = default;
};

// Identifies a set of data files at given contents: SHA-256 (hex) of the
// sorted "key:etag" lines. Used for leases and logs.
std::string ChangeId(std::vector<DataRef> refs);

// The trigger detail recorded with a training of `refs`:
// {"keys": [...], "etags": {"key": "etag", ...}} plus `extra` members.
nlohmann::json TriggerDetailFor(const std::vector<DataRef>& refs,
                                const nlohmann::json& extra = nlohmann::json::object());

// What one version was trained on, per data key.
struct TrainedOn {
  std::map<std::string, std::string> etags;   // key -> ETag, when recorded
  std::map<std::string, std::string> sha256;  // key -> content hash
};
// Reads metadata tolerantly: data entries under "data" (objects with key,
// sha256 and optionally etag) and "trigger_detail"'s "etags", the shapes
// Train has always written (src/train/trainer.cpp).
TrainedOn TrainedOnFromMetadata(const nlohmann::json& metadata);

// The SHA-256 of a data file's content at a given ETag.
using ContentHashFn = std::function<Result<std::string>(const DataRef&)>;

// True when `trained` covers every ref (same ETag, else same content hash).
// `hash` is called only for keys recorded with a hash but another ETag.
Result<bool> Covers(const TrainedOn& trained, const std::vector<DataRef>& refs,
                    const ContentHashFn& hash);

}  // namespace modelbay
