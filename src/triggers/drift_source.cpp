#include "triggers/drift_source.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

DriftSource HttpDriftSource(std::string url, std::string token) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return [url, token]() -> Result<DriftReading> {
    DriftReading reading;
    MB_ASSIGN_OR_RETURN(json models, GetJson(url + "/models", token));
    if (!models.contains("default") || !models["default"].is_number_integer()) {
      reading.problem = "the server serves no version yet";
      return reading;
    }
    reading.version = models["default"].get<int>();
    MB_ASSIGN_OR_RETURN(json doc, GetJson(fmt::format("{}/models/{}/drift", url, reading.version), token));
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

}  // namespace modelbay
