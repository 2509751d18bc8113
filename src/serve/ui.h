// The dashboard of `modelbay serve` (issue 11 §5, docs/monitoring.md
// "Dashboard"): GET /ui serves a page whose script (GET /ui/app.js) draws
// SVG charts from the JSON routes of the API, polling them every few
// seconds. The page's files live under src/serve/ui/ and are compiled into
// the binary (cmake/embed_files.cmake); nothing is read from disk at run time.
//
// Auth: the page's files hold no data and are served without a token (a
// browser cannot attach `Authorization` to a navigation); every JSON route the
// page reads needs the bearer token as usual. With a token configured the
// page asks for it, keeps it in the tab's sessionStorage and sends it as
// `Authorization: Bearer` on its fetches; it never puts it in a URL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "serve/metrics.h"
#include "serve/service.h"

namespace modelbay::serve {

// Answers GET /ui, /ui/, /ui/app.js and /ui/app.css (the dashboard), and
// /docs, /ui/docs.js, /ui/docs.css (the API description rendered from
// /openapi.json for a person; issue 15) with their files and a
// strict Content-Security-Policy (scripts, styles and fetches from this
// origin only; nothing inline). `token_required` tells the page to ask for
// the token. Any other /ui/... path: NotFound.
Status UiAsset(std::string_view path, bool token_required, Reply& reply);

// The body of GET /traffic[?model=NAME]: requests and rows per version of
// `model` (its display name) over the last TrafficSeries::kBuckets intervals
// (TrafficSeries::Json) and the /inference latency histogram of the whole
// server, every model ({"upper_bounds": seconds, the last null for +Inf,
// "counts": per bucket, not cumulative, "count", "sum_seconds"}).
std::string TrafficJson(const Metrics& metrics, int64_t now_unix_seconds, std::string_view model);

}  // namespace modelbay::serve
