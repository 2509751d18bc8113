// Work an event-loop thread puts off to the end of its current turn, so the
// requests that became ready together share one write: the server's io
// threads batch their access-log lines and (with --fsync never) their
// prediction-log appends this way.
//
// An io thread installs its EndOfTurn for as long as it runs its loop
// (Install); code below the transport asks Current() and, when there is
// one, stages its work and calls Schedule once per batch. A thread with no
// loop (a batch job, the CLI, a test) has none: Current() is null and the
// caller does the work at once.
//
// Thread-safety: Current() and Schedule are per thread; Schedule must be
// called on the thread that installed the EndOfTurn, and `fn` runs there,
// after the handlers that were ready when it was called.
#pragma once

#include <functional>

namespace modelbay {

class EndOfTurn {
 public:
  virtual ~EndOfTurn() = default;
  // Runs `fn` on this thread once the handlers ready now have run (or, if
  // the loop stops first, when the thread leaves its loop).
  virtual void Schedule(std::function<void()> fn) = 0;

  // This thread's, or nullptr.
  static EndOfTurn* Current();
  // Makes `turn` this thread's (nullptr: none).
  static void Install(EndOfTurn* turn);

  // For its scope this thread has none: a caller that blocks until its own
  // work is done (a synchronous log append) must not have that work put off
  // to the end of the turn it is blocking.
  class Suspended {
   public:
    Suspended() : saved_(Current()) { Install(nullptr); }
    ~Suspended() { Install(saved_); }
    Suspended(const Suspended&) = delete;
    Suspended& operator=(const Suspended&) = delete;

   private:
    EndOfTurn* saved_;
  };
};

}  // namespace modelbay
