// Private to src/store: the S3 Store, split over s3_store.cpp (objects),
// s3_multipart.cpp (large uploads) and s3_cleanup.cpp (emptying a bucket).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/http_client.h"
#include "store/store.h"

namespace pugi {
class xml_document;
}

namespace modelbay {

// Parses the XML body of a successful S3 answer into `doc`; Unavailable
// naming the operation when it is not XML or its root element is not `root`
// (a 200 from something that is not S3 confirms nothing).
Status LoadXmlAnswer(const AwsRequest& request, const AwsResponse& response, std::string_view root,
                     pugi::xml_document& doc);

class S3Store final : public Store {
 public:
  S3Store(StoreLocation location, AwsConfig aws, std::shared_ptr<AwsHttpClient> http);

  std::string Describe() const override;
  Result<std::string> Get(const std::string& key) override;
  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override;
  Status Put(const std::string& key, std::string_view data) override;
  Status PutIfAbsent(const std::string& key, std::string_view data) override;
  Status PutFile(const std::string& key, const std::filesystem::path& file) override;
  Status GetToFile(const std::string& key, const std::filesystem::path& file) override;
  Status Concat(const std::string& key, const ObjectInfo& expected, std::string_view tail) override;
  Result<std::optional<ObjectInfo>> Head(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  Result<CleanupReport> Cleanup(bool dry_run) override;

  // Objects at or above this size are uploaded in parts of this size.
  static constexpr uint64_t kPartSize = 16ull << 20;

 private:
  // A request for `object_key` (bucket-relative, already prefixed) or, when
  // empty, for the bucket itself. `operation` names the S3 API call.
  AwsRequest Request(std::string method, const std::string& object_key, std::string_view operation) const;
  // Like AwsHttpClient::Call, with S3 wording for a missing bucket or a
  // bucket in another region.
  Result<AwsResponse> Call(const AwsRequest& request) const;
  Status ErrorFor(const AwsRequest& request, const AwsResponse& response) const;
  // The one missing-bucket check for object calls: a 404 is NotFound for
  // `key`, or FailedPrecondition when the bucket does not exist.
  Status NotFoundFor(const AwsRequest& request, const AwsResponse& response, const std::string& key) const;
  // True when `key` holds exactly `data` (a create-if-absent whose earlier,
  // unanswered attempt was applied).
  Result<bool> HoldsOwnWrite(const std::string& key, std::string_view data);
  std::string Where(const std::string& key) const;  // "s3://bucket/prefix/key"

  Status PutObject(const std::string& key, std::string_view data, bool if_absent);
  Status MultipartUpload(const std::string& key, const std::filesystem::path& file, uint64_t size);
  // Multipart steps (s3_multipart.cpp); `object` is prefixed, `key` not.
  Result<std::string> CreateUpload(const std::string& object);
  // Part `number` of `parts` (for messages); returns its ETag.
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, uint64_t number,
                                 uint64_t parts, std::string_view data);
  Status CompleteUpload(const std::string& object, const std::string& upload_id,
                        const std::vector<std::string>& etags);
  void AbortUpload(const std::string& key, const std::string& upload_id);
  Result<CleanupReport> CleanupVersions(bool dry_run);
  Result<CleanupReport> CleanupCurrent(bool dry_run);
  // DeleteObjects in batches of 1000; `objects` are (key, version id) pairs
  // (version id "" for an unversioned delete). Keys are bucket-relative.
  Status DeleteBatch(const std::vector<std::pair<std::string, std::string>>& objects);

  StoreLocation location_;
  AwsConfig aws_;
  std::shared_ptr<AwsHttpClient> http_;
  std::string endpoint_;      // scheme://authority the requests go to
  bool path_style_ = true;    // "/bucket/key" rather than "bucket.host/key"
};

// "2009-10-12T17:50:30.000Z" -> Unix milliseconds (0 when unparseable).
int64_t ParseS3Time(const std::string& iso);

}  // namespace modelbay
