#include "core/posix_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

namespace modelbay {

std::string ErrnoText(int err) { return std::strerror(err); }

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(fmt::format("cannot write {}: {}", path.string(), ErrnoText(errno)));
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncFd(int fd, const std::filesystem::path& path) {
  if (::fdatasync(fd) != 0) {
    return Unavailable(fmt::format("cannot fsync {}: {}", path.string(), ErrnoText(errno)));
  }
  return Status::Ok();
}

void FsyncDir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

ScopedTempDir::ScopedTempDir(std::string_view prefix) {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() / fmt::format("{}-{:08x}{:08x}", prefix, rd(), rd());
  std::filesystem::create_directories(path_);
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace modelbay
