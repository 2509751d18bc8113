// A view of another store under a key prefix: every key given to it is
// `prefix + key` in the underlying store, and List strips the prefix again.
// Named models (registry/model_name.h) use it to give each model its own
// folder of the model store and of the results store while every other
// subsystem keeps using plain keys.
//
// Ownership: holds the underlying store by shared_ptr. Thread-safety: as
// thread-safe as the underlying store (it adds no state).
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace modelbay {

class PrefixedStore final : public Store {
 public:
  // `prefix` is non-empty, ends in '/', and is a valid key (ValidateKey).
  PrefixedStore(std::shared_ptr<Store> base, std::string prefix);

  const std::string& prefix() const { return prefix_; }

  std::string Describe() const override;  // "<base>/<prefix without '/'>"
  Result<std::string> Get(const std::string& key) override;
  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override;
  Status Put(const std::string& key, std::string_view data) override;
  Status PutIfAbsent(const std::string& key, std::string_view data) override;
  Status PutFile(const std::string& key, const std::filesystem::path& file) override;
  Status Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail) override;
  Status GetToFile(const std::string& key, const std::filesystem::path& file) override;
  // The returned key is relative to this view.
  Result<std::optional<ObjectInfo>> Head(const std::string& key) override;
  // Keys relative to this view.
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  // FailedPrecondition: cleanup empties a whole store (`modelbay cleanup`),
  // never one model's part of it.
  Result<CleanupReport> Cleanup(bool dry_run) override;

 private:
  std::string Full(const std::string& key) const { return prefix_ + key; }
  ObjectInfo Relative(ObjectInfo info) const;

  std::shared_ptr<Store> base_;
  std::string prefix_;
};

}  // namespace modelbay
