#include "store/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>

#include <algorithm>
#include <cctype>

#include "core/clock.h"
#include "core/hash.h"
#include "core/strings.h"

namespace modelbay {
namespace {

bool Unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

// Trims and collapses runs of spaces, as SigV4's canonical headers require.
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQueryString(const QueryParams& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string CanonicalUri(std::string_view path, bool s3_style) {
  std::string p = path.empty() ? std::string("/") : std::string(path);
  std::string once = UriEncode(p, true);
  return s3_style ? once : UriEncode(once, true);
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Md5Base64(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

SignedHeaders SignV4(const SigV4Request& req, const AwsCredentials& creds,
                     std::chrono::system_clock::time_point now) {
  SignedHeaders result;
  const std::string amz_date = FormatAmzDate(now);
  const std::string date = amz_date.substr(0, 8);

  result.headers.emplace_back("x-amz-date", amz_date);
  if (req.s3_style()) result.headers.emplace_back("x-amz-content-sha256", req.payload_sha256);
  if (!creds.session_token.empty()) {
    result.headers.emplace_back("x-amz-security-token", creds.session_token);
  }

  // Every header is signed: the caller's, host, and the ones added above.
  std::map<std::string, std::string> canon;
  auto add = [&canon](std::string_view name, std::string_view value) {
    std::string key = AsciiLower(name);
    std::string v = CanonicalValue(value);
    auto it = canon.find(key);
    if (it == canon.end()) {
      canon.emplace(std::move(key), std::move(v));
    } else {
      it->second += ',';
      it->second += v;
    }
  };
  add("host", req.host);
  for (const auto& [k, v] : req.headers) {
    if (AsciiLower(k) != "host") add(k, v);
  }
  for (const auto& [k, v] : result.headers) add(k, v);

  std::string canonical_headers, signed_headers;
  for (const auto& [k, v] : canon) {
    canonical_headers += k + ":" + v + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += k;
  }

  result.canonical_request = req.method + "\n" + CanonicalUri(req.path, req.s3_style()) + "\n" +
                             CanonicalQueryString(req.query) + "\n" + canonical_headers + "\n" +
                             signed_headers + "\n" + req.payload_sha256;
  const std::string scope = date + "/" + req.region + "/" + req.service + "/aws4_request";
  result.string_to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" +
                          Sha256Hex(result.canonical_request);

  std::string k = HmacSha256("AWS4" + creds.secret_access_key, date);
  k = HmacSha256(k, req.region);
  k = HmacSha256(k, req.service);
  k = HmacSha256(k, "aws4_request");
  result.signature = HexEncode(HmacSha256(k, result.string_to_sign));

  result.headers.emplace_back("authorization", "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" +
                                                   scope + ", SignedHeaders=" + signed_headers +
                                                   ", Signature=" + result.signature);
  return result;
}

}  // namespace modelbay
