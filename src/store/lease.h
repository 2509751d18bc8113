// Leases in a store, so that several processes never do the same exclusive
// work at once: two watchers (or workers) training the same change in the
// model store (src/triggers), or two servers updating the same
// results_<N>.csv in the results store (src/results/results_file.h). A
// lease is an object
//
//   leases/<name>.<attempt>.json   {"owner", "change", "attempt", "expires_ms", ...}
//
// (`name` is a change id or "results_<N>"; the JSON field keeps the name
// "change" for leases written by earlier releases) created with
// PutIfAbsent, so exactly one of several racing takers creates a given
// attempt. The holder renews it (rewrites its own attempt object with a
// later expiry) while it works. When the newest attempt has expired (its
// holder died), a taker creates attempt + 1 with PutIfAbsent: again exactly
// one taker wins, so two takers can never both win a takeover. A holder
// that finds a higher attempt when renewing has lost the lease and stops.
// Releasing deletes the name's lease objects.
//
// A lease only prevents duplicate *work*; each user re-checks its own
// state after taking it (the watcher: whether a registered version already
// covers the change; the results file: its checkpoint).
//
// Thread-safety: a LeaseManager holds no mutable state; concurrent calls
// for different names are fine, calls for one name are for one thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "store/store.h"

namespace modelbay {

struct Lease {
  std::string change_id;  // the lease name (a change id, or "results_<N>")
  int attempt = 0;
  std::string key;
  int64_t expires_ms = 0;
};

class LeaseManager {
 public:
  LeaseManager(std::shared_ptr<Store> store, std::string owner, Clock clock,
               std::chrono::milliseconds ttl);

  const std::string& owner() const { return owner_; }

  // The lease for `change_id`, or nullopt when another owner holds a live
  // one (or won the race to create or take it over).
  Result<std::optional<Lease>> TryAcquire(const std::string& change_id);
  // Extends the lease by the TTL. FailedPrecondition when another owner
  // has taken it over meanwhile.
  Status Renew(Lease& lease);
  // Deletes the change's lease objects.
  Status Release(const Lease& lease);

  static std::string KeyFor(const std::string& change_id, int attempt);

 private:
  struct Newest {
    int attempt = -1;  // -1: no lease object
    std::string owner;
    int64_t expires_ms = 0;
  };
  Result<Newest> ReadNewest(const std::string& change_id);
  std::string Body(const std::string& change_id, int attempt, int64_t expires_ms) const;

  std::shared_ptr<Store> store_;
  std::string owner_;
  Clock clock_;
  std::chrono::milliseconds ttl_;
};

// "host:pid:random", unique per process.
std::string DefaultLeaseOwner();

}  // namespace modelbay
