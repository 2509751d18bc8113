#include "core/posix_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>

#include <fmt/format.h>

#include "core/hash.h"

namespace modelbay {

std::string ErrnoText(int err) { return std::strerror(err); }

namespace {

// write(2) (no offset) or pwrite(2) at `offset` until all of `data` is
// written, retried on EINTR.
Status WriteLoop(int fd, std::string_view data, std::optional<uint64_t> offset, const std::filesystem::path& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = offset ? ::pwrite(fd, data.data() + off, data.size() - off, static_cast<off_t>(*offset + off))
                             : ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(fmt::format("cannot write {}: {}", path.string(), ErrnoText(errno)));
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path) {
  return WriteLoop(fd, data, std::nullopt, path);
}

Status WriteAllAt(int fd, std::string_view data, uint64_t offset, const std::filesystem::path& path) {
  return WriteLoop(fd, data, offset, path);
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

namespace {

// O_DIRECT needs offsets, lengths and the buffer's address aligned to the
// device's logical block (512 or 4096 bytes); 4096 serves both.
constexpr size_t kDirectAlign = 4096;
constexpr size_t kUncachedBlock = 1 << 20;

// Each thread's staging buffer, allocated on first use and kept (warm) until
// the thread ends. A second writer on the same thread allocates its own.
struct ThreadStage {
  char* buffer = nullptr;
  bool in_use = false;
  ~ThreadStage() { std::free(buffer); }
};
thread_local ThreadStage thread_stage;

char* AllocateStage() {
  void* p = std::aligned_alloc(kDirectAlign, kUncachedBlock);
  if (p == nullptr) throw std::bad_alloc();
  return static_cast<char*>(p);
}

bool SetDirect(int fd, bool on) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return false;
  const int want = on ? (flags | O_DIRECT) : (flags & ~O_DIRECT);
  return want == flags || ::fcntl(fd, F_SETFL, want) == 0;
}

}  // namespace

UncachedWriter::UncachedWriter(int fd, std::filesystem::path path, bool try_direct)
    : fd_(fd), path_(std::move(path)) {
  if (!thread_stage.in_use) {
    if (thread_stage.buffer == nullptr) thread_stage.buffer = AllocateStage();
    thread_stage.in_use = true;
    buffer_ = thread_stage.buffer;
  } else {
    buffer_ = AllocateStage();
    owns_buffer_ = true;
  }
  direct_ = try_direct && SetDirect(fd_, true);
}

UncachedWriter::~UncachedWriter() {
  if (owns_buffer_) {
    std::free(buffer_);
  } else {
    thread_stage.in_use = false;
  }
}

void UncachedWriter::StopDirect() {
  direct_ = false;
  SetDirect(fd_, false);
}

// Writes buffer_[0, bytes) at written_: one direct write of whole blocks;
// what the file system refuses (EINVAL) or leaves unwritten goes through
// WriteAllAt, buffered, and so do later flushes.
Status UncachedWriter::Flush(size_t bytes) {
  std::string_view rest(buffer_, bytes);
  if (direct_ && bytes % kDirectAlign == 0) {
    ssize_t n;
    do {
      n = ::pwrite(fd_, rest.data(), rest.size(), static_cast<off_t>(written_));
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EINVAL) {
      return Unavailable(fmt::format("cannot write {}: {}", path_.string(), ErrnoText(errno)));
    }
    if (n > 0) rest.remove_prefix(static_cast<size_t>(n));
  }
  if (!rest.empty()) {
    if (direct_) StopDirect();
    MB_RETURN_IF_ERROR(WriteAllAt(fd_, rest, written_ + (bytes - rest.size()), path_));
  }
  written_ += bytes;
  return Status::Ok();
}

Status UncachedWriter::Append(std::string_view data) {
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kUncachedBlock - staged_);
    std::memcpy(buffer_ + staged_, data.data(), n);
    staged_ += n;
    data.remove_prefix(n);
    if (staged_ == kUncachedBlock) {
      MB_RETURN_IF_ERROR(Flush(staged_));
      staged_ = 0;
    }
  }
  return Status::Ok();
}

