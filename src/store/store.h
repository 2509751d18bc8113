// The one storage interface every subsystem uses. Two backends implement it:
// a local folder (local_store.h) and S3 or any S3-compatible server
// (s3_store.h). Keys are relative to the store's root (bucket prefix or
// folder), use '/' separators, and never start with '/' or contain "..".
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace modelbay {

struct ObjectInfo {
  std::string key;               // relative to the store root
  uint64_t size = 0;
  std::string etag;              // changes when the content changes
  int64_t last_modified_ms = 0;  // Unix epoch milliseconds
};

struct CleanupReport {
  uint64_t objects = 0;        // current objects (local files)
  uint64_t old_versions = 0;   // noncurrent object versions (S3 versioning)
  uint64_t delete_markers = 0; // delete markers (S3 versioning)
  std::vector<std::string> keys;  // distinct keys affected, sorted
};

// The smallest part of an S3 multipart upload other than the last (5 MiB).
inline constexpr uint64_t kMinCopyPartBytes = 5ull << 20;

// Thread-safety: every method of both backends may be called from several
// threads at once on one instance (the server's io threads, the log shipper
// and the cache refresher share one per store); each call is independent, and
// consistency across processes comes from PutIfAbsent and the commit markers,
// never from in-process locking. Instances are shared through shared_ptr.
class Store {
 public:
  virtual ~Store() = default;

  // "s3://bucket/prefix" or the folder path. Never contains credentials.
  virtual std::string Describe() const = 0;

  // NotFound when the key does not exist.
  virtual Result<std::string> Get(const std::string& key) = 0;
  // Up to `length` bytes from `offset` (fewer at the end of the object, none
  // past it). NotFound when the key does not exist. The default reads the
  // whole object; both backends override it to read only the range.
  virtual Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length);
  // Writes the whole object atomically (readers see the old or the new
  // content, never a part). Replaces an existing object.
  virtual Status Put(const std::string& key, std::string_view data) = 0;
  // Like Put, but AlreadyExists when the key exists with other content (S3
  // If-None-Match: *, local exclusive create). Exactly one of several racing
  // writers with different content wins. Idempotent, so it survives a lossy
  // network: a key that already holds exactly `data` counts as this call's
  // own write (OK) — on S3 a request can be applied and its answer lost, and
  // the retry (ours or libcurl's own) then finds the key taken. Racing
  // writers must therefore send content unique to each (a random token);
  // two writers with identical bytes would both see OK.
  virtual Status PutIfAbsent(const std::string& key, std::string_view data) = 0;
  // Uploads a local file (multipart on S3 when large). Atomic like Put.
  virtual Status PutFile(const std::string& key, const std::filesystem::path& file) = 0;
  // Replaces `key` with its current content followed by `tail`. On S3 and
  // by default atomically like Put (a reader sees the old or the new object
  // whole); the local store appends in place (see below). `expected` is
  // the object as the caller last saw it (Head): FailedPrecondition when the
  // current object is another one (its ETag differs: someone replaced it),
  // NotFound when it is gone. Cost: S3 extends an object of at least
  // kMinCopyPartBytes server-side (a multipart upload whose first parts are
  // UploadPartCopy of the current object, conditional on its ETag), so its
  // bytes are never downloaded; a smaller one is read and rewritten. The
  // local store writes `tail` after the file's bytes in place and fsyncs it,
  // under an exclusive flock(2) held from the ETag check on: the cost is the
  // tail's, and a reader that opens the file meanwhile may see the tail
  // partly written (a failed write is cut off again). This default reads
  // and rewrites the object.
  virtual Status Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail);
  // Downloads to a local file (written to a temp name and renamed).
  virtual Status GetToFile(const std::string& key, const std::filesystem::path& file) = 0;
  // nullopt when the key does not exist.
  virtual Result<std::optional<ObjectInfo>> Head(const std::string& key) = 0;
  // Every object whose key starts with `prefix` (recursive), sorted by key.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // Removes the key; OK when it does not exist.
  virtual Status Delete(const std::string& key) = 0;
  // Removes everything under the store root, including every old version
  // and delete marker of a versioned bucket. With dry_run, only reports.
  virtual Result<CleanupReport> Cleanup(bool dry_run) = 0;
};

// Checks a key: non-empty, relative, no "." or ".." segments, no NUL/control
// characters, at most 1024 bytes.
Status ValidateKey(std::string_view key);

// Opens the backend for a location. S3 credentials are resolved lazily (on
// the first request), so opening never touches the network.
Result<std::shared_ptr<Store>> OpenStore(const StoreLocation& location, const Config& config);

}  // namespace modelbay
