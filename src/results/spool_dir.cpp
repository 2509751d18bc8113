#include "registry/registry.h"
#include "results/spool_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/hash.h"
#include "core/posix_file.h"
#include "core/strings.h"

namespace modelbay::results {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kLock = "LOCK";
constexpr std::string_view kSparePrefix = ".spare-";

bool WriterIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// "v12" -> 12.
std::optional<int> ParseVersionDir(std::string_view name) {
  if (name.empty() || name[0] != 'v') return std::nullopt;
  return ParseVersionNumber(name.substr(1));  // the registry's one parser
}

// The entries of `dir`; an error names the dir.
Result<std::vector<fs::directory_entry>> ListDir(const fs::path& dir) {
  std::vector<fs::directory_entry> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) out.push_back(*it);
  if (ec) return Unavailable(fmt::format("cannot read the spool dir {}: {}", dir.string(), ec.message()));
  return out;
}

// Opens and flocks `lock_path` without blocking: the fd, -1 when another
// process holds it (or, without `create`, the file is gone).
Result<int> LockFile(const fs::path& lock_path, bool create) {
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd < 0) {
    if (!create && (errno == ENOENT || errno == ENOTDIR)) return -1;
    return Unavailable(fmt::format("cannot open {}: {}", lock_path.string(), ErrnoText(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return -1;
    return Unavailable(fmt::format("cannot lock {}: {}", lock_path.string(), ErrnoText(err)));
  }
  // An adopter that finished removes the lock file while holding it; a lock
  // on a removed file protects nothing.
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_nlink == 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

enum class SegmentFate { kShip, kRemoved, kQuarantined };

// Repairs one segment for shipping: cuts a torn tail, removes a segment
// without rows, quarantines one that cannot be read.
Result<SegmentFate> RecoverSegment(const fs::path& file, const fs::path& quarantine, uint64_t& rows) {
  auto contents = ReadSegment(file);
  if (!contents.ok()) {
    MB_RETURN_IF_ERROR(Quarantine(quarantine, file, contents.status().message() + "; its rows are not shipped"));
    return SegmentFate::kQuarantined;
  }
  if (contents->rows == 0) {
    if (contents->skipped_bytes > 0) {
      MB_RETURN_IF_ERROR(Quarantine(quarantine, file, "every row record is damaged; nothing to ship"));
      return SegmentFate::kQuarantined;
    }
    std::error_code ec;
    if (!fs::remove(file, ec) && ec) {
      // Harmless to leave: it has no rows. Say what failed, and go on.
      spdlog::warn("spool: cannot remove {} (no rows): {}", file.string(), ec.message());
    } else {
      spdlog::info("spool: removed {} (no rows)", file.string());
    }
    return SegmentFate::kRemoved;
  }
  if (contents->skipped_bytes > 0) {
    spdlog::error("spool: {} has {} damaged bytes from offset {}; keeping its {} valid rows (the file "
                  "goes to quarantine once they are shipped)",
                  file.string(), contents->skipped_bytes, contents->first_skipped_at, contents->rows);
  }
  if (contents->torn) {
    spdlog::warn("spool: {} ends in an incomplete record (a crash during a write); keeping its {} "
                 "complete rows",
                 file.string(), contents->rows);
  }
  // Cut after the last whole record: a torn tail, or the unwritten part of a
  // preallocated (--fsync always) segment.
  if ((contents->torn || contents->zero_tail) &&
      ::truncate(file.c_str(), static_cast<off_t>(contents->valid_bytes)) != 0) {
    return Unavailable(fmt::format("cannot repair spool file {}: {}", file.string(), ErrnoText(errno)));
  }
  rows = contents->rows;
  return SegmentFate::kShip;
}

}  // namespace

fs::path WritersDir(const fs::path& root) { return root / "writers"; }
fs::path QuarantineDir(const fs::path& root) { return root / "quarantine"; }

Status CheckWriterId(std::string_view id) {
  if (id.empty() || id.size() > 64 || !std::all_of(id.begin(), id.end(), WriterIdChar)) {
    return InvalidArgument(
        fmt::format("writer id '{}' is not valid: use 1-64 characters from A-Z a-z 0-9 . _ -", id));
  }
  return Status::Ok();
}

std::string NewWriterId() {
  const std::string host = HostName();
  std::string id;
  for (char c : host) {
    if (id.size() >= 40) break;
    id += WriterIdChar(c) ? c : '_';
  }
  return id + (id.empty() ? "" : "-") + RandomHex(6);
}

Result<std::unique_ptr<WriterDir>> WriterDir::Claim(const fs::path& root, const std::string& writer_id) {
  MB_RETURN_IF_ERROR(CheckWriterId(writer_id));
  const fs::path writers = WritersDir(root);
  const fs::path dir = writers / writer_id;
  std::error_code ec;
  fs::create_directories(writers, ec);
  if (ec) return Unavailable(fmt::format("cannot create the spool dir {}: {}", writers.string(), ec.message()));
  // A new dir appears under its final name only once locked, so that no
  // adopter ever mistakes it for an orphan.
  const fs::path fresh = writers / fmt::format(".new-{}-{}", writer_id, RandomHex(4));
  fs::create_directory(fresh, ec);
  if (ec) return Unavailable(fmt::format("cannot create the spool dir {}: {}", fresh.string(), ec.message()));
  MB_ASSIGN_OR_RETURN(int fd, LockFile(fresh / kLock, /*create=*/true));
  if (fd >= 0 && ::rename(fresh.c_str(), dir.c_str()) == 0) {
    FsyncDir(writers);
    return std::unique_ptr<WriterDir>(new WriterDir(dir, fd, false));
  }
  // The writer id was used before (a restart with a fixed id): take it over
  // if its process is gone.
  if (fd >= 0) ::close(fd);
  fs::remove_all(fresh, ec);
  MB_ASSIGN_OR_RETURN(fd, LockFile(dir / kLock, /*create=*/true));
  if (fd < 0) {
    return FailedPrecondition(fmt::format(
        "the spool dir {} is in use by another running modelbay process with writer id '{}'; give each "
        "process its own writer id",
        dir.string(), writer_id));
  }
  return std::unique_ptr<WriterDir>(new WriterDir(dir, fd, false));
}

Result<std::unique_ptr<WriterDir>> WriterDir::TryAdopt(const fs::path& dir, bool legacy) {
  MB_ASSIGN_OR_RETURN(int fd, LockFile(dir / kLock, /*create=*/legacy));
  if (fd < 0) return std::unique_ptr<WriterDir>();
  return std::unique_ptr<WriterDir>(new WriterDir(dir, fd, legacy));
}

WriterDir::~WriterDir() { ::close(lock_fd_); }

fs::path WriterDir::SegmentPath(int version, const SegmentName& name) const {
  return path_ / fmt::format("v{}", version) / FormatSegmentName(name);
}

fs::path WriterDir::SparePath(uint64_t n) const { return path_ / fmt::format("{}{}", kSparePrefix, n); }

void WriterDir::RemoveSpares() const {
  auto entries = ListDir(path_);
  if (!entries.ok()) return;
  std::error_code ec;
  for (const auto& e : *entries) {
    if (e.path().filename().string().starts_with(kSparePrefix)) fs::remove(e.path(), ec);
  }
}

Result<std::vector<SpooledSegment>> WriterDir::Recover(const fs::path& quarantine) {
  std::vector<SpooledSegment> found;
  MB_ASSIGN_OR_RETURN(auto entries, ListDir(path_));
  for (const auto& dir : entries) {
    auto version = ParseVersionDir(dir.path().filename().string());
    std::error_code ec;
    if (!version || !dir.is_directory(ec)) continue;
    MB_ASSIGN_OR_RETURN(auto files, ListDir(dir.path()));
    for (const auto& file : files) {
      auto name = ParseSegmentName(file.path().filename().string());
      if (!name.ok()) continue;
      uint64_t rows = 0;
      MB_ASSIGN_OR_RETURN(SegmentFate fate, RecoverSegment(file.path(), quarantine, rows));
      if (fate == SegmentFate::kShip) found.push_back({*version, file.path(), *std::move(name), rows});
    }
  }
  std::sort(found.begin(), found.end(), [](const SpooledSegment& a, const SpooledSegment& b) {
    return std::tie(a.name.run_id, a.name.first_seq, a.version) <
           std::tie(b.name.run_id, b.name.first_seq, b.version);
  });
  return found;
}

void WriterDir::RemoveShipped() {
  auto entries = ListDir(path_);
  if (!entries.ok()) return;
  std::error_code ec;
  for (const auto& e : *entries) {
    if (ParseVersionDir(e.path().filename().string())) fs::remove(e.path(), ec);  // only if empty
  }
  RemoveSpares();
  if (legacy_) return;
  // The lock file goes while still locked: a later adopter opening it finds
  // it gone, or finds it unlinked after its flock (LockFile checks).
  ::unlink((path_ / kLock).c_str());
  if (!fs::remove(path_, ec) && ec) {
    spdlog::warn("spool: adopted writer dir {} is shipped but not empty; left in place", path_.string());
  }
  FsyncDir(path_.parent_path());
}

std::vector<OrphanCandidate> OrphanCandidates(const fs::path& root, const fs::path& own) {
  std::vector<OrphanCandidate> out;
  std::error_code ec;
  for (fs::directory_iterator it(WritersDir(root), ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('.') || it->path() == own || !it->is_directory(ec)) continue;
    out.push_back({it->path(), false});
  }
  ec.clear();
  for (fs::directory_iterator it(root, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (ParseVersionDir(it->path().filename().string())) {
      out.push_back({root, true});
      break;
    }
  }
  return out;
}

Status Quarantine(const fs::path& quarantine, const fs::path& file, std::string_view why) {
  std::error_code ec;
  fs::create_directories(quarantine, ec);
  if (ec) {
    return Unavailable(fmt::format("cannot create the quarantine dir {}: {}", quarantine.string(), ec.message()));
  }
  // <writer>-v<N>-<file>: where it came from stays readable.
  const std::string base = fmt::format("{}-{}-{}", file.parent_path().parent_path().filename().string(),
                                       file.parent_path().filename().string(), file.filename().string());
  fs::path target = quarantine / base;
  for (int i = 1; fs::exists(target, ec); ++i) target = quarantine / fmt::format("{}.{}", base, i);
  fs::rename(file, target, ec);
  if (ec) {
    return Unavailable(fmt::format("cannot move the unreadable spool segment {} to {}: {}", file.string(),
                                   target.string(), ec.message()));
  }
  FsyncDir(quarantine);
  FsyncDir(file.parent_path());
  spdlog::error("spool: moved {} to {}: {}; inspect it and remove it when done", file.string(),
                target.string(), why);
  return Status::Ok();
}

}  // namespace modelbay::results