Status UncachedWriter::Finish() {
  if (direct_) {  // the whole blocks direct, the rest buffered
    const size_t whole = staged_ / kDirectAlign * kDirectAlign;
    MB_RETURN_IF_ERROR(Flush(whole));
    std::memmove(buffer_, buffer_ + whole, staged_ - whole);
    staged_ -= whole;
    if (direct_) StopDirect();
  }
  MB_RETURN_IF_ERROR(Flush(staged_));
  staged_ = 0;
  return SyncFd(fd_, path_);
}

ScopedTempDir::ScopedTempDir(std::string_view prefix) {
  path_ = std::filesystem::temp_directory_path() / fmt::format("{}-{}", prefix, RandomHex(8));
  std::filesystem::create_directories(path_);
}

ScopedTempDir::~ScopedTempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Result<std::unique_ptr<OutputFile>> OutputFile::Open(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  using Ptr = std::unique_ptr<OutputFile>;
  if (path == "-") {
    std::fflush(stdout);  // what the program printed before comes first
    return Ptr(new OutputFile(1, false, path, path, fs::path()));
  }
  struct stat st {};
  fs::path target = path;
  if (::stat(path.c_str(), &st) == 0) {  // follows symlinks
    if (S_ISDIR(st.st_mode)) {
      return InvalidArgument(fmt::format("{} is a folder; give a file name", path.string()));
    }
    if (!S_ISREG(st.st_mode)) {
      // A FIFO, a character device, /dev/stdout: renaming over it would
      // replace it, so write through.
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return InvalidArgument(fmt::format("cannot write {}: {}", path.string(), ErrnoText(errno)));
      return Ptr(new OutputFile(fd, true, path, path, fs::path()));
    }
    std::error_code ec;
    fs::path resolved = fs::canonical(path, ec);  // a symlink to a regular file: replace its target
    if (!ec) target = resolved;
  }
  fs::path temp = target;
  temp += ".partial";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return InvalidArgument(fmt::format("cannot write {}: {}; check the folder exists and is writable",
                                       temp.string(), ErrnoText(errno)));
  }
  return Ptr(new OutputFile(fd, true, path, target, temp));
}

OutputFile::OutputFile(int fd, bool owns_fd, std::filesystem::path path, std::filesystem::path target,
                       std::filesystem::path temp)
    : fd_(fd), owns_fd_(owns_fd), path_(std::move(path)), target_(std::move(target)), temp_(std::move(temp)) {}

OutputFile::~OutputFile() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

Status OutputFile::Flush() {
  if (buffer_.empty()) return Status::Ok();
  Status s = WriteAll(fd_, buffer_, temp_.empty() ? path_ : temp_);
  buffer_.clear();
  return s;
}

Status OutputFile::Write(std::string_view data) {
  constexpr size_t kBufferBytes = size_t{1} << 20;
  if (buffer_.size() + data.size() > kBufferBytes) {
    MB_RETURN_IF_ERROR(Flush());
    if (data.size() >= kBufferBytes) return WriteAll(fd_, data, temp_.empty() ? path_ : temp_);
  }
  buffer_.append(data);
  return Status::Ok();
}

Status OutputFile::WriteFrom(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable(fmt::format("cannot read {}: {}", file.string(), ErrnoText(errno)));
  std::string chunk(size_t{1} << 20, '\0');
  Status s;
  while (s.ok()) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = Unavailable(fmt::format("cannot read {}: {}", file.string(), ErrnoText(errno)));
    if (n <= 0) break;
    s = Write(std::string_view(chunk.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return s;
}

Status OutputFile::Commit() {
  MB_RETURN_IF_ERROR(Flush());
  if (temp_.empty()) {
    committed_ = true;
    return Status::Ok();
  }
  MB_RETURN_IF_ERROR(SyncFd(fd_, temp_));
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    return Unavailable(fmt::format("cannot write {}: {}", path_.string(), ErrnoText(errno)));
  }
  committed_ = true;
  FsyncDir(target_.has_parent_path() ? target_.parent_path() : std::filesystem::path("."));
  return Status::Ok();
}

Status WriteOutputFile(const std::filesystem::path& path, std::string_view data) {
  MB_ASSIGN_OR_RETURN(auto out, OutputFile::Open(path));
  MB_RETURN_IF_ERROR(out->Write(data));
  return out->Commit();
}

}  // namespace modelbay
