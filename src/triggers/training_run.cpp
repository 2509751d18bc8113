#include "triggers/training_run.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

namespace modelbay {
namespace {

struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<TrainOutcome>> result;
};

}  // namespace

Result<TrainOutcome> RunTraining(std::function<Result<TrainOutcome>()> train,
                                 const std::function<void()>& heartbeat, StopSignal& stop,
                                 const TrainingRunOptions& options) {
  auto shared = std::make_shared<Shared>();
  std::thread worker([shared, train = std::move(train)] {
    Result<TrainOutcome> r = Internal("training did not run");
    try {
      r = train();
    } catch (const std::exception& e) {
      r = Internal(std::string("training failed with an exception: ") + e.what());
    }
    {
      std::lock_guard<std::mutex> lock(shared->mu);
      shared->result.emplace(std::move(r));
    }
    shared->cv.notify_all();
  });

  const auto tick = std::chrono::milliseconds(200);
  auto next_heartbeat = std::chrono::steady_clock::now() + options.heartbeat_every;
  std::optional<std::chrono::steady_clock::time_point> give_up;
  std::unique_lock<std::mutex> lock(shared->mu);
  while (!shared->result) {
    shared->cv.wait_for(lock, tick, [&] { return shared->result.has_value(); });
    if (shared->result) break;
    const auto now = std::chrono::steady_clock::now();
    if (stop.stop_requested() && !give_up) {
      give_up = now + options.grace;
      spdlog::info("waiting up to {} s for the current training to finish",
                   std::chrono::duration_cast<std::chrono::seconds>(options.grace).count());
    }
    if (give_up && (now >= *give_up || stop.abandon_requested())) {
      lock.unlock();
      worker.detach();
      spdlog::warn("abandoning the current training; its version stays invisible "
                   "(no commit marker) and will not be served");
      return Cancelled("training abandoned on shutdown");
    }
    if (now >= next_heartbeat) {
      lock.unlock();
      heartbeat();
      lock.lock();
      next_heartbeat = now + options.heartbeat_every;
    }
  }
  Result<TrainOutcome> result = std::move(*shared->result);
  lock.unlock();
  worker.join();
  return result;
}

}  // namespace modelbay
