#include "store/credentials.h"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/hash.h"
#include "core/strings.h"
#include "store/http_client.h"

namespace modelbay {
namespace {

constexpr auto kRefreshBefore = std::chrono::minutes(5);

// "2026-01-01T00:00:00Z" (also with fractional seconds).
std::optional<std::chrono::system_clock::time_point> ParseIsoUtc(const std::string& s) {
  std::tm tm{};
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Result<std::optional<TimedCredentials>> FromProfile(const AwsConfig& aws, const EnvLookup& env) {
  std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    std::string home = env("HOME");
    if (home.empty()) return std::optional<TimedCredentials>();
    file = home + "/.aws/credentials";
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::optional<TimedCredentials>();
  std::stringstream ss;
  ss << in.rdbuf();
  auto creds = ParseSharedCredentials(ss.str(), aws.profile, file);
  if (!creds.ok()) {
    if (creds.status().code() == Code::kNotFound) return std::optional<TimedCredentials>();
    return creds.status();
  }
  return std::optional<TimedCredentials>(TimedCredentials{*creds, std::nullopt, "profile " + aws.profile});
}

// The ECS/EKS authorization token: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
// (read again on every fetch, since the agent rotates it) wins over
// AWS_CONTAINER_AUTHORIZATION_TOKEN. Empty when neither is set.
Result<std::string> EcsAuthorizationToken(const EnvLookup& env) {
  std::string file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  if (file.empty()) return env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return PermissionDenied(fmt::format(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={}: cannot read the file (does it exist and is it readable?)", file));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
    return PermissionDenied(fmt::format(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={}: the file must hold one line, the token", file));
  }
  return token;
}

Result<std::optional<TimedCredentials>> FromEcs(const EnvLookup& env) {
  std::string url;
  if (std::string rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !rel.empty()) {
    url = "http://169.254.170.2" + rel;
  } else {
    url = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  }
  if (url.empty()) return std::optional<TimedCredentials>();
  PlainRequest req;
  req.url = url;
  MB_ASSIGN_OR_RETURN(std::string token, EcsAuthorizationToken(env));
  if (!token.empty()) req.headers.emplace_back("Authorization", token);
  auto r = PlainHttp(req);
  if (!r.ok()) return Unavailable("ECS task-role credentials: " + r.status().message());
  if (!r->ok()) {
    return PermissionDenied(fmt::format("ECS task-role credentials endpoint answered HTTP {}", r->status));
  }
  MB_ASSIGN_OR_RETURN(auto creds, ParseContainerCredentials(r->body, "ECS task-role endpoint"));
  creds.source = "ECS task role";
  return std::optional<TimedCredentials>(std::move(creds));
}

Result<std::optional<TimedCredentials>> FromImds(const EnvLookup& env) {
  std::string disabled = env("AWS_EC2_METADATA_DISABLED");
  for (char& c : disabled) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (disabled == "true" || disabled == "1") return std::optional<TimedCredentials>();
  std::string base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (base.empty()) base = "http://169.254.169.254";
  while (!base.empty() && base.back() == '/') base.pop_back();

  PlainRequest tok;
  tok.method = "PUT";
  tok.url = base + "/latest/api/token";
  tok.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
  tok.timeout = std::chrono::milliseconds(1000);
  auto token = PlainHttp(tok);
  if (!token.ok() || !token->ok()) return std::optional<TimedCredentials>();  // not on EC2

  PlainRequest role;
  role.url = base + "/latest/meta-data/iam/security-credentials/";
  role.headers.emplace_back("X-aws-ec2-metadata-token", token->body);
  auto name = PlainHttp(role);
  if (!name.ok() || !name->ok() || TrimAscii(name->body).empty()) return std::optional<TimedCredentials>();
  std::string role_name(TrimAscii(name->body.substr(0, name->body.find('\n'))));

  PlainRequest get = role;
  get.url += role_name;
  auto r = PlainHttp(get);
  if (!r.ok()) return Unavailable("EC2 instance-profile credentials: " + r.status().message());
  if (!r->ok()) return PermissionDenied(fmt::format("EC2 metadata answered HTTP {} for role credentials", r->status));
  MB_ASSIGN_OR_RETURN(auto creds, ParseContainerCredentials(r->body, "EC2 instance metadata"));
  creds.source = "EC2 instance profile";
  return std::optional<TimedCredentials>(std::move(creds));
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v == nullptr ? std::string() : std::string(v);
  };
}

Result<AwsCredentials> ParseSharedCredentials(std::string_view text, std::string_view profile,
                                              std::string_view source) {
  std::map<std::string, std::string> values;
  bool in_profile = false, found = false;
  size_t line_no = 0, header_line = 0, pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line(TrimAscii(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos)));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      std::string name(TrimAscii(line.substr(1, line.size() - 2)));
      if (name.rfind("profile ", 0) == 0) name = std::string(TrimAscii(name.substr(8)));
      in_profile = name == profile;
      if (in_profile) {
        found = true;
        header_line = line_no;
      }
      continue;
    }
    if (!in_profile) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    values[std::string(TrimAscii(line.substr(0, eq)))] = std::string(TrimAscii(line.substr(eq + 1)));
  }
  if (!found) return NotFound(fmt::format("{}: no profile [{}]", source, profile));
  AwsCredentials c{values["aws_access_key_id"], values["aws_secret_access_key"], values["aws_session_token"]};
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return InvalidArgument(fmt::format("{}:{}: profile [{}] needs both aws_access_key_id and aws_secret_access_key",
                                       source, header_line, profile));
  }
  return c;
}

Result<TimedCredentials> ParseContainerCredentials(std::string_view json, std::string_view source) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Unavailable(fmt::format("{} returned something that is not JSON credentials", source));
  }
  TimedCredentials t;
  auto str = [&](const char* k) { return doc.contains(k) && doc[k].is_string() ? doc[k].get<std::string>() : ""; };
  t.credentials.access_key_id = str("AccessKeyId");
  t.credentials.secret_access_key = str("SecretAccessKey");
  t.credentials.session_token = str("Token");
  if (t.credentials.access_key_id.empty() || t.credentials.secret_access_key.empty()) {
    return Unavailable(fmt::format("{} returned no AccessKeyId/SecretAccessKey", source));
  }
  if (std::string exp = str("Expiration"); !exp.empty()) t.expiration = ParseIsoUtc(exp);
  return t;
}

