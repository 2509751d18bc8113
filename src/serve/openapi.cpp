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
        "summary": "Committed versions and aliases of the unnamed model, as last read from the model store, and of every model under models (the unnamed one as default).",
        "responses": {
          "200": {"description": "Versions", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelList"}}}},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/models/{version}": {
      "get": {
        "operationId": "showModel",
        "summary": "Metadata of a version (a number, latest, or an alias) of the unnamed model, or of ?model=NAME.",
        "parameters": [{"name": "version", "in": "path", "required": true, "schema": {"type": "string"}},
                       {"$ref": "#/components/parameters/ModelQuery"}],
        "responses": {
          "200": {"description": "The version's metadata.json, with its mutable housekeeping state beside it (archived, tags, description; as of the last refresh)",
                  "content": {"application/json": {"schema": {"allOf": [{"type": "object"}, {"$ref": "#/components/schemas/VersionState"}]}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Retry"}
        }
      }
    },
    "/models/{version}/drift": {
      "get": {
        "operationId": "modelDrift",
        "summary": "Drift of the live window of a version (a number, latest, or an alias) of the unnamed model, or of ?model=NAME, against its training baseline (docs/monitoring.md).",
        "parameters": [{"name": "version", "in": "path", "required": true, "schema": {"type": "string"}},
                       {"$ref": "#/components/parameters/ModelQuery"}],
        "responses": {
          "200": {"description": "Per-feature and output drift; baseline is missing or invalid for versions without a usable baseline",
                  "content": {"application/json": {"schema": {"type": "object", "required": ["model", "version", "baseline"],
                    "properties": {"model": {"type": "string"}, "version": {"type": "integer"},
                                   "baseline": {"type": "string", "enum": ["ok", "missing", "invalid"]},
                                   "message": {"type": "string"}, "window": {"type": "object"},
                                   "features": {"type": "array", "items": {"type": "object"}}, "output": {"type": "object"}}}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Retry"}
        }
      }
    },
    "/traffic": {
      "get": {
        "operationId": "traffic",
        "summary": "Requests and rows scored per version of the unnamed model (or of ?model=NAME) over the last 10 minutes (60 buckets of 10 s, oldest first) and the /inference latency histogram of the whole server: what the dashboard (/ui) draws.",
        "parameters": [{"$ref": "#/components/parameters/ModelQuery"}],
        "responses": {
          "200": {"description": "Series", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Traffic"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Retry"}
        }
      }
    },
    "/ui": {
      "get": {
        "operationId": "dashboard",
        "summary": "The dashboard: an HTML page whose script (/ui/app.js) reads the JSON routes with the bearer token it asks for (never needs a token itself: it holds no data).",
        "responses": {
          "200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}
        }
      }
    },
    "/docs": {
      "get": {
        "operationId": "apiDocs",
        "summary": "This API described for a person: an HTML page whose script (/ui/docs.js) renders /openapi.json (nothing from another origin; never needs a token itself).",
        "responses": {
          "200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}
        }
      }
    },
    "/models/{version}/feedback": {
      "get": {
        "operationId": "modelFeedback",
        "summary": "Live metrics of a version (a number, latest, or an alias) of the unnamed model, or of ?model=NAME, over its logged rows that have a true label (POST /feedback; docs/monitoring.md).",
        "parameters": [{"name": "version", "in": "path", "required": true, "schema": {"type": "string"}},
                       {"$ref": "#/components/parameters/ModelQuery"}],
        "responses": {
          "200": {"description": "Counts and figures (null when undefined)",
                  "content": {"application/json": {"schema": {"type": "object",
                    "required": ["model", "version", "task", "logged_rows", "labelled_rows", "feedback"],
                    "properties": {"model": {"type": "string"}, "version": {"type": "integer"},
                                   "task": {"type": "string", "enum": ["binary", "multiclass", "regression"]},
                                   "logged_rows": {"type": "integer"}, "labelled_rows": {"type": "integer"},
                                   "feedback": {"type": "object"}, "window": {"type": "object"},
                                   "auc": {"type": "number", "nullable": true}, "accuracy": {"type": "number", "nullable": true},
                                   "log_loss": {"type": "number", "nullable": true}, "rmse": {"type": "number", "nullable": true},
                                   "positive_class": {"type": "string"}}}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "500": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Retry"}
        }
      }
    },
    "/feedback": {
      "post": {
        "operationId": "feedback",
        "summary": "Record true labels for logged predictions of the unnamed model, or of ?model=NAME; 200 means durably recorded (docs/monitoring.md).",
        "parameters": [{"$ref": "#/components/parameters/ModelQuery"}],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/FeedbackRecord"},
            {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/FeedbackRecord"}}]}}}
        },
        "responses": {
          "200": {"description": "Recorded", "content": {"application/json": {"schema": {"type": "object",
                  "required": ["recorded"], "properties": {"recorded": {"type": "integer"}}}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
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
      "FeedbackRecord": {
        "type": "object", "required": ["request_id", "label"], "additionalProperties": false,
        "properties": {"request_id": {"type": "string", "minLength": 1, "maxLength": 256, "description": "The request_id of the answer being labelled"},
                       "label": {"oneOf": [{"type": "string"}, {"type": "number"}], "description": "A class of the model, or the true value (regression)"},
                       "row": {"type": "integer", "minimum": 0, "description": "The row's index in a multi-row request (default 0)"}}
      },
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
          },
          "model": {
            "type": "string", "nullable": true,
            "description": "A named model ([a-z0-9][a-z0-9_-]{0,62}, not a number: 400 otherwise, 404 when the store has no such model); omitted, null or \"default\": the unnamed model."
          },
          "threshold": {"type": "number", "minimum": 0, "maximum": 1,
                        "description": "Binary classifiers only (400 otherwise): the label is class 1 when its probability exceeds this; default 0.5."},
          "explain": {"type": "boolean", "description": "true: add per-row feature contributions (XGBoost's SHAP values)."}
        }
      },
      "Contribution": {
        "type": "object", "required": ["bias", "columns"],
        "description": "One row's (or, for multi-class models, one class's) contributions to the margin: columns + bias = the margin (the logit for binary models).",
        "properties": {"bias": {"type": "number", "nullable": true},
                       "columns": {"type": "object", "additionalProperties": {"type": "number", "nullable": true}}}
      },
      "Contributions": {
        "type": "array", "description": "One entry per row; for multi-class models a list in class_labels order.",
        "items": {"oneOf": [{"$ref": "#/components/schemas/Contribution"},
                            {"type": "array", "items": {"$ref": "#/components/schemas/Contribution"}}]}
      },
      "InferenceResponse": {
        "type": "object",
        "required": ["model_version", "predictions", "request_id", "message"],
        "properties": {
          "model_version": {"type": "string"},
          "predictions": {"type": "array", "items": {"nullable": true, "anyOf": [{"type": "number"}, {"type": "string"}]}},
          "probabilities": {"type": "array", "description": "Classifiers: one list of class probabilities per row.",
                            "items": {"type": "array", "items": {"type": "number", "nullable": true}}},
          "contributions": {"$ref": "#/components/schemas/Contributions"},
          "request_id": {"type": "string"},
          "message": {"type": "string", "enum": ["inference completed"]}
        }
      },
      "VersionState": {
        "type": "object",
        "required": ["archived", "tags", "description"],
        "properties": {
          "archived": {"type": "boolean"},
          "tags": {"type": "object", "additionalProperties": {"type": "string"}},
          "description": {"type": "string", "nullable": true}
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
        "required": ["versions", "archived", "state", "aliases", "default", "loaded", "store_ok"],
        "properties": {
          "versions": {"type": "array", "items": {"type": "integer"}},
          "archived": {"type": "array", "items": {"type": "integer"}, "description": "Archived versions: served by number or alias, never by latest."},
          "state": {"type": "object", "description": "Versions with housekeeping state, by version number.",
                    "additionalProperties": {"$ref": "#/components/schemas/VersionState"}},
          "aliases": {"type": "object", "additionalProperties": {"type": "integer"}},
          "default": {"type": "integer", "nullable": true},
          "loaded": {"type": "array", "items": {"type": "integer"}},
          "store_ok": {"type": "boolean"},
          "models": {"type": "object", "description": "Every model by name (the unnamed one as default): the same fields, or error when it cannot be opened.",
                     "additionalProperties": {"type": "object"}}
        }
      },
      "Traffic": {
        "type": "object",
        "required": ["interval_seconds", "buckets", "start", "versions", "latency"],
        "properties": {
          "model": {"type": "string", "description": "The model whose versions are listed (default: the unnamed one)."},
          "interval_seconds": {"type": "integer"},
          "buckets": {"type": "integer"},
          "start": {"type": "integer", "description": "Unix seconds at which the first bucket begins."},
          "versions": {"type": "array", "items": {"type": "object", "required": ["version", "requests", "rows"],
            "properties": {"version": {"type": "integer"},
                           "requests": {"type": "array", "items": {"type": "integer"}},
                           "rows": {"type": "array", "items": {"type": "integer"}}}}},
          "latency": {"type": "object", "required": ["upper_bounds", "counts", "count", "sum_seconds"],
            "properties": {"route": {"type": "string"},
                           "upper_bounds": {"type": "array", "items": {"type": "number", "nullable": true}, "description": "Seconds; null is +Inf."},
                           "counts": {"type": "array", "items": {"type": "integer"}, "description": "Per bucket, not cumulative."},
                           "count": {"type": "integer"}, "sum_seconds": {"type": "number"}}}
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

// The client protocols (v2_routes.cpp, invocations.cpp), merged into kDocument.
constexpr const char* kProtocols = R"json({
  "paths": {
    "/v2": {"get": {"operationId": "v2Server", "summary": "Open Inference Protocol: server metadata.",
      "responses": {"200": {"description": "Server metadata", "content": {"application/json": {"schema": {
        "type": "object", "required": ["name", "version", "extensions"],
        "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "extensions": {"type": "array", "items": {"type": "string"}}}}}}},
        "401": {"$ref": "#/components/responses/V2Error"}}}},
    "/v2/health/live": {"get": {"operationId": "v2Live", "summary": "Open Inference Protocol: liveness.",
      "responses": {"200": {"description": "Live", "content": {"application/json": {"schema": {
        "type": "object", "required": ["live"], "properties": {"live": {"type": "boolean"}}}}}},
        "401": {"$ref": "#/components/responses/V2Error"}}}},
    "/v2/health/ready": {"get": {"operationId": "v2Ready", "summary": "Open Inference Protocol: readiness, judged as /ready.",
      "responses": {
        "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V2Ready"}}}},
        "401": {"$ref": "#/components/responses/V2Error"},
        "503": {"description": "Not ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V2Ready"}}}}}}},
    "/v2/models/{model_name}": {"get": {"operationId": "v2ModelMetadata",
      "summary": "Model metadata: one input per feature column (BYTES categorical, FP64 numeric), the outputs predict and probabilities, the class order in parameters.class_labels.",
      "parameters": [{"$ref": "#/components/parameters/ModelName"}],
      "responses": {"200": {"$ref": "#/components/responses/V2Metadata"}, "400": {"$ref": "#/components/responses/V2Error"}, "401": {"$ref": "#/components/responses/V2Error"},
        "404": {"$ref": "#/components/responses/V2Error"}, "503": {"$ref": "#/components/responses/V2Error"}}}},
    "/v2/models/{model_name}/versions/{model_version}": {"get": {"operationId": "v2VersionMetadata",
      "summary": "Metadata of a version (a number, latest, or an alias).",
      "parameters": [{"$ref": "#/components/parameters/ModelName"}, {"$ref": "#/components/parameters/ModelVersion"}],
      "responses": {"200": {"$ref": "#/components/responses/V2Metadata"}, "400": {"$ref": "#/components/responses/V2Error"}, "401": {"$ref": "#/components/responses/V2Error"},
        "404": {"$ref": "#/components/responses/V2Error"}, "503": {"$ref": "#/components/responses/V2Error"}}}},
    "/v2/models/{model_name}/ready": {"get": {"operationId": "v2ModelReady", "summary": "200 when the model can be served.",
      "parameters": [{"$ref": "#/components/parameters/ModelName"}],
      "responses": {"200": {"$ref": "#/components/responses/V2ModelReady"}, "400": {"$ref": "#/components/responses/V2Error"}, "401": {"$ref": "#/components/responses/V2Error"},
        "404": {"$ref": "#/components/responses/V2Error"}, "503": {"$ref": "#/components/responses/V2Error"}}}},
    "/v2/models/{model_name}/versions/{model_version}/ready": {"get": {"operationId": "v2VersionReady",
      "summary": "200 when the version can be served.",
      "parameters": [{"$ref": "#/components/parameters/ModelName"}, {"$ref": "#/components/parameters/ModelVersion"}],
      "responses": {"200": {"$ref": "#/components/responses/V2ModelReady"}, "400": {"$ref": "#/components/responses/V2Error"}, "401": {"$ref": "#/components/responses/V2Error"},
        "404": {"$ref": "#/components/responses/V2Error"}, "503": {"$ref": "#/components/responses/V2Error"}}}},
    "/v2/models/{model_name}/infer": {"post": {"operationId": "v2Infer", "summary": "Open Inference Protocol infer; every row is logged as by /inference.",
      "parameters": [{"$ref": "#/components/parameters/ModelName"}, {"$ref": "#/components/parameters/InferenceHeaderLength"}],
      "requestBody": {"$ref": "#/components/requestBodies/V2Infer"},
      "responses": {"$ref": "#/components/x-v2-infer-responses"}}},
    "/v2/models/{model_name}/versions/{model_version}/infer": {"post": {"operationId": "v2VersionInfer",
      "summary": "Open Inference Protocol infer with a version (a number, latest, or an alias).",
      "parameters": [{"$ref": "#/components/parameters/ModelName"}, {"$ref": "#/components/parameters/ModelVersion"},
                     {"$ref": "#/components/parameters/InferenceHeaderLength"}],
      "requestBody": {"$ref": "#/components/requestBodies/V2Infer"},
      "responses": {"$ref": "#/components/x-v2-infer-responses"}}},
    "/v2/models/{model_name}/stats": {"get": {"operationId": "v2Stats",
      "summary": "Inference counts since start (modelbay does not time the phases: every ns is 0).",
      "parameters": [{"$ref": "#/components/parameters/ModelName"}],
      "responses": {"200": {"description": "Statistics", "content": {"application/json": {"schema": {
        "type": "object", "required": ["model_stats"], "properties": {"model_stats": {"type": "array", "items": {"type": "object"}}}}}}},
        "400": {"$ref": "#/components/responses/V2Error"}, "401": {"$ref": "#/components/responses/V2Error"},
        "404": {"$ref": "#/components/responses/V2Error"}}}},
    "/invocations": {"post": {"operationId": "invocations",
      "summary": "MLflow's and SageMaker's scoring contract: dataframe_split, dataframe_records, instances or inputs as JSON, or a text/csv body with a header row; rows are logged as by /inference. Accept: text/csv answers one prediction per line.",
      "parameters": [
        {"$ref": "#/components/parameters/ModelQuery"},
        {"name": "threshold", "in": "query", "required": false, "description": "Binary classifiers: the decision threshold (as params.threshold).",
         "schema": {"type": "number", "minimum": 0, "maximum": 1}},
        {"name": "explain", "in": "query", "required": false, "description": "true: add contributions (JSON answers only).",
         "schema": {"type": "boolean"}},
        {"name": "Accept", "in": "header", "required": false, "description": "application/json (default) or text/csv.",
         "schema": {"type": "string", "enum": ["application/json", "text/csv", "*/*"]}}],
      "requestBody": {"required": true, "content": {
        "application/json": {"schema": {"type": "object", "properties": {
          "params": {"type": "object", "properties": {"threshold": {"type": "number", "minimum": 0, "maximum": 1},
                                                      "explain": {"type": "boolean"}}},
          "dataframe_split": {"type": "object", "properties": {"columns": {"type": "array", "items": {"type": "string"}},
                                                              "data": {"type": "array", "items": {"type": "array", "items": {"$ref": "#/components/schemas/Cell"}}}}},
          "dataframe_records": {"type": "array", "items": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Cell"}}},
          "instances": {"type": "array"},
          "inputs": {"oneOf": [{"type": "array"}, {"type": "object", "additionalProperties": {"type": "array"}}]}}}},
        "text/csv": {"schema": {"type": "string"}}}},
      "responses": {
        "200": {"description": "Predictions", "content": {"application/json": {"schema": {"type": "object", "required": ["predictions"],
          "properties": {"predictions": {"type": "array", "items": {"nullable": true, "anyOf": [{"type": "number"}, {"type": "string"}]}},
                         "contributions": {"$ref": "#/components/schemas/Contributions"}}}},
          "text/csv": {"schema": {"type": "string"}}}},
        "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
        "404": {"$ref": "#/components/responses/Error"},
        "413": {"$ref": "#/components/responses/Error"}, "415": {"$ref": "#/components/responses/Error"},
        "503": {"$ref": "#/components/responses/Retry"}}}},
    "/ping": {"get": {"operationId": "ping", "summary": "MLflow/SageMaker health check: 200 once the default model is loaded, else 503 (never needs a token).",
      "responses": {"200": {"description": "Ready to score", "content": {"application/json": {"schema": {"type": "object"}}}},
                    "503": {"description": "No model loaded yet", "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                            "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/version": {"get": {"operationId": "version", "summary": "MLflow's /version: modelbay's version as text.",
      "responses": {"200": {"description": "Version", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": {"$ref": "#/components/responses/Error"}}}}
  },
  "parameters": {
    "ModelName": {"name": "model_name", "in": "path", "required": true, "example": "default",
                  "description": "A model of the store: [a-z0-9][a-z0-9_-]{0,62}, not a number (400 otherwise; 404 when the store has no such model); the unnamed model is \"default\".",
                  "schema": {"type": "string"}},
    "ModelQuery": {"name": "model", "in": "query", "required": false, "example": "default",
                   "description": "A named model (400 for a malformed name, 404 for an unknown one); omitted or \"default\": the unnamed model.",
                   "schema": {"type": "string"}},
    "ModelVersion": {"name": "model_version", "in": "path", "required": true, "example": "latest",
                     "description": "A version number, latest, or an alias.", "schema": {"type": "string"}},
    "InferenceHeaderLength": {"name": "Inference-Header-Content-Length", "in": "header", "required": false,
                              "description": "Binary tensor extension: the length of the JSON header; binary tensor data follows it.",
                              "schema": {"type": "integer", "minimum": 0}}
  },
  "schemas": {
    "V2Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "V2Ready": {"type": "object", "required": ["ready"], "properties": {"ready": {"type": "boolean"}}},
    "V2Tensor": {"type": "object", "required": ["name", "shape", "datatype"], "properties": {
      "name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}}, "datatype": {"type": "string"},
      "parameters": {"type": "object"}, "data": {"type": "array"}}},
    "V2InferRequest": {"type": "object", "required": ["inputs"], "properties": {
      "id": {"type": "string"},
      "parameters": {"type": "object", "properties": {
        "binary_data_output": {"type": "boolean"},
        "threshold": {"type": "number", "minimum": 0, "maximum": 1, "description": "Binary classifiers only: the decision threshold (default 0.5)."}}},
      "inputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"},
                 "description": "One tensor per column (named after it, shape [rows] or [rows, 1]) or one [rows, columns] tensor in column order."},
      "outputs": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "enum": ["predict", "probabilities", "contributions"],
                 "description": "contributions: XGBoost's SHAP values, [rows, columns + 1] ([rows, classes, columns + 1] for multi-class), names in the metadata's parameters.contribution_names; sent only when listed."},
        "parameters": {"type": "object"}}}}}},
    "V2InferResponse": {"type": "object", "required": ["model_name", "outputs"], "properties": {
      "model_name": {"type": "string"}, "model_version": {"type": "string"}, "id": {"type": "string"},
      "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"}}}}
  },
  "requestBodies": {
    "V2Infer": {"required": true, "content": {
      "application/json": {"schema": {"$ref": "#/components/schemas/V2InferRequest"}},
      "application/octet-stream": {"schema": {"type": "string", "format": "binary"},
                                   "description": "The JSON header (Inference-Header-Content-Length bytes), then the binary tensor data."}}}
  },
  "responses": {
    "V2Error": {"description": "An error: {\"error\": message}", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V2Error"}}}},
    "V2Metadata": {"description": "Model metadata", "content": {"application/json": {"schema": {"type": "object",
      "required": ["name", "versions", "platform", "inputs", "outputs"],
      "properties": {"name": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}}, "platform": {"type": "string"},
                     "inputs": {"type": "array", "items": {"type": "object"}}, "outputs": {"type": "array", "items": {"type": "object"}},
                     "parameters": {"type": "object"}}}}}},
    "V2ModelReady": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object", "required": ["ready"],
      "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "ready": {"type": "boolean"}}}}}},
    "V2InferResponse": {"description": "Outputs; with binary outputs the body is the JSON header (Inference-Header-Content-Length bytes) then their data.",
      "headers": {"Inference-Header-Content-Length": {"schema": {"type": "integer"}}},
      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/V2InferResponse"}},
                  "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
  }
})json";

std::string Build(bool bearer_auth) {
  auto doc = nlohmann::json::parse(kDocument);
  auto protocols = nlohmann::json::parse(kProtocols);
  // Both infer routes answer alike.
  const nlohmann::json infer_responses = {
      {"200", {{"$ref", "#/components/responses/V2InferResponse"}}},
      {"400", {{"$ref", "#/components/responses/V2Error"}}}, {"401", {{"$ref", "#/components/responses/V2Error"}}},
      {"404", {{"$ref", "#/components/responses/V2Error"}}}, {"413", {{"$ref", "#/components/responses/V2Error"}}},
      {"503", {{"$ref", "#/components/responses/V2Error"}}}};
  for (auto& [path, item] : protocols["paths"].items()) {
    if (path.ends_with("/infer")) item["post"]["responses"] = infer_responses;
    doc["paths"][path] = item;
  }
  for (const char* part : {"parameters", "schemas", "requestBodies", "responses"}) {
    for (auto& [name, value] : protocols[part].items()) doc["components"][part][name] = value;
  }
  if (bearer_auth) {
    doc["components"]["securitySchemes"]["bearer"] = {{"type", "http"}, {"scheme", "bearer"}};
    doc["security"] = nlohmann::json::array({{{"bearer", nlohmann::json::array()}}});
    doc["paths"]["/health"]["get"]["security"] = nlohmann::json::array();
    doc["paths"]["/ping"]["get"]["security"] = nlohmann::json::array();
    doc["paths"]["/ui"]["get"]["security"] = nlohmann::json::array();
    doc["paths"]["/docs"]["get"]["security"] = nlohmann::json::array();
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
