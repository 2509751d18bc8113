// Small POSIX file helpers shared by the local store and the prediction-log
// spool: full writes that retry on EINTR, fsync of files and folders, and
// errno text, a self-removing temp folder. Errors are Unavailable and name
// the path.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace modelbay {

std::string ErrnoText(int err);
// Writes all of `data` to `fd`; `path` names the file in errors.
Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path);
// fdatasync(2); `path` names the file in errors.
Status SyncFd(int fd, const std::filesystem::path& path);
// Makes a rename or create inside `dir` durable (best effort).
void FsyncDir(const std::filesystem::path& dir);

// A fresh folder `<system temp>/<prefix>-<random>`, removed with everything
// in it when the object is destroyed. Not copyable.
class ScopedTempDir {
 public:
  explicit ScopedTempDir(std::string_view prefix);
  ~ScopedTempDir();
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace modelbay
