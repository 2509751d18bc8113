#include "serve/ui.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "serve/ui_assets.h"  // generated from src/serve/ui/ by cmake/embed_files.cmake

namespace modelbay::serve {
namespace {

// Everything the page needs comes from this origin; no inline script or
// style, no frames, no form posts, no plugins.
constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// index.html carries this marker where the page learns whether to ask for a token.
constexpr std::string_view kAuthMarker = "__MODELBAY_AUTH__";

// An HTML page with the auth marker replaced.
std::string Page(std::string_view html, bool token_required) {
  std::string page(html);
  if (const size_t at = page.find(kAuthMarker); at != std::string::npos) {
    page.replace(at, kAuthMarker.size(), token_required ? "bearer" : "none");
  }
  return page;
}

}  // namespace

Status UiAsset(std::string_view path, bool token_required, Reply& reply) {
  if (path == "/ui" || path == "/ui/" || path == "/ui/index.html") {
    reply.body = Page(ui_assets::kIndexHtml, token_required);
    reply.content_type = "text/html; charset=utf-8";
  } else if (path == "/docs" || path == "/docs/") {
    reply.body = Page(ui_assets::kDocsHtml, token_required);
    reply.content_type = "text/html; charset=utf-8";
  } else if (path == "/ui/docs.js") {
    reply.body = ui_assets::kDocsJs;
    reply.content_type = "text/javascript; charset=utf-8";
  } else if (path == "/ui/docs.css") {
    reply.body = ui_assets::kDocsCss;
    reply.content_type = "text/css; charset=utf-8";
  } else if (path == "/ui/app.js") {
    reply.body = ui_assets::kAppJs;
    reply.content_type = "text/javascript; charset=utf-8";
  } else if (path == "/ui/app.css") {
    reply.body = ui_assets::kAppCss;
    reply.content_type = "text/css; charset=utf-8";
  } else {
    return NotFound(fmt::format("no dashboard file {}; the dashboard is at /ui", path));
  }
  reply.content_security_policy = kPolicy;
  return Status::Ok();
}

std::string TrafficJson(const Metrics& metrics, int64_t now_unix_seconds) {
  nlohmann::json j = metrics.traffic().Json(now_unix_seconds);
  const LatencySnapshot latency = metrics.latency();
  nlohmann::json bounds = nlohmann::json::array();
  for (double b : Metrics::kLatencyBuckets) bounds.push_back(b);
  bounds.push_back(nullptr);  // +Inf
  j["latency"] = {{"route", "/inference"},
                  {"upper_bounds", std::move(bounds)},
                  {"counts", latency.counts},
                  {"count", latency.count},
                  {"sum_seconds", latency.sum_seconds}};
  return j.dump();
}

}  // namespace modelbay::serve
