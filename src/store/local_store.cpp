#include "store/local_store.h"

#include "core/posix_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace modelbay {
namespace fs = std::filesystem;

namespace {

// Temp files carry this marker so listings skip them (TempPathFor).
constexpr std::string_view kTempMarker = ".mbtmp-";

std::string EtagFor(const struct stat& st) {
  return fmt::format("{:x}-{:x}", static_cast<uint64_t>(st.st_size),
                     static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ULL +
                         static_cast<uint64_t>(st.st_mtim.tv_nsec));
}

ObjectInfo InfoFor(std::string key, const struct stat& st) {
  ObjectInfo info;
  info.key = std::move(key);
  info.size = static_cast<uint64_t>(st.st_size);
  info.etag = EtagFor(st);
  info.last_modified_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  return info;
}

}  // namespace

fs::path TempPathFor(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  return target.parent_path() /
         fmt::format("{}{}{}-{}", target.filename().string(), kTempMarker, ::getpid(), counter++);
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return InvalidArgument("empty object key");
  if (key.size() > 1024) return InvalidArgument("object key longer than 1024 bytes");
  if (key.front() == '/') return InvalidArgument(fmt::format("object key '{}' must be relative", key));
  for (char c : key) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgument("object key contains a control character");
    }
  }
  size_t pos = 0;
  while (pos <= key.size()) {
    size_t slash = key.find('/', pos);
    std::string_view seg = key.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (seg == "." || seg == ".." || (seg.empty() && slash != std::string_view::npos)) {
      return InvalidArgument(fmt::format("object key '{}' has an empty, '.' or '..' segment", key));
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return Status::Ok();
}

LocalStore::LocalStore(fs::path root) : root_(std::move(root)) {}

std::string LocalStore::Describe() const { return root_.string(); }

Result<fs::path> LocalStore::PathFor(const std::string& key) const {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  if (key.back() == '/') return InvalidArgument(fmt::format("object key '{}' ends in '/'", key));
  return root_ / key;
}

Result<std::string> LocalStore::Get(const std::string& key) {
  return GetRange(key, 0, std::numeric_limits<uint64_t>::max());
}

Result<std::string> Store::GetRange(const std::string& key, uint64_t offset, uint64_t length) {
  MB_ASSIGN_OR_RETURN(std::string all, Get(key));
  if (offset >= all.size()) return std::string();
  return all.substr(offset, length);
}

Result<std::string> LocalStore::GetRange(const std::string& key, uint64_t offset, uint64_t length) {
  MB_ASSIGN_OR_RETURN(fs::path p, PathFor(key));
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) {
      return NotFound(fmt::format("{} not found in {}", key, Describe()));
    }
    return Unavailable(fmt::format("cannot read {}: {}", p.string(), ErrnoText(errno)));
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return NotFound(fmt::format("{} not found in {}", key, Describe()));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string out;
  out.resize(offset >= size ? 0 : static_cast<size_t>(std::min(length, size - offset)));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

Result<fs::path> LocalStore::WriteTemp(const fs::path& target, std::string_view data,
                                       const fs::path* source) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    return Unavailable(fmt::format("cannot create folder {}: {}", target.parent_path().string(), ec.message()));
  }
  const fs::path tmp = TempPathFor(target);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable(fmt::format("cannot create {}: {}", tmp.string(), ErrnoText(errno)));
  Status st;
  if (source != nullptr) {
    std::ifstream in(*source, std::ios::binary);
    if (!in) {
      st = NotFound(fmt::format("cannot open {}", source->string()));
    } else {
      std::string buf(1 << 20, '\0');
      while (st.ok() && in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        st = WriteAll(fd, std::string_view(buf.data(), static_cast<size_t>(in.gcount())), tmp);
      }
      if (st.ok() && in.bad()) st = Unavailable(fmt::format("error reading {}", source->string()));
    }
  } else if (data.size() >= kUncachedWriteMin) {
    // Large objects from memory (the shipper's log objects) are written
    // once and read once or never: around the page cache (posix_file.h).
    UncachedWriter out(fd, tmp);
    st = out.Append(data);
    if (st.ok()) st = out.Finish();
  } else {
    st = WriteAll(fd, data, tmp);
    if (st.ok()) st = SyncFd(fd, tmp);
  }
  ::close(fd);
  if (!st.ok()) {
    fs::remove(tmp, ec);
    return st;
  }
  return tmp;
}

Status LocalStore::Put(const std::string& key, std::string_view data) {
  MB_ASSIGN_OR_RETURN(fs::path p, PathFor(key));
  MB_ASSIGN_OR_RETURN(fs::path tmp, WriteTemp(p, data, nullptr));
  return RenameInto(tmp, p);
}

Status LocalStore::RenameInto(const fs::path& tmp, const fs::path& target) {
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    int err = errno;
    std::error_code ec;
    fs::remove(tmp, ec);
    return Unavailable(fmt::format("cannot write {}: {}", target.string(), ErrnoText(err)));
  }
  FsyncDir(target.parent_path());
  return Status::Ok();
}

