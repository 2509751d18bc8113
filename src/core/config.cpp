#include "core/config.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/strings.h"

extern char** environ;

namespace modelbay {
namespace {

using EnvMap = std::map<std::string, std::string, std::less<>>;

bool ValidBucketName(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

std::string Lookup(const EnvMap& primary, const EnvMap& secondary, std::string_view name) {
  if (auto it = primary.find(name); it != primary.end() && !it->second.empty()) return it->second;
  if (auto it = secondary.find(name); it != secondary.end()) return it->second;
  return "";
}

}  // namespace

std::string RedactUrlCredentials(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t done = 0;
  for (size_t scheme_end = text.find("://"); scheme_end != std::string_view::npos;
       scheme_end = text.find("://", scheme_end + 3)) {
    const size_t host_start = scheme_end + 3;
    size_t authority_end = host_start;
    while (authority_end < text.size() && std::string_view("/?# \t\n\"'").find(text[authority_end]) ==
                                               std::string_view::npos) {
      ++authority_end;
    }
    const size_t at = text.substr(host_start, authority_end - host_start).rfind('@');
    if (at == std::string_view::npos) continue;
    out.append(text.substr(done, host_start - done));
    out += "***";
    done = host_start + at;  // from the '@' on
  }
  out.append(text.substr(done));
  return out;
}

std::string StoreLocation::ToString() const {
  if (kind == Kind::kLocal) return path.string();
  std::string s = "s3://" + bucket;
  if (!prefix.empty()) s += "/" + prefix.substr(0, prefix.size() - 1);
  return s;
}

namespace {

// A `scheme:` before any '/' (`s3:/bucket`, `s3:bucket`, `file:/x`): a URL
// typed wrong, never a folder name.
bool HasSchemeLikePrefix(std::string_view v) {
  size_t colon = v.find(':');
  if (colon == std::string_view::npos || colon == 0 || v.substr(0, colon).find('/') != std::string_view::npos) {
    return false;
  }
  for (char c : v.substr(0, colon)) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '.' || c == '-')) return false;
  }
  return std::isalpha(static_cast<unsigned char>(v[0])) != 0;
}

bool IsLocalPathForm(std::string_view v) {
  return v.starts_with('/') || v.starts_with('.') || v == "~" || v.starts_with("~/");
}

}  // namespace

Result<StoreLocation> ParseStoreLocation(std::string_view value,
                                         const std::filesystem::path& default_path) {
  StoreLocation loc;
  std::string v(TrimAscii(value));
  if (v.empty()) {
    loc.kind = StoreLocation::Kind::kLocal;
    loc.path = std::filesystem::absolute(default_path).lexically_normal();
    return loc;
  }
  const std::string forms = std::string("accepted forms: ") + std::string(kStoreLocationForms);
  if (v.rfind("s3://", 0) == 0) {
    std::string rest = v.substr(5);
    size_t slash = rest.find('/');
    loc.kind = StoreLocation::Kind::kS3;
    loc.bucket = rest.substr(0, slash);
    if (slash != std::string::npos) {
      std::string prefix = rest.substr(slash + 1);
      while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
      if (!prefix.empty()) loc.prefix = prefix + "/";
    }
    if (!ValidBucketName(loc.bucket)) {
      return InvalidArgument("'" + v + "' does not name a valid S3 bucket (3-63 characters: a-z, 0-9, '-', '.')");
    }
    return loc;
  }
  if (v.rfind("file://", 0) == 0) {
    std::string p = v.substr(7);
    if (p.empty() || p[0] != '/') {
      return InvalidArgument("'" + v + "': a file:// URL needs an absolute path, e.g. file:///srv/modelbay/data");
    }
    loc.path = std::filesystem::path(p).lexically_normal();
    return loc;
  }
  if (v.find("://") != std::string::npos) {
    return InvalidArgument("'" + v + "': unsupported store URL scheme; " + forms);
  }
  if (HasSchemeLikePrefix(v)) {
    std::string scheme = v.substr(0, v.find(':'));
    std::string rest = v.substr(scheme.size() + 1);
    while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
    std::string hint = scheme == "s3" ? " (did you mean s3://" + rest + "?)"
                       : scheme == "file" ? " (did you mean file:///" + rest + "?)" : "";
    return InvalidArgument("'" + v + "': malformed store URL (a scheme needs '://')" + hint + "; " + forms);
  }
  if (IsLocalPathForm(v)) {
    loc.path = std::filesystem::absolute(v).lexically_normal();
    return loc;
  }
  if (v.find('/') != std::string::npos) {
    std::string first = v.substr(0, v.find('/'));
    return InvalidArgument("'" + v + "' is ambiguous: write s3://" + v + " for S3 (bucket " + first +
                           ") or ./" + v + " for a local folder; " + forms);
  }
  // A bare name: the seed's bucket name, whatever folders exist here.
  if (!ValidBucketName(v)) {
    return InvalidArgument("'" + v + "' is not a valid S3 bucket name (a bare name always means an S3 bucket); "
                           "write ./" + v + " for a local folder; " + forms);
  }
  loc.kind = StoreLocation::Kind::kS3;
  loc.bucket = v;
  return loc;
}

