// A store in a local folder. Writes go to a temporary file in the same folder
// and are renamed into place (atomic); PutIfAbsent uses link(2), which fails
// when the target exists, so exactly one racing writer wins.
#pragma once

#include "store/store.h"

namespace modelbay {

// The one name of a temp file that is renamed over `target` once complete:
// "<target>.mbtmp-<pid>-<n>", beside it (unique in this process; LocalStore
// listings skip such names). Used by LocalStore's writes and by S3Store's
// downloads to a local file.
std::filesystem::path TempPathFor(const std::filesystem::path& target);

class LocalStore final : public Store {
 public:
  explicit LocalStore(std::filesystem::path root);

  std::string Describe() const override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override;
  Status Put(const std::string& key, std::string_view data) override;
  Status PutIfAbsent(const std::string& key, std::string_view data) override;
  Status PutFile(const std::string& key, const std::filesystem::path& file) override;
  Status GetToFile(const std::string& key, const std::filesystem::path& file) override;
  Status Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail) override;
  Result<std::optional<ObjectInfo>> Head(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  Result<CleanupReport> Cleanup(bool dry_run) override;

 private:
  Result<std::filesystem::path> PathFor(const std::string& key) const;
  // Writes `data` (or copies `source`) to a temp file next to `target`,
  // fsyncs it, and returns its path.
  Result<std::filesystem::path> WriteTemp(const std::filesystem::path& target,
                                          std::string_view data,
                                          const std::filesystem::path* source);

  // Renames a finished temp file over `target` (removing it on failure)
  // and makes the rename durable.
  Status RenameInto(const std::filesystem::path& tmp, const std::filesystem::path& target);

  std::filesystem::path root_;
};

}  // namespace modelbay
