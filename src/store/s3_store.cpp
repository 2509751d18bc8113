#include "store/s3_store.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>

#include <fmt/format.h>
#include <pugixml.hpp>
#include <spdlog/spdlog.h>

#include "store/local_store.h"
#include "store/s3_store_impl.h"

namespace modelbay {
namespace {

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::string StripSlashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

int64_t ParseS3Time(const std::string& iso) {
  std::tm tm{};
  int ms = 0;
  int n = std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                      &tm.tm_min, &tm.tm_sec, &ms);
  if (n < 6) return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + (n == 7 ? ms : 0);
}

S3Store::S3Store(StoreLocation location, AwsConfig aws, std::shared_ptr<AwsHttpClient> http)
    : location_(std::move(location)), aws_(std::move(aws)), http_(std::move(http)) {
  if (!aws_.endpoint_url.empty()) {
    endpoint_ = StripSlashes(aws_.endpoint_url);
    path_style_ = true;
  } else if (location_.bucket.find('.') != std::string::npos) {
    // Dotted names break TLS with virtual-hosted addressing.
    endpoint_ = fmt::format("https://s3.{}.amazonaws.com", aws_.region);
    path_style_ = true;
  } else {
    endpoint_ = fmt::format("https://{}.s3.{}.amazonaws.com", location_.bucket, aws_.region);
    path_style_ = false;
  }
}

std::string S3Store::Describe() const { return location_.ToString(); }

std::string S3Store::Where(const std::string& key) const {
  return fmt::format("s3://{}/{}{}", location_.bucket, location_.prefix, key);
}

AwsRequest S3Store::Request(std::string method, const std::string& object_key, std::string_view operation) const {
  AwsRequest r;
  r.method = std::move(method);
  r.service = "s3";
  r.region = aws_.region;
  r.endpoint = endpoint_;
  r.path = path_style_ ? "/" + location_.bucket : "";
  if (!object_key.empty() || !path_style_) r.path += "/" + object_key;
  r.operation = object_key.empty() ? fmt::format("{} s3://{}", operation, location_.bucket)
                                   : fmt::format("{} s3://{}/{}", operation, location_.bucket, object_key);
  return r;
}

Status LoadXmlAnswer(const AwsRequest& request, const AwsResponse& response, std::string_view root,
                     pugi::xml_document& doc) {
  if (!doc.load_buffer(response.body.data(), response.body.size())) {
    return Unavailable(fmt::format("{}: the server's answer is not XML", request.operation));
  }
  if (!doc.child(std::string(root).c_str())) {
    return Unavailable(fmt::format("{}: the server's answer is not a {} (is the endpoint an S3 server?)",
                                   request.operation, root));
  }
  return Status::Ok();
}

Status S3Store::ErrorFor(const AwsRequest& req, const AwsResponse& r) const {
  AwsError e = ParseAwsError(r);
  std::string where = aws_.endpoint_url.empty() ? fmt::format("AWS S3 (region {})", aws_.region) : endpoint_;
  if (e.code == "NoSuchBucket") {
    return FailedPrecondition(fmt::format(
        "{}: bucket {} does not exist at {}: create it (terraform apply / aws s3 mb s3://{}) or fix the store URL",
        req.operation, location_.bucket, where, location_.bucket));
  }
  if (r.status == 301 || e.code == "PermanentRedirect" || e.code == "AuthorizationHeaderMalformed") {
    std::string region = r.Header("x-amz-bucket-region");
    return FailedPrecondition(fmt::format("{}: bucket {} is in another region{}: set AWS_REGION{}", req.operation,
                                          location_.bucket, region.empty() ? "" : " (" + region + ")",
                                          region.empty() ? "" : "=" + region));
  }
  return modelbay::ErrorFor(req, r);
}

// A 404 for an object: NotFound for the key, unless the bucket itself is
// missing (then ErrorFor's clear message). A HEAD answer has no body to
// tell the two apart, so the bucket is asked about once.
Status S3Store::NotFoundFor(const AwsRequest& req, const AwsResponse& r, const std::string& key) const {
  std::string code = ParseAwsError(r).code;
  if (code.empty() && req.method == "HEAD") {
    auto bucket = http_->Send(Request("HEAD", "", "HeadBucket"));
    if (bucket.ok() && bucket->status == 404) code = "NoSuchBucket";
  }
  if (code == "NoSuchBucket") {
    AwsResponse missing = r;
    missing.headers["x-amz-error-code"] = code;
    return ErrorFor(req, missing);
  }
  return NotFound(fmt::format("{} not found in {}", key, Describe()));
}

// Create-if-absent answered "already exists": an earlier attempt of this
// call may have been applied with its answer lost. The key holding exactly
// our bytes means it was (callers make their content unique per writer).
Result<bool> S3Store::HoldsOwnWrite(const std::string& key, std::string_view data) {
  auto existing = Get(key);
  if (!existing.ok()) {
    if (existing.status().code() == Code::kNotFound) return false;  // deleted meanwhile
    return existing.status().WithContext(fmt::format("checking whether an earlier attempt created {}", key));
  }
  return *existing == data;
}

Result<AwsResponse> S3Store::Call(const AwsRequest& req) const {
  MB_ASSIGN_OR_RETURN(AwsResponse r, http_->Send(req));
  if (!r.ok()) return ErrorFor(req, r);
  return r;
}

Result<std::string> S3Store::Get(const std::string& key) {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  AwsRequest req = Request("GET", location_.prefix + key, "GetObject");
  MB_ASSIGN_OR_RETURN(AwsResponse r, http_->Send(req));
  if (r.status == 404) return NotFoundFor(req, r, key);
  if (!r.ok()) return ErrorFor(req, r);
  return std::move(r.body);
}

Result<std::string> S3Store::GetRange(const std::string& key, uint64_t offset, uint64_t length) {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  if (length == 0) return std::string();
  AwsRequest req = Request("GET", location_.prefix + key, "GetObject");
  req.headers.emplace_back("Range", fmt::format("bytes={}-{}", offset, offset + length - 1));
  MB_ASSIGN_OR_RETURN(AwsResponse r, http_->Send(req));
  if (r.status == 404 && ParseAwsError(r).code != "NoSuchBucket") {
    return NotFound(fmt::format("{} not found in {}", key, Describe()));
  }
  if (r.status == 416) return std::string();  // the range starts past the end
  if (!r.ok()) return ErrorFor(req, r);
  if (r.status == 206) return std::move(r.body);
  // A server that ignores Range answers 200 with the whole object.
  if (offset >= r.body.size()) return std::string();
  return r.body.substr(offset, length);
}

Status S3Store::PutObject(const std::string& key, std::string_view data, bool if_absent) {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  AwsRequest req = Request("PUT", location_.prefix + key, "PutObject");
  req.body = data;
  req.headers.emplace_back("Content-MD5", Md5Base64(data));
  if (if_absent) req.headers.emplace_back("If-None-Match", "*");
  MB_ASSIGN_OR_RETURN(AwsResponse r, http_->Send(req));
  if (if_absent && r.status == 412) {
    // Read back on every 412, not only after our own retries: libcurl
    // itself silently resends a request whose reused connection died before
    // any answer, so attempts == 1 does not prove the key was someone else's.
    MB_ASSIGN_OR_RETURN(bool own, HoldsOwnWrite(key, data));
    if (own) {
      spdlog::info("{}: already holds exactly these bytes (an earlier attempt was applied and its answer lost); "
                   "taking it as this write", Where(key));
      return Status::Ok();
    }
    return AlreadyExists(fmt::format("{} already exists in {}", key, Describe()));
  }
  if (!r.ok()) return ErrorFor(req, r);
  return Status::Ok();
}

Status S3Store::Put(const std::string& key, std::string_view data) { return PutObject(key, data, false); }

Status S3Store::PutIfAbsent(const std::string& key, std::string_view data) { return PutObject(key, data, true); }

Status S3Store::PutFile(const std::string& key, const std::filesystem::path& file) {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(file, ec);
  if (ec) return NotFound(fmt::format("cannot read {}: {}", file.string(), ec.message()));
  if (size >= kPartSize) return MultipartUpload(key, file, size);
  std::string data(size, '\0');
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) return NotFound(fmt::format("cannot open {}", file.string()));
  size_t got = std::fread(data.data(), 1, data.size(), f);
  std::fclose(f);
  if (got != size) return Unavailable(fmt::format("error reading {} (changed while reading?)", file.string()));
  return Put(key, data);
}