Status LocalStore::PutIfAbsent(const std::string& key, std::string_view data) {
  MB_ASSIGN_OR_RETURN(fs::path p, PathFor(key));
  MB_ASSIGN_OR_RETURN(fs::path tmp, WriteTemp(p, data, nullptr));
  int rc = ::link(tmp.c_str(), p.c_str());
  int err = errno;
  std::error_code ec;
  fs::remove(tmp, ec);
  if (rc != 0) {
    if (err == EEXIST) {
      // The same rule as S3 (store.h): the exact bytes already there are this write.
      if (auto existing = Get(key); existing.ok() && *existing == data) return Status::Ok();
      return AlreadyExists(fmt::format("{} already exists in {}", key, Describe()));
    }
    return Unavailable(fmt::format("cannot create {}: {}", p.string(), ErrnoText(err)));
  }
  FsyncDir(p.parent_path());
  return Status::Ok();
}

Status LocalStore::PutFile(const std::string& key, const fs::path& file) {
  MB_ASSIGN_OR_RETURN(fs::path p, PathFor(key));
  MB_ASSIGN_OR_RETURN(fs::path tmp, WriteTemp(p, {}, &file));
  return RenameInto(tmp, p);
}

// In place: the tail is written after the current bytes and fsynced, under
// an exclusive flock(2) held from the ETag check to the end, so the cost is
// the tail's, not the file's (store.h). A write that fails is cut off again.
Status LocalStore::Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail) {
  MB_ASSIGN_OR_RETURN(fs::path p, PathFor(key));
  // O_NOFOLLOW: a symlink is not written through (the caller's rebuild
  // replaces it with a file).
  const int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound(fmt::format("{} not found in {}", key, Describe()));
    if (errno == ELOOP) return FailedPrecondition(fmt::format("{} in {} is a symlink, not extended", key, Describe()));
    return Unavailable(fmt::format("cannot open {}: {}", p.string(), ErrnoText(errno)));
  }
  if (::flock(fd, LOCK_EX) != 0) {
    const int err = errno;
    ::close(fd);
    return Unavailable(fmt::format("cannot lock {}: {}", p.string(), ErrnoText(err)));
  }
  // Checked under the lock: another appender that got it first changed it.
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return NotFound(fmt::format("{} not found in {}", key, Describe()));
  }
  if (EtagFor(st) != expected.etag) {
    ::close(fd);
    return FailedPrecondition(fmt::format("{} in {} was replaced by another writer", key, Describe()));
  }
  Status result = WriteAllAt(fd, tail, static_cast<uint64_t>(st.st_size), p);
  if (result.ok()) result = SyncFd(fd, p);
  if (!result.ok() && ::ftruncate(fd, st.st_size) == 0) (void)::fdatasync(fd);
  ::close(fd);  // releases the lock
  return result;
}

Status LocalStore::GetToFile(const std::string& key, const fs::path& file) {
  MB_ASSIGN_OR_RETURN(fs::path p, PathFor(key));
  if (!fs::is_regular_file(p)) return NotFound(fmt::format("{} not found in {}", key, Describe()));
  LocalStore dest(file.parent_path().empty() ? fs::path(".") : file.parent_path());
  MB_ASSIGN_OR_RETURN(fs::path tmp, dest.WriteTemp(file, {}, &p));
  return dest.RenameInto(tmp, file);
}

Result<std::optional<ObjectInfo>> LocalStore::Head(const std::string& key) {
  MB_ASSIGN_OR_RETURN(fs::path p, PathFor(key));
  struct stat st{};
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::optional<ObjectInfo>();
  return std::optional<ObjectInfo>(InfoFor(key, st));
}

Result<std::vector<ObjectInfo>> LocalStore::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return out;
  // Walk only the deepest folder the prefix names completely.
  fs::path start = root_;
  if (size_t slash = prefix.rfind('/'); slash != std::string::npos) {
    MB_RETURN_IF_ERROR(ValidateKey(prefix.substr(0, slash)));
    start = root_ / prefix.substr(0, slash);
  }
  if (!fs::is_directory(start, ec)) return out;
  fs::recursive_directory_iterator it(start, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) return Unavailable(fmt::format("cannot list {}: {}", start.string(), ec.message()));
  for (; it != end; it.increment(ec)) {
    if (ec) return Unavailable(fmt::format("cannot list {}: {}", start.string(), ec.message()));
    if (!it->is_regular_file(ec)) continue;
    std::string name = it->path().filename().string();
    if (name.find(kTempMarker) != std::string::npos) continue;
    std::string key = it->path().lexically_relative(root_).generic_string();
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    struct stat st{};
    if (::stat(it->path().c_str(), &st) != 0) continue;  // removed meanwhile
    out.push_back(InfoFor(std::move(key), st));
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status LocalStore::Delete(const std::string& key) {
  MB_ASSIGN_OR_RETURN(fs::path p, PathFor(key));
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
    return Unavailable(fmt::format("cannot delete {}: {}", p.string(), ErrnoText(errno)));
  }
  // Remove folders left empty, up to the root.
  std::error_code ec;
  for (fs::path dir = p.parent_path(); dir != root_ && dir.string().size() > root_.string().size();
       dir = dir.parent_path()) {
    if (!fs::is_empty(dir, ec) || ec) break;
    fs::remove(dir, ec);
  }
  return Status::Ok();
}

Result<CleanupReport> LocalStore::Cleanup(bool dry_run) {
  CleanupReport report;
  MB_ASSIGN_OR_RETURN(auto objects, List(""));
  for (const auto& o : objects) {
    report.keys.push_back(o.key);
    ++report.objects;
    if (!dry_run) MB_RETURN_IF_ERROR(Delete(o.key));
  }
  return report;
}

}  // namespace modelbay
