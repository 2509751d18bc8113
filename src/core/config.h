// Configuration: where the three stores are and how to reach AWS.
//
// Precedence, highest first: command-line flags (ConfigOverrides), process
// environment, a `.env` file in the working directory, defaults. The seed's
// variable names are accepted (DATA_STORE, MODEL_ARTIFACTS_STORE,
// RESULTS_STORE, AWS_ACCESS_KEY, AWS_SECRET_ACCESS_KEY) beside the standard
// AWS ones. Secrets live in AwsConfig and are never printed: Describe()
// methods and error messages must not include them.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace modelbay {

// A parsed store URL, parsed strictly (ParseStoreLocation): `s3://bucket/prefix`;
// a bare bucket name (the seed's form) always means s3://name, whatever
// folders exist; `file:///abs/path`; a folder path starting with '/', '.' or
// '~/'. Anything else is an error naming the accepted forms: `s3:/b`
// (malformed scheme), `gs://b` (unsupported), `name/` or `a/b` (ambiguous
// between a bucket and a relative folder).
struct StoreLocation {
  enum class Kind { kLocal, kS3 };
  Kind kind = Kind::kLocal;
  std::filesystem::path path;  // kLocal: absolute folder
  std::string bucket;          // kS3
  std::string prefix;          // kS3: "" or "a/b/" (always ends in '/')
  std::string ToString() const;  // "s3://bucket/prefix" or the path
};

// `text` with the user-info part of every URL in it ("http://user:pass@host"
// -> "http://***@host") replaced, so that a password embedded in an
// endpoint URL is never printed.
std::string RedactUrlCredentials(std::string_view text);

inline constexpr std::string_view kStoreLocationForms =
    "s3://bucket[/prefix], a bare bucket name (always S3, e.g. my-data = s3://my-data), file:///absolute/path, "
    "or a folder path starting with /, ./, ../ or ~/";

// `default_path` is used when `value` is empty.
Result<StoreLocation> ParseStoreLocation(std::string_view value,
                                         const std::filesystem::path& default_path);

struct AwsConfig {
  std::string region = "us-east-1";
  std::string endpoint_url;  // "" means AWS itself
  std::string profile = "default";
  // Static credentials from flags/env/.env, when given. Secret: never print.
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

// Everything the process knows about its settings, already merged.
struct Config {
  std::filesystem::path home;  // MODELBAY_HOME, else ./.modelbay (absolute)
  StoreLocation data;          // DATA_STORE, else <home>/data
  StoreLocation models;        // MODEL_ARTIFACTS_STORE, else <home>/models
  StoreLocation results;       // RESULTS_STORE, else <home>/results
  AwsConfig aws;
  // Merged environment (process env over .env) for settings read later,
  // e.g. MODELBAY_API_TOKEN. Use Get().
  std::map<std::string, std::string, std::less<>> env;
  // Where each setting came from, by variable name (DATA_STORE, MODELBAY_HOME,
  // AWS_REGION, AWS_ACCESS_KEY_ID, ...): "flag --data-store", "environment",
  // ".env" or "default". Never holds a value.
  std::map<std::string, std::string, std::less<>> sources;

  std::string Get(std::string_view name, std::string_view fallback = "") const;
};

// Values from command-line flags; unset means "not given".
struct ConfigOverrides {
  std::optional<std::string> data_store;
  std::optional<std::string> model_store;
  std::optional<std::string> results_store;
  std::optional<std::string> endpoint_url;
  std::optional<std::string> region;
  std::optional<std::string> home;
};

// Parses the text of a .env file: KEY=VALUE lines, `export ` prefix allowed,
// '#' comments, single or double quotes around values. `source` names the
// file in errors ("line 3: ...").
Result<std::map<std::string, std::string, std::less<>>> ParseDotEnv(
    std::string_view text, std::string_view source);

// Pure: merges flags, an environment and .env values into a Config.
// `cwd` resolves relative paths.
Result<Config> BuildConfig(const ConfigOverrides& flags,
                           const std::map<std::string, std::string, std::less<>>& process_env,
                           const std::map<std::string, std::string, std::less<>>& dotenv,
                           const std::filesystem::path& cwd);

// Reads the real process environment and ./.env (if present).
Result<Config> LoadConfig(const ConfigOverrides& flags);

}  // namespace modelbay
