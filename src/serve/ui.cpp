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

// Every file under /ui and /docs: the path(s) it answers, its bytes, its type,
// and whether it is a page (the auth marker replaced).
struct Asset {
  std::string_view path, alias;
  std::string_view body, content_type;
  bool page;
};
constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kJs = "text/javascript; charset=utf-8";
constexpr std::string_view kCss = "text/css; charset=utf-8";
constexpr Asset kAssets[] = {
    {"/ui", "/ui/", ui_assets::kIndexHtml, kHtml, true},
    {"/ui/index.html", "", ui_assets::kIndexHtml, kHtml, true},
    {"/docs", "/docs/", ui_assets::kDocsHtml, kHtml, true},
    {"/ui/app.js", "", ui_assets::kAppJs, kJs, false},
    {"/ui/app.css", "", ui_assets::kAppCss, kCss, false},
    {"/ui/docs.js", "", ui_assets::kDocsJs, kJs, false},
    {"/ui/docs.css", "", ui_assets::kDocsCss, kCss, false},
};

}  // namespace

Status UiAsset(std::string_view path, bool token_required, Reply& reply) {
  for (const Asset& a : kAssets) {
    if (path != a.path && (a.alias.empty() || path != a.alias)) continue;
    reply.body = a.page ? Page(a.body, token_required) : std::string(a.body);
    reply.content_type = a.content_type;
    reply.content_security_policy = kPolicy;
    return Status::Ok();
  }
  return NotFound(fmt::format("no dashboard file {}; the dashboard is at /ui", path));
}

std::string TrafficJson(const Metrics& metrics, int64_t now_unix_seconds, std::string_view model) {
  nlohmann::json j = metrics.traffic().Json(now_unix_seconds, model);
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
