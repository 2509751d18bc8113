// The OpenAPI 3.0 description of the routes in service.cpp. Kept truthful by
// the e2e suite, which runs schemathesis against it.
#include <nlohmann/json.hpp>

#include "serve/service.h"

namespace modelbay::serve {
namespace {

constexpr const char* kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "modelbay inference service",
    "version": "1",
    "description": "Scores rows with a registered model version and logs every prediction. Errors are JSON {\"error\", \"message\"}."
  },
  "paths": {
    "/inference": {
      "post": {
        "operationId": "inference",
        "summary": "Score rows with a model version; 200 means the rows are durably logged.",
        "parameters": [
          {"name": "X-Request-Id", "in": "header", "required": false,
           "description": "Used as the request id when it is 1-128 characters of [A-Za-z0-9._:-]; otherwise one is generated.",
           "schema": {"type": "string"}}
        ],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceRequest"}}}
        },
        "responses": {
          "200": {"description": "Predictions", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InferenceResponse"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Retry"}
        }
      }
    },
    "/health": {
      "get": {
        "operationId": "health",
        "summary": "Liveness: 200 while the process runs (never needs a token).",
        "responses": {
          "200": {"description": "Alive", "content": {"application/json": {"schema": {
            "type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}}
        }
      }
    },
    "/ready": {
      "get": {
        "operationId": "ready",
        "summary": "Readiness: 200 when the default model can be served (degraded when the model store is unreachable but a cached model serves); 503 without a model, or degraded when the prediction log cannot take or ship rows. Every GET route also answers HEAD.",
        "responses": {
          "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}},
          "401": {"$ref": "#/components/responses/Error"},
          "503": {"description": "Not ready", "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}
        }
      }
    },
    "/models": {
      "get": {
        "operationId": "listModels",
        "summary": "Committed versions and aliases, as last read from the model store.",
        "responses": {
          "200": {"description": "Versions", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelList"}}}},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/models/{version}": {
      "get": {
        "operationId": "showModel",
        "summary": "Metadata of a version (a number, latest, or an alias).",
        "parameters": [{"name": "version", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "The version's metadata.json", "content": {"application/json": {"schema": {"type": "object"}}}},
          "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Retry"}
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics",
        "summary": "Prometheus text exposition format 0.0.4.",
        "responses": {
          "200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document.",
        "responses": {
          "200": {"description": "OpenAPI 3.0 document", "content": {"application/json": {"schema": {"type": "object"}}}},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Cell": {
        "nullable": true,
        "description": "A value: a number, text, or null (missing).",
        "anyOf": [{"type": "number"}, {"type": "string"}]
      },
      "InferenceRequest": {
        "type": "object",
        "required": ["data"],
        "properties": {
          "data": {
            "type": "array", "minItems": 1,
            "description": "Rows: lists in the model's column order, or objects keyed by column name.",
            "items": {"oneOf": [
              {"type": "array", "items": {"$ref": "#/components/schemas/Cell"}},
              {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Cell"}}
            ]}
          },
          "model_version": {
            "nullable": true,
            "description": "A version number (3 or \"3\"), \"latest\" or an alias; omitted: production, else latest.",
            "oneOf": [{"type": "integer"}, {"type": "string", "minLength": 1}]
          }
        }
      },
      "InferenceResponse": {
        "type": "object",
        "required": ["model_version", "predictions", "request_id", "message"],
        "properties": {
          "model_version": {"type": "string"},
          "predictions": {"type": "array", "items": {"nullable": true, "anyOf": [{"type": "number"}, {"type": "string"}]}},
          "probabilities": {"type": "array", "description": "Classifiers: one list of class probabilities per row.",
                            "items": {"type": "array", "items": {"type": "number", "nullable": true}}},
          "request_id": {"type": "string"},
          "message": {"type": "string", "enum": ["inference completed"]}
        }
      },
      "Readiness": {
        "type": "object",
        "required": ["status"],
        "properties": {
          "status": {"type": "string", "enum": ["ready", "degraded", "not_ready"]},
          "model_version": {"type": "string"},
          "reason": {"type": "string"}
        }
      },
      "ModelList": {
        "type": "object",
        "required": ["versions", "aliases", "default", "loaded", "store_ok"],
        "properties": {
          "versions": {"type": "array", "items": {"type": "integer"}},
          "aliases": {"type": "object", "additionalProperties": {"type": "integer"}},
          "default": {"type": "integer", "nullable": true},
          "loaded": {"type": "array", "items": {"type": "integer"}},
          "store_ok": {"type": "boolean"}
        }
      },
      "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}}
      }
    },
    "responses": {
      "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Retry": {"description": "Temporarily unable (no model yet, store unreachable, log unavailable); retry after Retry-After seconds.",
                "headers": {"Retry-After": {"required": true, "schema": {"type": "integer"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  }
})json";

std::string Build(bool bearer_auth) {
  auto doc = nlohmann::json::parse(kDocument);
  if (bearer_auth) {
    doc["components"]["securitySchemes"]["bearer"] = {{"type", "http"}, {"scheme", "bearer"}};
    doc["security"] = nlohmann::json::array({{{"bearer", nlohmann::json::array()}}});
    doc["paths"]["/health"]["get"]["security"] = nlohmann::json::array();
  }
  return doc.dump();
}

}  // namespace

const std::string& OpenApiDocument(bool bearer_auth) {
  static const std::string with_auth = Build(true);
  static const std::string without_auth = Build(false);
  return bearer_auth ? with_auth : without_auth;
}

}  // namespace modelbay::serve
