// Large uploads: CreateMultipartUpload, UploadPart (a few parts in parallel),
// CompleteMultipartUpload; AbortMultipartUpload on any failure so nothing
// partial remains in the bucket. Concat builds a new object from the current
// one server-side: UploadPartCopy of the current object (in ranges of
// kCopyChunk, conditional on its ETag) followed by one UploadPart of the new
// bytes.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <pugixml.hpp>
#include <spdlog/spdlog.h>

#include "store/s3_store_impl.h"
#include "store/sigv4.h"

namespace modelbay {
namespace {

constexpr int kParallelParts = 4;
// UploadPartCopy copies at most 5 GiB per part; every part but the last must
// be at least 5 MiB. Ranges of 1 GiB, the last absorbing the remainder, stay
// within both limits.
constexpr uint64_t kCopyChunk = 1ull << 30;

std::string Quoted(const std::string& etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') return etag;
  return "\"" + etag + "\"";
}

Status ReadAt(int fd, uint64_t offset, std::string& buf, const std::filesystem::path& file) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Unavailable(fmt::format("error reading {} (changed while uploading?)", file.string()));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> S3Store::CreateUpload(const std::string& object) {
  AwsRequest create = Request("POST", object, "CreateMultipartUpload");
  create.query = {{"uploads", ""}};
  MB_ASSIGN_OR_RETURN(AwsResponse created, Call(create));
  pugi::xml_document doc;
  doc.load_buffer(created.body.data(), created.body.size());
  std::string upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (upload_id.empty()) return Unavailable(fmt::format("{}: no UploadId in the server's answer", create.operation));
  return upload_id;
}

Status S3Store::CompleteUpload(const std::string& object, const std::string& upload_id,
                               const std::vector<std::string>& etags) {
  pugi::xml_document body;
  pugi::xml_node root = body.append_child("CompleteMultipartUpload");
  for (size_t i = 0; i < etags.size(); ++i) {
    pugi::xml_node p = root.append_child("Part");
    p.append_child("PartNumber").text().set(std::to_string(i + 1).c_str());
    p.append_child("ETag").text().set(etags[i].c_str());
  }
  std::ostringstream xml;
  body.save(xml, "", pugi::format_raw);
  std::string text = xml.str();
  AwsRequest complete = Request("POST", object, "CompleteMultipartUpload");
  complete.query = {{"uploadId", upload_id}};
  complete.body = text;
  MB_ASSIGN_OR_RETURN(AwsResponse r, Call(complete));
  if (r.body.find("<Error>") != std::string::npos) {
    // S3 may answer 200 and report the failure in the body.
    r.status = 500;
    return ErrorFor(complete, r);
  }
  return Status::Ok();
}

void S3Store::AbortUpload(const std::string& key, const std::string& upload_id) {
  AwsRequest abort = Request("DELETE", location_.prefix + key, "AbortMultipartUpload");
  abort.query = {{"uploadId", upload_id}};
  if (auto r = Call(abort); !r.ok()) {
    spdlog::warn("could not abort the partial upload of {} ({}); a bucket lifecycle rule removes it later",
                 Where(key), r.status().message());
  }
}

Status S3Store::MultipartUpload(const std::string& key, const std::filesystem::path& file, uint64_t size) {
  const std::string object = location_.prefix + key;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound(fmt::format("cannot open {}", file.string()));
  auto created = CreateUpload(object);
  if (!created.ok()) {
    ::close(fd);
    return created.status();
  }
  const std::string upload_id = *created;

  const uint64_t parts = (size + kPartSize - 1) / kPartSize;
  std::vector<std::string> etags(parts);
  std::atomic<uint64_t> next{0};
  std::mutex mu;
  Status failure;
  auto worker = [&] {
    std::string buf;
    for (uint64_t i = next++; i < parts; i = next++) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!failure.ok()) return;
      }
      uint64_t offset = i * kPartSize;
      buf.resize(std::min<uint64_t>(kPartSize, size - offset));
      Status st = ReadAt(fd, offset, buf, file);
      if (st.ok()) {
        auto etag = UploadPart(key, upload_id, i + 1, parts, buf);
        if (etag.ok()) etags[i] = *etag;
        else st = etag.status();
      }
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (failure.ok()) failure = st;
        return;
      }
      spdlog::debug("uploaded part {}/{} of {}", i + 1, parts, Where(key));
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min<int>(kParallelParts, static_cast<int>(parts)); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  ::close(fd);

