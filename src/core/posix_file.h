// Small POSIX file helpers shared by the local store, the prediction-log
// spool and every command that writes a file the user named (--out): full
// writes that retry on EINTR, fsync of files and folders, errno text, a
// self-removing temp folder and OutputFile. Errors are Unavailable (or
// InvalidArgument for an output path that cannot be used) and name the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace modelbay {

std::string ErrnoText(int err);
// Writes all of `data` to `fd`; `path` names the file in errors.
Status WriteAll(int fd, std::string_view data, const std::filesystem::path& path);
// Writes all of `data` to `fd` at `offset` (pwrite(2)); `path` names the file in errors.
Status WriteAllAt(int fd, std::string_view data, uint64_t offset, const std::filesystem::path& path);
// fdatasync(2); `path` names the file in errors.
Status SyncFd(int fd, const std::filesystem::path& path);
// Makes a rename or create inside `dir` durable (best effort).
void FsyncDir(const std::filesystem::path& dir);

// Writes a large file once without filling the page cache: O_DIRECT writes
// through a 1 MiB aligned buffer that each thread keeps and reuses, so no
// byte is copied into fresh cache pages (on this VM that copy was most of the
// prediction log shipper's CPU: docs/prediction-log.md). Where the file system
// refuses O_DIRECT (fcntl or a write fails with EINVAL) the writer goes on
// with plain buffered writes: the same bytes land, through the cache. The
// last partial block is always written buffered. Finish must be called; a
// writer dropped without it leaves a partial file (callers write temp files).
// Not thread-safe: used on the thread that made it; the fd is borrowed (a
// new file, opened for writing).
class UncachedWriter {
 public:
  // try_direct false: buffered writes only (tests; file systems known to
  // refuse O_DIRECT).
  UncachedWriter(int fd, std::filesystem::path path, bool try_direct = true);
  ~UncachedWriter();
  UncachedWriter(const UncachedWriter&) = delete;
  UncachedWriter& operator=(const UncachedWriter&) = delete;

  Status Append(std::string_view data);
  // Writes what is staged, then fdatasync(2).
  Status Finish();
  // True while writes bypass the cache (false after a fallback).
  bool direct() const { return direct_; }

 private:
  Status Flush(size_t bytes);  // writes buffer_[0, bytes) at written_
  void StopDirect();

  int fd_;
  std::filesystem::path path_;
  char* buffer_;
  bool owns_buffer_ = false;
  size_t staged_ = 0;
  uint64_t written_ = 0;
  bool direct_ = false;
};

// Objects from memory at least this large go through UncachedWriter (local store).
inline constexpr size_t kUncachedWriteMin = 1 << 20;

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

// The one way a command writes a file the user named (`--out PATH`, `store
// get KEY PATH`):
// - "-" is standard output (stdio's buffer is flushed first; never closed);
// - an existing non-regular file (a FIFO, a character device, a terminal,
//   /dev/stdout or any symlink that leads to one) is opened and written
//   through: it is never renamed over, so it survives;
// - anything else (a new name, a regular file, a symlink to a regular file)
//   is written to `<target>.partial` beside the target and renamed over it by
//   Commit, so readers see the old file or the whole new one. A symlink to a
//   regular file keeps being a symlink: its target is replaced.
// Destroying an uncommitted OutputFile removes its temp file. A folder is
// refused. Writes are buffered (1 MiB); Commit flushes.
// Not thread-safe: one writer.
class OutputFile {
 public:
  static Result<std::unique_ptr<OutputFile>> Open(const std::filesystem::path& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  Status Write(std::string_view data);
  // Writes the whole content of a local file.
  Status WriteFrom(const std::filesystem::path& file);
  // Flushes; for a temp file also fsyncs and renames it over the target.
  Status Commit();
  // True when the output is written to a temp file renamed by Commit.
  bool atomic() const { return !temp_.empty(); }
  bool is_stdout() const { return fd_ == 1 && !owns_fd_; }
  // The name the user gave ("-" for stdout).
  const std::filesystem::path& path() const { return path_; }

 private:
  OutputFile(int fd, bool owns_fd, std::filesystem::path path, std::filesystem::path target,
             std::filesystem::path temp);
  Status Flush();

  int fd_;
  bool owns_fd_;
  std::filesystem::path path_;    // as given
  std::filesystem::path target_;  // what Commit renames onto (symlinks resolved)
  std::filesystem::path temp_;    // empty when written through
  std::string buffer_;
  bool committed_ = false;
};

// OutputFile::Open + Write + Commit.
Status WriteOutputFile(const std::filesystem::path& path, std::string_view data);

}  // namespace modelbay
