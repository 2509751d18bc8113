// Large uploads: CreateMultipartUpload, UploadPart (a few parts in parallel),
// CompleteMultipartUpload; AbortMultipartUpload on any failure so nothing
// partial remains in the bucket.
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

namespace modelbay {
namespace {

constexpr int kParallelParts = 4;

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

Status S3Store::MultipartUpload(const std::string& key, const std::filesystem::path& file, uint64_t size) {
  const std::string object = location_.prefix + key;
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NotFound(fmt::format("cannot open {}", file.string()));

  AwsRequest create = Request("POST", object, "CreateMultipartUpload");
  create.query = {{"uploads", ""}};
  auto created = Call(create);
  if (!created.ok()) {
    ::close(fd);
    return created.status();
  }
  pugi::xml_document doc;
  doc.load_buffer(created->body.data(), created->body.size());
  const std::string upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
  if (upload_id.empty()) {
    ::close(fd);
    return Unavailable(fmt::format("{}: no UploadId in the server's answer", create.operation));
  }

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
        AwsRequest part = Request("PUT", object, "UploadPart");
        part.operation = fmt::format("UploadPart {}/{} of {}", i + 1, parts, Where(key));
        part.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}};
        part.body = buf;
        auto r = Call(part);
        if (r.ok()) {
          etags[i] = r->Header("etag");
          if (etags[i].empty()) st = Unavailable(part.operation + ": no ETag in the answer");
        } else {
          st = r.status();
        }
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

  if (failure.ok()) {
    pugi::xml_document body;
    pugi::xml_node root = body.append_child("CompleteMultipartUpload");
    for (uint64_t i = 0; i < parts; ++i) {
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
    auto r = Call(complete);
    if (!r.ok()) {
      failure = r.status();
    } else if (r->body.find("<Error>") != std::string::npos) {
      // S3 may answer 200 and report the failure in the body.
      AwsResponse as_error = *r;
      as_error.status = 500;
      failure = ErrorFor(complete, as_error);
    } else {
      return Status::Ok();
    }
  }
  AwsRequest abort = Request("DELETE", object, "AbortMultipartUpload");
  abort.query = {{"uploadId", upload_id}};
  if (auto r = Call(abort); !r.ok()) {
    spdlog::warn("could not abort the partial upload of {} ({}); a bucket lifecycle rule removes it later",
                 Where(key), r.status().message());
  }
  return failure;
}

}  // namespace modelbay
