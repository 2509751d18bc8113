// AWS Signature Version 4, as a pure function: the request, the credentials
// and the time go in, the headers to send come out. No I/O, no clock of its
// own, so it is tested against AWS's published vectors and botocore.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelbay {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // secret: never print
  std::string session_token;      // secret: never print; "" when static keys
};

// Query parameters, raw (not encoded). Repeated names are allowed.
using QueryParams = std::multimap<std::string, std::string>;

struct SigV4Request {
  std::string method;                          // "GET", "PUT", ...
  std::string host;                            // "bucket.s3.us-east-1.amazonaws.com" or "127.0.0.1:8333"
  std::string path = "/";                      // raw, not encoded: "/bucket/a b/ü.csv"
  QueryParams query;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, all signed
  std::string payload_sha256;                  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
  std::string region;
  std::string service;                         // "s3", "sqs", ...
  // S3 signs x-amz-content-sha256 and encodes the path once; other
  // services encode the path twice and send no x-amz-content-sha256.
  // Defaults from `service` when not set.
  bool s3_style() const { return service == "s3"; }
};

struct SignedHeaders {
  // Headers to add to the request, in this order: x-amz-date,
  // x-amz-content-sha256 (S3), x-amz-security-token (session), authorization.
  std::vector<std::pair<std::string, std::string>> headers;
  // For tests and debugging: the intermediate strings.
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

// AWS URI encoding: unreserved characters (A-Z a-z 0-9 - _ . ~) kept, every
// other byte as %XX (upper-case hex). With keep_slash, '/' is kept.
std::string UriEncode(std::string_view s, bool keep_slash);
// The canonical query string (also the one to put on the wire): each name and
// value URI-encoded, pairs sorted by encoded name then value, joined by '&'.
std::string CanonicalQueryString(const QueryParams& query);
// The canonical URI for `path` (S3: encoded once; others: twice).
std::string CanonicalUri(std::string_view path, bool s3_style);

SignedHeaders SignV4(const SigV4Request& request, const AwsCredentials& credentials,
                     std::chrono::system_clock::time_point now);

// Lower-level helpers, exposed for other AWS code paths and tests.
std::string HmacSha256(std::string_view key, std::string_view data);  // raw bytes
std::string Base64Encode(std::string_view bytes);
std::string Md5Base64(std::string_view data);  // Content-MD5 header value

}  // namespace modelbay