Status S3Store::GetToFile(const std::string& key, const std::filesystem::path& file) {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  std::filesystem::path dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path tmp = TempPathFor(dir / file.filename());
  AwsRequest req = Request("GET", location_.prefix + key, "GetObject");
  req.response_file = tmp;
  auto r = http_->Send(req);
  Status st;
  if (!r.ok()) {
    st = r.status();
  } else if (r->status == 404) {
    st = NotFoundFor(req, *r, key);
  } else if (!r->ok()) {
    st = ErrorFor(req, *r);
  } else {
    std::filesystem::rename(tmp, file, ec);
    if (ec) st = Unavailable(fmt::format("cannot write {}: {}", file.string(), ec.message()));
  }
  if (!st.ok()) std::filesystem::remove(tmp, ec);
  return st;
}

Result<std::optional<ObjectInfo>> S3Store::Head(const std::string& key) {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  AwsRequest req = Request("HEAD", location_.prefix + key, "HeadObject");
  MB_ASSIGN_OR_RETURN(AwsResponse r, http_->Send(req));
  if (r.status == 404) {
    Status missing = NotFoundFor(req, r, key);
    if (missing.code() == Code::kNotFound) return std::optional<ObjectInfo>();
    return missing;
  }
  if (!r.ok()) return ErrorFor(req, r);
  ObjectInfo info;
  info.key = key;
  info.size = std::strtoull(r.Header("content-length").c_str(), nullptr, 10);
  info.etag = Unquote(r.Header("etag"));
  info.last_modified_ms = ParseHttpDate(r.Header("last-modified")) * 1000;
  return std::optional<ObjectInfo>(std::move(info));
}

