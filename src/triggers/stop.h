// Cooperative stopping for long-running loops (watch, worker): SIGTERM or
// SIGINT requests a stop; a second signal asks to abandon work in progress.
// Signals are taken by a dedicated thread with sigwait, so waking waiters
// is ordinary (not async-signal) code.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace modelbay {

class StopSignal {
 public:
  // Requests a stop (first call) or abandonment (later calls).
  void Request();
  bool stop_requested() const { return requests_.load() >= 1; }
  bool abandon_requested() const { return requests_.load() >= 2; }
  // Sleeps up to `d`; returns true (early) when a stop is requested.
  bool WaitFor(std::chrono::milliseconds d);

 private:
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

// Blocks SIGTERM/SIGINT in the calling thread (call it before starting other
// threads, so they inherit the mask) and starts a detached thread that
// forwards them to `stop`. `stop` must outlive the process's use of it.
void ForwardTerminationSignals(StopSignal& stop);

}  // namespace modelbay
