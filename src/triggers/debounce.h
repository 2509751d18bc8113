// Debouncing: a change is acted on only once it has stayed the same for a
// quiet period, so a batch of uploads (or a file still being written by a
// tool that does not write atomically) settles before a training starts.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace modelbay {

class Debouncer {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  explicit Debouncer(std::chrono::milliseconds quiet) : quiet_(quiet) {}

  // Records that the wanted state is `change_id` at `now`. Returns true when
  // that state has been observed unchanged for at least the quiet period.
  bool Observe(const std::string& change_id, TimePoint now);
  // How long until `change_id` settles (zero when settled or unknown).
  std::chrono::milliseconds Remaining(TimePoint now) const;
  // Forgets the pending change (nothing to do, or it was handled).
  void Reset() { pending_.reset(); }

 private:
  struct Pending {
    std::string change_id;
    TimePoint first_seen;
  };
  std::chrono::milliseconds quiet_;
  std::optional<Pending> pending_;
};

}  // namespace modelbay
