#include "triggers/drift_source.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "store/http_client.h"

namespace modelbay {
namespace {

using nlohmann::json;

Result<json> GetJson(const std::string& url, const std::string& token) {
  PlainRequest request;
  request.url = url;
  request.timeout = std::chrono::milliseconds(10000);
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
  auto response = PlainHttp(request);
  if (!response.ok()) return Unavailable(fmt::format("GET {}: {}", url, response.status().message()));
  if (response->status == 401) {
    return PermissionDenied(fmt::format("GET {}: 401; set MODELBAY_API_TOKEN to the server's token", url));
  }
  if (!response->ok()) return Unavailable(fmt::format("GET {}: HTTP {}", url, response->status));
  json doc = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument(fmt::format("GET {}: the answer is not a JSON object; is this a modelbay server?", url));
  }
  return doc;
}

}  // namespace

DriftSource HttpDriftSource(std::string url, std::string token, std::string model) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return [url, token, model]() -> Result<DriftReading> {
    DriftReading reading;
    MB_ASSIGN_OR_RETURN(json models, GetJson(url + "/models", token));
    // The unnamed model's listing is the top level; a named one's is under "models".
    const json* listing = &models;
    if (!model.empty()) {
      const auto named = models.find("models");
      if (named == models.end() || !named->is_object() || !named->contains(model)) {
        reading.problem = fmt::format("the server does not list the model '{}'", model);
        return reading;
      }
      listing = &(*named)[model];
    }
    if (!listing->contains("default") || !(*listing)["default"].is_number_integer()) {
      reading.problem = "the server serves no version yet";
      return reading;
    }
    reading.version = (*listing)["default"].get<int>();
    const std::string query = model.empty() ? "" : "?model=" + model;  // names are URL-safe
    MB_ASSIGN_OR_RETURN(json doc, GetJson(fmt::format("{}/models/{}/drift{}", url, reading.version, query), token));
    if (doc.value("baseline", "") != "ok") {
      reading.problem = fmt::format("version {} has no usable baseline ({})", reading.version,
                                    doc.value("message", doc.value("baseline", "?")));
      return reading;
    }
    auto consider = [&](const json& psi, const std::string& where) {
      if (psi.is_number() && (!reading.psi || psi.get<double>() > *reading.psi)) {
        reading.psi = psi.get<double>();
        reading.where = where;
      }
    };
    if (doc.contains("features") && doc["features"].is_array()) {
      for (const json& f : doc["features"]) {
        if (f.is_object() && f.contains("psi")) consider(f["psi"], f.value("name", "?"));
      }
    }
    if (doc.contains("output") && doc["output"].is_object() && doc["output"].contains("psi")) {
      consider(doc["output"]["psi"], "(output)");
    }
    if (!reading.psi) reading.problem = fmt::format("version {} has no live rows in its drift window", reading.version);
    return reading;
  };
}

Result<DriftGate::Observation> DriftGate::Observe(Debouncer::TimePoint now) {
  Observation o;
  MB_ASSIGN_OR_RETURN(o.reading, source_());
  const DriftReading& r = o.reading;
  const bool above = r.psi && *r.psi > threshold_;
  if (above != above_) {
    if (above) {
      spdlog::info("drift above {}: version {} has PSI {:.4f} ({}); retraining once it stays above for {} s and "
                   "new data exists",
                   threshold_, r.version, *r.psi, r.where, std::chrono::duration<double>(debounce_).count());
    } else {
      spdlog::info("drift back at or below {}: {}", threshold_,
                   r.psi ? fmt::format("version {} has PSI {:.4f} ({})", r.version, *r.psi, r.where) : r.problem);
    }
    above_ = above;
  }
  if (!above) {
    debouncer_.Reset();
    return o;
  }
  o.sustained = debouncer_.Observe(fmt::format("v{}", r.version), now);
  return o;
}

}  // namespace modelbay
