// Whether registered versions already cover some data (change.h), with the
// registry reads and content hashes cached: committed versions never
// change, and a data file's hash is fixed by its key and ETag.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "registry/registry.h"
#include "store/store.h"
#include "triggers/change.h"

namespace modelbay {

class CoverageChecker {
 public:
  CoverageChecker(std::shared_ptr<Store> data, std::shared_ptr<Registry> registry)
      : data_(std::move(data)), registry_(std::move(registry)) {}

  // The newest committed version, when it covers `refs` (watch: "is the
  // newest model trained on exactly this data?").
  Result<std::optional<int>> NewestCovering(const std::vector<DataRef>& refs);
  // Any committed version that covers `refs` (worker: duplicate events).
  Result<std::optional<int>> AnyCovering(const std::vector<DataRef>& refs);

 private:
  Result<const TrainedOn*> TrainedOnOf(int version);
  Result<std::string> ContentHash(const DataRef& ref);

  std::shared_ptr<Store> data_;
  std::shared_ptr<Registry> registry_;
  std::map<int, TrainedOn> versions_;
  std::map<std::pair<std::string, std::string>, std::string> hashes_;
};

}  // namespace modelbay