ChainCredentialsProvider::ChainCredentialsProvider(AwsConfig aws, EnvLookup env, Clock clock)
    : aws_(std::move(aws)), env_(std::move(env)), clock_(std::move(clock)) {}

Result<TimedCredentials> ChainCredentialsProvider::Resolve() {
  if (!aws_.access_key_id.empty()) {
    return TimedCredentials{{aws_.access_key_id, aws_.secret_access_key, aws_.session_token}, std::nullopt,
                            "environment"};
  }
  using Step = Result<std::optional<TimedCredentials>> (*)(const AwsConfig&, const EnvLookup&);
  const Step steps[] = {
      [](const AwsConfig& a, const EnvLookup& e) { return FromProfile(a, e); },
      [](const AwsConfig&, const EnvLookup& e) { return FromEcs(e); },
      [](const AwsConfig&, const EnvLookup& e) { return FromImds(e); },
  };
  for (Step step : steps) {
    MB_ASSIGN_OR_RETURN(auto found, step(aws_, env_));
    if (found) {
      spdlog::debug("AWS credentials from {}", found->source);
      return *found;
    }
  }
  return PermissionDenied(fmt::format(
      "no AWS credentials found (profile '{}' is not in the shared credentials file): set AWS_ACCESS_KEY_ID and "
      "AWS_SECRET_ACCESS_KEY (in the environment or ./.env), or a profile in ~/.aws/credentials (AWS_PROFILE), "
      "or run with an ECS task role or EC2 instance profile",
      aws_.profile));
}

std::string DescribeCredentialSource(const AwsConfig& aws, const EnvLookup& env) {
  if (!aws.access_key_id.empty()) return "static keys (hidden)";
  auto profile = FromProfile(aws, env);
  if (!profile.ok()) return fmt::format("profile '{}': {}", aws.profile, profile.status().message());
  if (*profile) return fmt::format("profile '{}'", aws.profile);
  std::string rest = fmt::format("profile '{}' not found in the shared credentials file, so ", aws.profile);
  if (!env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").empty() || !env("AWS_CONTAINER_CREDENTIALS_FULL_URI").empty()) {
    return rest + "the ECS task role";
  }
  if (env("AWS_EC2_METADATA_DISABLED") == "true") return rest + "none (EC2 metadata is disabled)";
  return rest + "the EC2 instance profile (IMDSv2), when running on EC2";
}

Result<AwsCredentials> ChainCredentialsProvider::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_ && (!cached_->expiration || clock_() + kRefreshBefore < *cached_->expiration)) {
    return cached_->credentials;
  }
  auto fresh = Resolve();
  if (!fresh.ok()) {
    // Keep using credentials that have not expired yet if a refresh fails.
    if (cached_ && cached_->expiration && clock_() < *cached_->expiration) return cached_->credentials;
    return fresh.status();
  }
  cached_ = *fresh;
  return cached_->credentials;
}

std::shared_ptr<CredentialsProvider> SharedCredentialsChain(const AwsConfig& aws) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<CredentialsProvider>> providers;
  std::string key = aws.profile + '\n' + aws.access_key_id + '\n' + Sha256Hex(aws.secret_access_key + aws.session_token);
  std::lock_guard<std::mutex> lock(mu);
  auto& p = providers[key];
  if (!p) p = std::make_shared<ChainCredentialsProvider>(aws, ProcessEnv());
  return p;
}

}  // namespace modelbay
