// Ownership of a spool root that several processes may share (one server
// per ECS task, all on one EFS volume; or `serve` and `predict` on one host).
//
// Layout:
//   <root>/writers/<writer_id>/LOCK                    flock'ed while its process lives
//   <root>/writers/<writer_id>/v<N>/<run>-<first>.seg  segments (segment.h)
//   <root>/writers/<writer_id>/.spare-<n>              zeros, ready to become a segment
//                                                      (--fsync always; group_commit.h)
//   <root>/quarantine/<writer>-v<N>-<file>             segments that cannot be shipped,
//                                                      kept for a person (never deleted)
//   <root>/LOCK, <root>/v<N>/...                       the layout before writer dirs
//
// Each process writes only to its own writer dir. A writer dir whose LOCK is
// free belongs to a process that died (or was replaced): an orphan. Any
// process may adopt an orphan by taking its flock (so exactly one does),
// ship its segments and then remove it. Shipping is idempotent (object keys
// come from the writer id stored in each segment and its record range), so
// an adopter that dies halfway and a second adopter re-shipping the same
// segment create nothing twice.
//
// Thread-safety: a WriterDir is used by one thread at a time, but its path
// accessors (path, SegmentPath, SparePath) may be called from any. The free
// functions are thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "results/segment.h"

namespace modelbay::results {

// A segment on disk with rows, ready to be shipped.
struct SpooledSegment {
  int version = 0;
  std::filesystem::path path;
  SegmentName name;
  uint64_t rows = 0;
};

class WriterDir {
 public:
  // Creates (or reopens) <root>/writers/<writer_id> and locks it.
  // FailedPrecondition when a live process holds that writer id.
  static Result<std::unique_ptr<WriterDir>> Claim(const std::filesystem::path& root,
                                                  const std::string& writer_id);
  // Locks the orphan `dir` (a writer dir, or with `legacy` the spool root of
  // the old layout). nullptr when a live process holds it or it is gone.
  static Result<std::unique_ptr<WriterDir>> TryAdopt(const std::filesystem::path& dir, bool legacy);
  ~WriterDir();  // releases the lock
  WriterDir(const WriterDir&) = delete;
  WriterDir& operator=(const WriterDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path SegmentPath(int version, const SegmentName& name) const;
  // A spare file of zeros (`.spare-<n>`; while being filled, with
  // `.partial` after it), and the removal of every one there is.
  std::filesystem::path SparePath(uint64_t n) const;
  void RemoveSpares() const;

  // Every segment with rows, oldest first. Cuts off torn tails, removes
  // segments without rows, moves unreadable segments to `quarantine`. An
  // error names the directory or file it could not read or repair.
  Result<std::vector<SpooledSegment>> Recover(const std::filesystem::path& quarantine);
  // Removes an adopted orphan once its segments are shipped: empty version
  // dirs and spares, then (not for the legacy root) the lock file and the dir itself.
  void RemoveShipped();

 private:
  WriterDir(std::filesystem::path path, int lock_fd, bool legacy)
      : path_(std::move(path)), lock_fd_(lock_fd), legacy_(legacy) {}

  const std::filesystem::path path_;
  const int lock_fd_;
  const bool legacy_;
};

std::filesystem::path WritersDir(const std::filesystem::path& root);
std::filesystem::path QuarantineDir(const std::filesystem::path& root);

struct OrphanCandidate {
  std::filesystem::path dir;
  bool legacy = false;
};
// Writer dirs under `root` other than `own` (live ones included: TryAdopt
// tells them apart), and the root itself when it holds old-layout segments.
std::vector<OrphanCandidate> OrphanCandidates(const std::filesystem::path& root,
                                              const std::filesystem::path& own);

// Moves `file` into `quarantine` under a name that keeps where it came from.
Status Quarantine(const std::filesystem::path& quarantine, const std::filesystem::path& file,
                  std::string_view why);

// A fresh writer id: the host name and a random suffix.
std::string NewWriterId();
// InvalidArgument unless 1-64 characters of A-Z a-z 0-9 . _ -.
Status CheckWriterId(std::string_view id);

}  // namespace modelbay::results
