// Where AWS credentials come from, in the standard order:
//   1. static keys from flags / environment / .env (AwsConfig: AWS_ACCESS_KEY_ID
//      or the seed's AWS_ACCESS_KEY, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN);
//   2. a profile in the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
//      else ~/.aws/credentials; profile AWS_PROFILE, else "default");
//   3. the ECS task-role endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
//      AWS_CONTAINER_CREDENTIALS_FULL_URI; the Authorization header from
//      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, read on every fetch, else
//      AWS_CONTAINER_AUTHORIZATION_TOKEN);
//   4. EC2 instance metadata, IMDSv2 (skipped when AWS_EC2_METADATA_DISABLED=true;
//      AWS_EC2_METADATA_SERVICE_ENDPOINT replaces http://169.254.169.254).
// Resolved on the first Get(), cached, and refreshed a few minutes before
// temporary credentials expire. Credentials are never logged or put into a
// Status message.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"
#include "store/sigv4.h"

namespace modelbay {

struct TimedCredentials {
  AwsCredentials credentials;
  std::optional<std::chrono::system_clock::time_point> expiration;  // nullopt: never
  std::string source;  // "environment", "profile default", "ECS task role", "EC2 instance profile"
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  virtual Result<AwsCredentials> Get() = 0;
};

// Reads an environment variable; injectable for tests.
using EnvLookup = std::function<std::string(const std::string&)>;
EnvLookup ProcessEnv();

// The default chain. Thread-safe; the network is touched only on Get().
class ChainCredentialsProvider final : public CredentialsProvider {
 public:
  ChainCredentialsProvider(AwsConfig aws, EnvLookup env, Clock clock = SystemClock());
  Result<AwsCredentials> Get() override;

 private:
  Result<TimedCredentials> Resolve();

  AwsConfig aws_;
  EnvLookup env_;
  Clock clock_;
  std::mutex mu_;  // one refresh at a time
  std::optional<TimedCredentials> cached_;  // guarded by mu_
};

// Where the default chain would take credentials from, without touching the
// network and without any secret: "static keys (hidden)", "profile 'dev'",
// "profile 'x' not found in the shared credentials file, so the ECS task
// role", ... For `modelbay config`.
std::string DescribeCredentialSource(const AwsConfig& aws, const EnvLookup& env);

// Parses an INI shared-credentials file's text and returns the profile's keys.
// NotFound when the profile is absent; InvalidArgument naming the line when
// the profile is incomplete.
Result<AwsCredentials> ParseSharedCredentials(std::string_view text, std::string_view profile,
                                              std::string_view source);

// Parses the JSON the ECS and EC2 endpoints return ({"AccessKeyId", ...,
// "Expiration": "2026-01-01T00:00:00Z"}).
Result<TimedCredentials> ParseContainerCredentials(std::string_view json, std::string_view source);

// One provider per distinct AwsConfig, shared by every store in the process.
std::shared_ptr<CredentialsProvider> SharedCredentialsChain(const AwsConfig& aws);

}  // namespace modelbay
