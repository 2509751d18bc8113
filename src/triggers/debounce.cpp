#include "triggers/debounce.h"

namespace modelbay {

bool Debouncer::Observe(const std::string& change_id, TimePoint now) {
  if (!pending_ || pending_->change_id != change_id) {
    pending_ = Pending{change_id, now};
  }
  return now - pending_->first_seen >= quiet_;
}

std::chrono::milliseconds Debouncer::Remaining(TimePoint now) const {
  if (!pending_) return std::chrono::milliseconds(0);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(pending_->first_seen + quiet_ - now);
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace modelbay
