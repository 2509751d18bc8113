// S3 event notifications as delivered through SQS: the real AWS JSON shape
// (Records[].eventName, s3.bucket.name, s3.object.key URL-encoded with '+'
// for spaces, size, eTag), the `s3:TestEvent` AWS sends when a notification
// is configured, and the same document wrapped in an SNS envelope.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/status.h"

namespace modelbay {

struct S3ObjectEvent {
  std::string event_name;  // "ObjectCreated:Put", "ObjectRemoved:Delete", ...
  std::string bucket;
  std::string key;         // URL-decoded
  uint64_t size = 0;
  std::string etag;        // without quotes; may be empty (e.g. removals)
};

struct S3EventMessage {
  bool test_event = false;  // s3:TestEvent: nothing to do
  std::vector<S3ObjectEvent> records;
};

// Decodes an S3 notification key: '+' is a space, %XX a byte.
// InvalidArgument on a truncated or non-hex escape.
Result<std::string> DecodeS3EventKey(std::string_view encoded);

// Parses an SQS message body. InvalidArgument (saying what is missing) when
// the body is not an S3 event notification: such a message is left on the
// queue so its redrive policy moves it to the dead-letter queue.
Result<S3EventMessage> ParseS3EventMessage(std::string_view body);

// Whether an event concerns the data store: an ObjectCreated:* event in the
// store's bucket, under its prefix, for a .csv key outside modelbay's own
// `.modelbay/` bookkeeping. On success, returns the key relative to the
// store root; otherwise the reason the event is ignored.
struct EventRelevance {
  bool relevant = false;
  std::string key;     // relative to the data store root, when relevant
  std::string reason;  // why it is ignored, when not
};
EventRelevance ClassifyEvent(const S3ObjectEvent& event, const StoreLocation& data);

// Strips surrounding double quotes from an ETag ("\"abc\"" -> "abc").
std::string NormalizeEtag(std::string_view etag);

}  // namespace modelbay