std::string Config::Get(std::string_view name, std::string_view fallback) const {
  auto it = env.find(name);
  return it == env.end() || it->second.empty() ? std::string(fallback) : it->second;
}

Result<EnvMap> ParseDotEnv(std::string_view text, std::string_view source) {
  EnvMap out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    std::string line(TrimAscii(raw));
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = std::string(TrimAscii(line.substr(7)));
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument(std::string(source) + ":" + std::to_string(line_no) +
                             ": expected KEY=VALUE");
    }
    std::string key(TrimAscii(line.substr(0, eq)));
    for (char c : key) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) {
        return InvalidArgument(std::string(source) + ":" + std::to_string(line_no) +
                               ": '" + key + "' is not a valid variable name");
      }
    }
    std::string value(TrimAscii(line.substr(eq + 1)));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    } else if (auto hash = value.find(" #"); hash != std::string::npos) {
      value = std::string(TrimAscii(value.substr(0, hash)));
    }
    out[key] = value;
  }
  return out;
}

Result<Config> BuildConfig(const ConfigOverrides& flags, const EnvMap& process_env,
                           const EnvMap& dotenv, const std::filesystem::path& cwd) {
  Config c;
  c.env = dotenv;
  for (const auto& [k, v] : process_env) c.env[k] = v;
  auto get = [&](std::string_view name) { return Lookup(process_env, dotenv, name); };
  auto pick = [&](const std::optional<std::string>& flag, std::string_view name) {
    return flag ? *flag : get(name);
  };
  // Records where `name` came from (flag_name: its flag, when it has one).
  auto note_source = [&](std::string_view name, const std::optional<std::string>* flag, std::string_view flag_name) {
    std::string source = "default";
    if (flag != nullptr && flag->has_value()) {
      source = "flag " + std::string(flag_name);
    } else if (auto it = process_env.find(name); it != process_env.end() && !it->second.empty()) {
      source = "environment";
    } else if (dotenv.find(name) != dotenv.end()) {
      source = ".env";
    }
    c.sources[std::string(name)] = source;
  };
  note_source("MODELBAY_HOME", &flags.home, "--home");

  std::string home = pick(flags.home, "MODELBAY_HOME");
  c.home = home.empty() ? cwd / ".modelbay" : std::filesystem::path(home);
  if (c.home.is_relative()) c.home = cwd / c.home;
  c.home = c.home.lexically_normal();

  struct Slot {
    StoreLocation* loc;
    const std::optional<std::string>* flag;
    const char* flag_name;
    const char* env;
    const char* sub;
  };
  Slot slots[] = {{&c.data, &flags.data_store, "--data-store", "DATA_STORE", "data"},
                  {&c.models, &flags.model_store, "--model-store", "MODEL_ARTIFACTS_STORE", "models"},
                  {&c.results, &flags.results_store, "--results-store", "RESULTS_STORE", "results"}};
  for (auto& s : slots) {
    note_source(s.env, s.flag, s.flag_name);
    std::string v(TrimAscii(pick(*s.flag, s.env)));
    // Relative and ~ paths are resolved here, where cwd and HOME are known.
    if (v == "~" || v.starts_with("~/")) {
      std::string home_dir = Lookup(process_env, {}, "HOME");
      if (home_dir.empty()) return InvalidArgument(fmt::format("{}={}: HOME is not set", s.env, v));
      v = home_dir + v.substr(1);
    } else if (v.starts_with('.')) {
      v = (cwd / v).lexically_normal().string();
    }
    auto loc = ParseStoreLocation(v, c.home / s.sub);
    if (!loc.ok()) return loc.status().WithContext(*s.flag ? s.flag_name : s.env);
    if (loc->kind == StoreLocation::Kind::kS3 && v.find("://") == std::string::npos &&
        std::filesystem::is_directory(cwd / v)) {
      spdlog::warn("{}={} means the S3 bucket s3://{} (a bare name is always a bucket), not the folder ./{} "
                   "here; write ./{} for the folder",
                   *s.flag ? s.flag_name : s.env, v, v, v, v);
    }
    *s.loc = *loc;
  }

  c.aws.endpoint_url = pick(flags.endpoint_url, "AWS_ENDPOINT_URL");
  note_source("AWS_ENDPOINT_URL", &flags.endpoint_url, "--endpoint-url");
  if (c.aws.endpoint_url.empty()) {
    c.aws.endpoint_url = get("AWS_ENDPOINT_URL_S3");
    if (!c.aws.endpoint_url.empty()) {
      note_source("AWS_ENDPOINT_URL_S3", nullptr, "");
      c.sources["AWS_ENDPOINT_URL"] = c.sources["AWS_ENDPOINT_URL_S3"] + " (AWS_ENDPOINT_URL_S3)";
    }
  }
  std::string region = pick(flags.region, "AWS_REGION");
  note_source("AWS_REGION", &flags.region, "--region");
  if (region.empty()) {
    region = get("AWS_DEFAULT_REGION");
    if (!region.empty()) {
      note_source("AWS_DEFAULT_REGION", nullptr, "");
      c.sources["AWS_REGION"] = c.sources["AWS_DEFAULT_REGION"] + " (AWS_DEFAULT_REGION)";
    }
  }
  if (!region.empty()) c.aws.region = region;
  if (std::string p = get("AWS_PROFILE"); !p.empty()) c.aws.profile = p;
  note_source("AWS_PROFILE", nullptr, "");
  c.aws.access_key_id = get("AWS_ACCESS_KEY_ID");
  note_source("AWS_ACCESS_KEY_ID", nullptr, "");
  if (c.aws.access_key_id.empty()) {
    c.aws.access_key_id = get("AWS_ACCESS_KEY");
    if (!c.aws.access_key_id.empty()) {
      note_source("AWS_ACCESS_KEY", nullptr, "");
      c.sources["AWS_ACCESS_KEY_ID"] = c.sources["AWS_ACCESS_KEY"] + " (the seed's AWS_ACCESS_KEY)";
    }
  }
  c.aws.secret_access_key = get("AWS_SECRET_ACCESS_KEY");
  c.aws.session_token = get("AWS_SESSION_TOKEN");
  if (c.aws.access_key_id.empty() != c.aws.secret_access_key.empty()) {
    return InvalidArgument(
        "AWS credentials are half set: give both AWS_ACCESS_KEY_ID (or the seed's AWS_ACCESS_KEY) "
        "and AWS_SECRET_ACCESS_KEY, or neither");
  }
  return c;
}

Result<Config> LoadConfig(const ConfigOverrides& flags) {
  EnvMap process_env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos) process_env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  std::filesystem::path cwd = std::filesystem::current_path();
  EnvMap dotenv;
  std::ifstream in(cwd / ".env", std::ios::binary);
  if (in) {
    std::stringstream ss;
    ss << in.rdbuf();
    MB_ASSIGN_OR_RETURN(dotenv, ParseDotEnv(ss.str(), (cwd / ".env").string()));
  }
  return BuildConfig(flags, process_env, dotenv, cwd);
}

}  // namespace modelbay
