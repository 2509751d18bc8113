#include "core/status.h"

namespace modelbay {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "INVALID_ARGUMENT";
    case Code::kNotFound: return "NOT_FOUND";
    case Code::kAlreadyExists: return "ALREADY_EXISTS";
    case Code::kFailedPrecondition: return "FAILED_PRECONDITION";
    case Code::kPermissionDenied: return "PERMISSION_DENIED";
    case Code::kUnavailable: return "UNAVAILABLE";
    case Code::kDataLoss: return "DATA_LOSS";
    case Code::kResourceExhausted: return "RESOURCE_EXHAUSTED";
    case Code::kUnsupportedMedia: return "UNSUPPORTED_MEDIA_TYPE";
    case Code::kMethodNotAllowed: return "METHOD_NOT_ALLOWED";
    case Code::kHeadersTooLarge: return "HEADERS_TOO_LARGE";
    case Code::kCancelled: return "CANCELLED";
    case Code::kInternal: return "INTERNAL";
  }
  return "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  s += ": ";
  s += message_;
  return s;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kFailedPrecondition: return 503;
    case Code::kPermissionDenied: return 401;
    case Code::kUnavailable: return 503;
    case Code::kResourceExhausted: return 413;
    case Code::kUnsupportedMedia: return 415;
    case Code::kMethodNotAllowed: return 405;
    case Code::kHeadersTooLarge: return 431;
    case Code::kCancelled: return 503;
    case Code::kDataLoss: return 500;
    case Code::kInternal: return 500;
  }
  return 500;
}

int ExitCodeFor(Code code) {
  switch (code) {
    case Code::kOk: return 0;
    case Code::kInternal: return 1;
    case Code::kInvalidArgument: return 2;
    case Code::kNotFound: return 3;
    case Code::kAlreadyExists: return 4;
    case Code::kFailedPrecondition: return 5;
    case Code::kPermissionDenied: return 6;
    case Code::kUnavailable: return 7;
    case Code::kDataLoss: return 8;
    case Code::kResourceExhausted: return 9;
    case Code::kUnsupportedMedia: return 2;
    case Code::kMethodNotAllowed: return 2;
    case Code::kHeadersTooLarge: return 2;
    case Code::kCancelled: return 130;
  }
  return 1;
}

}  // namespace modelbay
