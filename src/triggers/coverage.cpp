#include "triggers/coverage.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/hash.h"

namespace modelbay {

Result<const TrainedOn*> CoverageChecker::TrainedOnOf(int version) {
  auto it = versions_.find(version);
  if (it == versions_.end()) {
    MB_ASSIGN_OR_RETURN(nlohmann::json metadata, registry_->Metadata(version));
    it = versions_.emplace(version, TrainedOnFromMetadata(metadata)).first;
  }
  return &it->second;
}

Result<std::string> CoverageChecker::ContentHash(const DataRef& ref) {
  auto id = std::make_pair(ref.key, ref.etag);
  if (auto it = hashes_.find(id); it != hashes_.end()) return it->second;
  spdlog::debug("hashing {} (ETag {}) to compare with what a version was trained on", ref.key, ref.etag);
  MB_ASSIGN_OR_RETURN(std::string bytes, data_->Get(ref.key));
  std::string hash = Sha256Hex(bytes);
  hashes_[id] = hash;
  return hash;
}

Result<std::optional<int>> CoverageChecker::NewestCovering(const std::vector<DataRef>& refs) {
  MB_ASSIGN_OR_RETURN(std::vector<int> versions, registry_->ListVersions());
  if (versions.empty()) return std::optional<int>();
  const int newest = versions.back();
  MB_ASSIGN_OR_RETURN(const TrainedOn* trained, TrainedOnOf(newest));
  MB_ASSIGN_OR_RETURN(bool covered, Covers(*trained, refs, [this](const DataRef& r) { return ContentHash(r); }));
  return covered ? std::optional<int>(newest) : std::optional<int>();
}

Result<std::optional<int>> CoverageChecker::AnyCovering(const std::vector<DataRef>& refs) {
  MB_ASSIGN_OR_RETURN(std::vector<int> versions, registry_->ListVersions());
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    MB_ASSIGN_OR_RETURN(const TrainedOn* trained, TrainedOnOf(*it));
    MB_ASSIGN_OR_RETURN(bool covered,
                        Covers(*trained, refs, [this](const DataRef& r) { return ContentHash(r); }));
    if (covered) return std::optional<int>(*it);
  }
  return std::optional<int>();
}

}  // namespace modelbay
