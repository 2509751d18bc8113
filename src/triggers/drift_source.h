// Where `modelbay watch --on-drift` and `modelbay worker --on-drift` read a
// served version's drift (and when it counts as sustained: DriftGate): the
// running server's GET /models/{v}/drift (the live window), over HTTP with
// the API's bearer token. Why the server and not the shipped log
// (monitor/offline.h): the server already keeps the live window's figures,
// so a poll is two small GETs whatever the size of the log, and it is the
// window the server's own gauges show; reading the log would download and
// bin every logged row on every poll.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "core/status.h"
#include "triggers/debounce.h"

namespace modelbay {

// One reading of the served version's drift.
struct DriftReading {
  int version = 0;            // the version the server answers with by default (0: none)
  std::optional<double> psi;  // the largest PSI over its features and output; nullopt: no figure yet
  std::string where;          // the feature (or "(output)") with that PSI
  std::string problem;        // why there is no figure ("no baseline", ...), for the log
};
using DriftSource = std::function<Result<DriftReading>()>;

// Reads GET <url>/models (the model's "default" version), then
// GET <url>/models/<v>/drift, with `Authorization: Bearer <token>` when
// `token` is set. `model` is a parsed model name (registry/model_name.h):
// "" reads the unnamed model, a name reads that model's (?model=NAME).
// Unavailable when the server does not answer; InvalidArgument when it
// answers something that is not a modelbay drift document.
DriftSource HttpDriftSource(std::string url, std::string token, std::string model = "");

// --on-drift's debounce, one for `watch` and `worker`: a reading above the
// threshold starts the wait, one at or below it (or without a figure)
// resets it, so a brief spike never counts; the drift is sustained once it
// has stayed above for `debounce` on the same served version. Logs each
// crossing of the threshold. Not thread-safe (one trigger loop owns it).
class DriftGate {
 public:
  DriftGate(double threshold, DriftSource source, std::chrono::milliseconds debounce)
      : threshold_(threshold), source_(std::move(source)), debounce_(debounce), debouncer_(debounce) {}

  struct Observation {
    DriftReading reading;
    bool sustained = false;  // above the threshold for the debounce period
  };
  // Reads the drift now (the source's errors are returned).
  Result<Observation> Observe(Debouncer::TimePoint now);
  // Starts the wait afresh (after a training).
  void Reset() { debouncer_.Reset(); }
  double threshold() const { return threshold_; }

 private:
  const double threshold_;
  const DriftSource source_;
  const std::chrono::milliseconds debounce_;
  Debouncer debouncer_;  // keyed by the served version
  bool above_ = false;   // the last reading was above the threshold (for logging crossings)
};

}  // namespace modelbay
