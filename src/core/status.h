// Status and Result<T>: how every fallible call in modelbay reports failure.
//
// A Status is a code plus a message written for the user: it says what went
// wrong, names the file/line/column/field when there is one, and how to fix
// it. Messages never contain credentials. Callers propagate with
// MB_RETURN_IF_ERROR / MB_ASSIGN_OR_RETURN. One function maps codes to HTTP
// status codes (serve) and one to process exit codes (cli).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace modelbay {

enum class Code {
  kOk = 0,
  kInvalidArgument,     // bad input from the user: CSV, flags, request body
  kNotFound,            // no such object, version, alias, file
  kAlreadyExists,       // create-if-absent lost the race
  kFailedPrecondition,  // state does not allow it (no model yet, empty store)
  kPermissionDenied,    // credentials rejected, token missing
  kUnavailable,         // store unreachable, throttled after retries
  kDataLoss,            // checksum mismatch, truncated artifact
  kResourceExhausted,   // over a configured limit (body size, rows)
  kUnsupportedMedia,    // request is not JSON
  kMethodNotAllowed,    // an HTTP route called with a method it does not serve
  kHeadersTooLarge,     // HTTP request headers over the configured limit
  kCancelled,           // interrupted by a signal
  kInternal,            // a bug: never the user's fault
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: message" (for logs; the CLI prints only the message).
  std::string ToString() const;
  // Returns a copy whose message is "context: message".
  Status WithContext(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status UnsupportedMedia(std::string m) { return {Code::kUnsupportedMedia, std::move(m)}; }
inline Status MethodNotAllowed(std::string m) { return {Code::kMethodNotAllowed, std::move(m)}; }
inline Status HeadersTooLarge(std::string m) { return {Code::kHeadersTooLarge, std::move(m)}; }
inline Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

// HTTP status for a code (the only such mapping; serve's error writer uses
// it): invalid argument 400, permission denied 401, not found 404, method
// not allowed 405, already exists 409, resource exhausted 413, unsupported
// media 415, headers too large 431, data loss and internal 500, failed
// precondition, unavailable and cancelled 503.
int HttpStatusFor(Code code);
// Process exit code for a code: 0 ok, 1 internal, 2 invalid argument, ...
int ExitCodeFor(Code code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace modelbay

#define MB_CONCAT_INNER_(a, b) a##b
#define MB_CONCAT_(a, b) MB_CONCAT_INNER_(a, b)

#define MB_RETURN_IF_ERROR(expr)                        \
  do {                                                  \
    ::modelbay::Status mb_status_ = (expr);             \
    if (!mb_status_.ok()) return mb_status_;            \
  } while (0)

#define MB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// MB_ASSIGN_OR_RETURN(auto x, FunctionReturningResult());
#define MB_ASSIGN_OR_RETURN(lhs, expr) \
  MB_ASSIGN_OR_RETURN_IMPL_(MB_CONCAT_(mb_result_, __LINE__), lhs, expr)