Result<std::vector<ObjectInfo>> S3Store::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string token;
  do {
    AwsRequest req = Request("GET", "", "ListObjectsV2");
    req.query = {{"list-type", "2"}, {"prefix", location_.prefix + prefix}};
    if (!token.empty()) req.query.emplace("continuation-token", token);
    MB_ASSIGN_OR_RETURN(AwsResponse r, Call(req));
    pugi::xml_document doc;
    MB_RETURN_IF_ERROR(LoadXmlAnswer(req, r, "ListBucketResult", doc));
    pugi::xml_node root = doc.child("ListBucketResult");
    for (pugi::xml_node c : root.children("Contents")) {
      std::string full = c.child_value("Key");
      if (full.size() <= location_.prefix.size() || full.back() == '/') continue;  // folder markers
      ObjectInfo info;
      info.key = full.substr(location_.prefix.size());
      info.size = std::strtoull(c.child_value("Size"), nullptr, 10);
      info.etag = Unquote(c.child_value("ETag"));
      info.last_modified_ms = ParseS3Time(c.child_value("LastModified"));
      out.push_back(std::move(info));
    }
    token = std::string(root.child_value("IsTruncated")) == "true" ? root.child_value("NextContinuationToken") : "";
  } while (!token.empty());
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status S3Store::Delete(const std::string& key) {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  AwsRequest req = Request("DELETE", location_.prefix + key, "DeleteObject");
  MB_ASSIGN_OR_RETURN(AwsResponse r, http_->Send(req));
  if (r.status == 404) {
    Status missing = NotFoundFor(req, r, key);
    return missing.code() == Code::kNotFound ? Status::Ok() : missing;
  }
  if (!r.ok()) return ErrorFor(req, r);
  return Status::Ok();
}

Result<std::shared_ptr<Store>> OpenS3Store(const StoreLocation& location, const AwsConfig& aws) {
  if (!aws.endpoint_url.empty()) MB_RETURN_IF_ERROR(HostOfEndpoint(aws.endpoint_url).status().WithContext("AWS_ENDPOINT_URL"));
  auto http = std::make_shared<AwsHttpClient>(SharedCredentialsChain(aws), HttpOptionsFromEnv(ProcessEnv()));
  return std::shared_ptr<Store>(std::make_shared<S3Store>(location, aws, std::move(http)));
}

}  // namespace modelbay
