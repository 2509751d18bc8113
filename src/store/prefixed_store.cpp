#include "store/prefixed_store.h"

#include <fmt/format.h>

namespace modelbay {

PrefixedStore::PrefixedStore(std::shared_ptr<Store> base, std::string prefix)
    : base_(std::move(base)), prefix_(std::move(prefix)) {}

std::string PrefixedStore::Describe() const {
  std::string base = base_->Describe();
  if (!base.empty() && base.back() != '/') base += '/';
  return base + prefix_.substr(0, prefix_.size() - 1);
}

ObjectInfo PrefixedStore::Relative(ObjectInfo info) const {
  if (info.key.starts_with(prefix_)) info.key.erase(0, prefix_.size());
  return info;
}

Result<std::string> PrefixedStore::Get(const std::string& key) { return base_->Get(Full(key)); }

Result<std::string> PrefixedStore::GetRange(const std::string& key, uint64_t offset, uint64_t length) {
  return base_->GetRange(Full(key), offset, length);
}

Status PrefixedStore::Put(const std::string& key, std::string_view data) { return base_->Put(Full(key), data); }

Status PrefixedStore::PutIfAbsent(const std::string& key, std::string_view data) {
  return base_->PutIfAbsent(Full(key), data);
}

Status PrefixedStore::PutFile(const std::string& key, const std::filesystem::path& file) {
  return base_->PutFile(Full(key), file);
}

Status PrefixedStore::Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail) {
  ObjectInfo full = expected;
  full.key = Full(expected.key);
  return base_->Concat(Full(key), full, tail);
}

Status PrefixedStore::GetToFile(const std::string& key, const std::filesystem::path& file) {
  return base_->GetToFile(Full(key), file);
}

Result<std::optional<ObjectInfo>> PrefixedStore::Head(const std::string& key) {
  MB_ASSIGN_OR_RETURN(auto info, base_->Head(Full(key)));
  if (!info) return info;
  return std::optional<ObjectInfo>(Relative(std::move(*info)));
}

Result<std::vector<ObjectInfo>> PrefixedStore::List(const std::string& prefix) {
  MB_ASSIGN_OR_RETURN(auto objects, base_->List(Full(prefix)));
  for (auto& o : objects) o = Relative(std::move(o));
  return objects;
}

Status PrefixedStore::Delete(const std::string& key) { return base_->Delete(Full(key)); }

Result<CleanupReport> PrefixedStore::Cleanup(bool) {
  return FailedPrecondition(fmt::format("{}: cleanup empties a whole store, not one model's folder of it",
                                        Describe()));
}

}  // namespace modelbay
