#include "triggers/stop.h"

#include <csignal>
#include <thread>

#include <spdlog/spdlog.h>

namespace modelbay {

void StopSignal::Request() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.fetch_add(1);
  }
  cv_.notify_all();
}

bool StopSignal::WaitFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, d, [this] { return requests_.load() >= 1; });
}

void ForwardTerminationSignals(StopSignal& stop) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, &stop] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      spdlog::info("received {}; {}", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                   stop.stop_requested() ? "abandoning the work in progress"
                                         : "stopping after the current step");
      stop.Request();
    }
  }).detach();
}

}  // namespace modelbay