  if (failure.ok()) failure = CompleteUpload(object, upload_id, etags);
  if (failure.ok()) return Status::Ok();
  AbortUpload(key, upload_id);
  return failure;
}

Result<std::string> S3Store::UploadPart(const std::string& key, const std::string& upload_id, uint64_t number,
                                        uint64_t parts, std::string_view data) {
  AwsRequest part = Request("PUT", location_.prefix + key, "UploadPart");
  part.operation = fmt::format("UploadPart {}/{} of {}", number, parts, Where(key));
  part.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  part.body = data;
  MB_ASSIGN_OR_RETURN(AwsResponse r, Call(part));
  std::string etag = r.Header("etag");
  if (etag.empty()) return Unavailable(part.operation + ": no ETag in the answer");
  return etag;
}

Status S3Store::Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail) {
  MB_RETURN_IF_ERROR(ValidateKey(key));
  if (expected.size < kMinCopyPartBytes) return Store::Concat(key, expected, tail);
  const std::string object = location_.prefix + key;
  MB_ASSIGN_OR_RETURN(std::string upload_id, CreateUpload(object));
  // Step 1: the current object, copied server-side in ranges.
  const uint64_t copies = std::max<uint64_t>(1, expected.size / kCopyChunk);
  const uint64_t parts = copies + (tail.empty() ? 0 : 1);
  std::vector<std::string> etags;
  Status failure;
  for (uint64_t i = 0; i < copies && failure.ok(); ++i) {
    const uint64_t first = i * kCopyChunk;
    const uint64_t last = i + 1 == copies ? expected.size - 1 : first + kCopyChunk - 1;
    AwsRequest copy = Request("PUT", object, "UploadPartCopy");
    copy.operation = fmt::format("UploadPartCopy {}/{} of {}", i + 1, parts, Where(key));
    copy.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}};
    copy.headers = {{"x-amz-copy-source", UriEncode("/" + location_.bucket + "/" + object, true)},
                    {"x-amz-copy-source-range", fmt::format("bytes={}-{}", first, last)},
                    {"x-amz-copy-source-if-match", Quoted(expected.etag)}};
    auto r = http_->Send(copy);
    if (!r.ok()) {
      failure = r.status();
    } else if (r->status == 412) {
      failure = FailedPrecondition(fmt::format("{} was replaced by another writer", Where(key)));
    } else if (r->status == 404 && ParseAwsError(*r).code == "NoSuchKey") {
      failure = NotFound(fmt::format("{} not found in {}", key, Describe()));
    } else if (!r->ok() || r->body.find("<Error>") != std::string::npos) {
      if (r->ok()) r->status = 500;
      failure = ErrorFor(copy, *r);
    } else {
      pugi::xml_document doc;
      doc.load_buffer(r->body.data(), r->body.size());
      std::string etag = doc.child("CopyPartResult").child_value("ETag");
      if (etag.empty()) failure = Unavailable(copy.operation + ": no ETag in the answer");
      etags.push_back(etag);
    }
  }
  // Step 2: the new bytes as the last part (any size is allowed there).
  if (failure.ok() && !tail.empty()) {
    auto etag = UploadPart(key, upload_id, parts, parts, tail);
    if (etag.ok()) etags.push_back(*etag);
    else failure = etag.status();
  }
  if (failure.ok()) failure = CompleteUpload(object, upload_id, etags);
  if (failure.ok()) return Status::Ok();
  AbortUpload(key, upload_id);
  return failure;
}

}  // namespace modelbay
