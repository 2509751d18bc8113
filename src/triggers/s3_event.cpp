#include "triggers/s3_event.h"

#include <cctype>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace modelbay {
namespace {

using nlohmann::json;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

const json* Member(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

Result<std::string> StringAt(const json& object, const char* name, std::string_view where) {
  const json* v = Member(object, name);
  if (v == nullptr || !v->is_string()) {
    return InvalidArgument(fmt::format("{}: missing string field '{}'", where, name));
  }
  return v->get<std::string>();
}

Result<S3ObjectEvent> ParseRecord(const json& record, size_t index) {
  const std::string where = fmt::format("Records[{}]", index);
  S3ObjectEvent event;
  MB_ASSIGN_OR_RETURN(event.event_name, StringAt(record, "eventName", where));
  const json* s3 = Member(record, "s3");
  if (s3 == nullptr || !s3->is_object()) {
    return InvalidArgument(fmt::format("{}: missing object 's3'", where));
  }
  const json* bucket = Member(*s3, "bucket");
  const json* object = Member(*s3, "object");
  if (bucket == nullptr || object == nullptr) {
    return InvalidArgument(fmt::format("{}.s3: needs 'bucket' and 'object'", where));
  }
  MB_ASSIGN_OR_RETURN(event.bucket, StringAt(*bucket, "name", where + ".s3.bucket"));
  MB_ASSIGN_OR_RETURN(std::string raw_key, StringAt(*object, "key", where + ".s3.object"));
  auto key = DecodeS3EventKey(raw_key);
  if (!key.ok()) return key.status().WithContext(where + ".s3.object.key");
  event.key = std::move(key).value();
  if (event.key.empty()) return InvalidArgument(where + ".s3.object.key is empty");
  if (const json* size = Member(*object, "size"); size != nullptr) {
    if (!size->is_number_unsigned() && !size->is_number_integer()) {
      return InvalidArgument(where + ".s3.object.size is not an integer");
    }
    event.size = size->get<uint64_t>();
  }
  if (const json* etag = Member(*object, "eTag"); etag != nullptr && etag->is_string()) {
    event.etag = NormalizeEtag(etag->get<std::string>());
  }
  return event;
}

Result<S3EventMessage> ParseDocument(const json& doc, int depth) {
  if (!doc.is_object()) return InvalidArgument("message body is not a JSON object");
  if (const json* event = Member(doc, "Event"); event != nullptr && event->is_string() &&
                                                 event->get<std::string>() == "s3:TestEvent") {
    S3EventMessage message;
    message.test_event = true;
    return message;
  }
  // SNS envelope: the notification is the JSON text in "Message".
  if (const json* type = Member(doc, "Type"); type != nullptr && type->is_string() &&
                                               type->get<std::string>() == "Notification") {
    const json* inner = Member(doc, "Message");
    if (depth > 0 || inner == nullptr || !inner->is_string()) {
      return InvalidArgument("SNS envelope without a string 'Message'");
    }
    json parsed = json::parse(inner->get<std::string>(), nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return InvalidArgument("SNS 'Message' is not JSON");
    return ParseDocument(parsed, depth + 1);
  }
  const json* records = Member(doc, "Records");
  if (records == nullptr || !records->is_array() || records->empty()) {
    return InvalidArgument("not an S3 event notification: no 'Records' array and no s3:TestEvent");
  }
  S3EventMessage message;
  for (size_t i = 0; i < records->size(); ++i) {
    MB_ASSIGN_OR_RETURN(S3ObjectEvent event, ParseRecord((*records)[i], i));
    message.records.push_back(std::move(event));
  }
  return message;
}

bool EndsWithCsv(std::string_view key) {
  if (key.size() < 4) return false;
  std::string tail(key.substr(key.size() - 4));
  for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tail == ".csv";
}

}  // namespace

std::string NormalizeEtag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

Result<std::string> DecodeS3EventKey(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    char c = encoded[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= encoded.size()) {
        return InvalidArgument(fmt::format("truncated %-escape at offset {} in key '{}'", i, encoded));
      }
      int hi = HexValue(encoded[i + 1]);
      int lo = HexValue(encoded[i + 2]);
      if (hi < 0 || lo < 0) {
        return InvalidArgument(fmt::format("bad %-escape at offset {} in key '{}'", i, encoded));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<S3EventMessage> ParseS3EventMessage(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgument("message body is not JSON");
  return ParseDocument(doc, 0);
}

EventRelevance ClassifyEvent(const S3ObjectEvent& event, const StoreLocation& data) {
  EventRelevance r;
  if (data.kind != StoreLocation::Kind::kS3) {
    r.reason = "the data store is not on S3";
  } else if (event.event_name.rfind("ObjectCreated:", 0) != 0) {
    r.reason = fmt::format("event {} is not an ObjectCreated event", event.event_name);
  } else if (event.bucket != data.bucket) {
    r.reason = fmt::format("bucket {} is not the data store's bucket {}", event.bucket, data.bucket);
  } else if (event.key.rfind(data.prefix, 0) != 0) {
    r.reason = fmt::format("key {} is outside the data store prefix '{}'", event.key, data.prefix);
  } else {
    std::string key = event.key.substr(data.prefix.size());
    if (key.rfind(".modelbay/", 0) == 0) {
      r.reason = fmt::format("key {} is modelbay's own bookkeeping", event.key);
    } else if (!EndsWithCsv(key)) {
      r.reason = fmt::format("key {} is not a .csv file", event.key);
    } else {
      r.relevant = true;
      r.key = std::move(key);
    }
  }
  return r;
}

}  // namespace modelbay
