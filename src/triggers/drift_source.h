// Where `modelbay watch --on-drift` reads a served version's drift: the
// running server's GET /models/{v}/drift (the live window), over HTTP with
// the API's bearer token. Why the server and not the shipped log
// (monitor/offline.h): the server already keeps the live window's figures,
// so a poll is two small GETs whatever the size of the log, and it is the
// window the server's own gauges show; reading the log would download and
// bin every logged row on every poll.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/status.h"

namespace modelbay {

// One reading of the served version's drift.
struct DriftReading {
  int version = 0;            // the version the server answers with by default (0: none)
  std::optional<double> psi;  // the largest PSI over its features and output; nullopt: no figure yet
  std::string where;          // the feature (or "(output)") with that PSI
  std::string problem;        // why there is no figure ("no baseline", ...), for the log
};
using DriftSource = std::function<Result<DriftReading>()>;

// Reads GET <url>/models (its "default"), then GET <url>/models/<v>/drift,
// with `Authorization: Bearer <token>` when `token` is set. Unavailable when
// the server does not answer; InvalidArgument when it answers something that
// is not a modelbay drift document.
DriftSource HttpDriftSource(std::string url, std::string token);

}  // namespace modelbay
