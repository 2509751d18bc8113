// Emptying a store: every object version and delete marker under the prefix
// (ListObjectVersions) when the bucket is or was versioned, else every
// current object (ListObjectsV2); removed with DeleteObjects, 1000 at a time.
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "store/s3_store_impl.h"

namespace modelbay {
namespace {

constexpr size_t kDeleteBatch = 1000;

std::string Relative(const std::string& full, const std::string& prefix) {
  return full.size() > prefix.size() ? full.substr(prefix.size()) : full;
}

}  // namespace

Status S3Store::DeleteBatch(const std::vector<std::pair<std::string, std::string>>& objects) {
  for (size_t start = 0; start < objects.size(); start += kDeleteBatch) {
    pugi::xml_document doc;
    pugi::xml_node root = doc.append_child("Delete");
    root.append_child("Quiet").text().set("true");
    for (size_t i = start; i < std::min(objects.size(), start + kDeleteBatch); ++i) {
      pugi::xml_node o = root.append_child("Object");
      o.append_child("Key").text().set(objects[i].first.c_str());
      if (!objects[i].second.empty()) o.append_child("VersionId").text().set(objects[i].second.c_str());
    }
    std::ostringstream xml;
    doc.save(xml, "", pugi::format_raw);
    std::string body = xml.str();
    AwsRequest req = Request("POST", "", "DeleteObjects");
    req.query = {{"delete", ""}};
    req.body = body;
    req.headers.emplace_back("Content-MD5", Md5Base64(body));
    req.headers.emplace_back("Content-Type", "application/xml");
    MB_ASSIGN_OR_RETURN(AwsResponse r, Call(req));
    pugi::xml_document answer;
    MB_RETURN_IF_ERROR(LoadXmlAnswer(req, r, "DeleteResult", answer));
    std::vector<std::string> errors;
    for (pugi::xml_node e : answer.child("DeleteResult").children("Error")) {
      errors.push_back(fmt::format("{} ({}: {})", e.child_value("Key"), e.child_value("Code"), e.child_value("Message")));
    }
    if (!errors.empty()) {
      std::string shown;
      for (size_t i = 0; i < std::min<size_t>(errors.size(), 5); ++i) shown += (i ? "; " : "") + errors[i];
      return Unavailable(fmt::format("{}: {} objects could not be deleted: {}", req.operation, errors.size(), shown));
    }
  }
  return Status::Ok();
}

Result<CleanupReport> S3Store::CleanupCurrent(bool dry_run) {
  CleanupReport report;
  MB_ASSIGN_OR_RETURN(auto objects, List(""));
  std::vector<std::pair<std::string, std::string>> doomed;
  for (const auto& o : objects) {
    report.keys.push_back(o.key);
    doomed.emplace_back(location_.prefix + o.key, "");
  }
  report.objects = objects.size();
  if (!dry_run) MB_RETURN_IF_ERROR(DeleteBatch(doomed));
  return report;
}

Result<CleanupReport> S3Store::CleanupVersions(bool dry_run) {
  CleanupReport report;
  std::set<std::string> keys;
  std::vector<std::pair<std::string, std::string>> doomed;
  std::string key_marker, version_marker;
  bool truncated = true;
  while (truncated) {
    AwsRequest req = Request("GET", "", "ListObjectVersions");
    req.query = {{"versions", ""}, {"prefix", location_.prefix}};
    if (!key_marker.empty()) req.query.emplace("key-marker", key_marker);
    if (!version_marker.empty()) req.query.emplace("version-id-marker", version_marker);
    MB_ASSIGN_OR_RETURN(AwsResponse r, Call(req));
    pugi::xml_document doc;
    MB_RETURN_IF_ERROR(LoadXmlAnswer(req, r, "ListVersionsResult", doc));
    pugi::xml_node root = doc.child("ListVersionsResult");
    for (pugi::xml_node n : root.children()) {
      std::string name = n.name();
      if (name != "Version" && name != "DeleteMarker") continue;
      std::string key = n.child_value("Key");
      doomed.emplace_back(key, n.child_value("VersionId"));
      keys.insert(Relative(key, location_.prefix));
      if (name == "DeleteMarker") {
        ++report.delete_markers;
      } else if (std::string(n.child_value("IsLatest")) == "true") {
        ++report.objects;
      } else {
        ++report.old_versions;
      }
    }
    truncated = std::string(root.child_value("IsTruncated")) == "true";
    key_marker = root.child_value("NextKeyMarker");
    version_marker = root.child_value("NextVersionIdMarker");
    if (truncated && key_marker.empty()) {
      return Unavailable(fmt::format("{}: truncated answer without NextKeyMarker", req.operation));
    }
  }
  report.keys.assign(keys.begin(), keys.end());
  if (!dry_run) MB_RETURN_IF_ERROR(DeleteBatch(doomed));
  return report;
}

Result<CleanupReport> S3Store::Cleanup(bool dry_run) {
  AwsRequest req = Request("GET", "", "GetBucketVersioning");
  req.query = {{"versioning", ""}};
  MB_ASSIGN_OR_RETURN(AwsResponse r, http_->Send(req));
  if (r.status == 501 || r.status == 405) return CleanupCurrent(dry_run);  // server without versioning
  if (!r.ok()) return ErrorFor(req, r);
  pugi::xml_document doc;
  doc.load_buffer(r.body.data(), r.body.size());
  std::string status = doc.child("VersioningConfiguration").child_value("Status");
  // "Enabled" or "Suspended": old versions and delete markers may exist.
  if (status.empty()) return CleanupCurrent(dry_run);
  return CleanupVersions(dry_run);
}

}  // namespace modelbay
