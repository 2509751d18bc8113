// Shared by the unit tests: gMock matchers for Status and Result<T> (so a
// failing expectation prints the status's code and message, as Abseil's
// status_matchers.h does), and one temp-folder fixture.
//
// With `using namespace modelbay::testutil;`:
//   EXPECT_THAT(registry.Resolve("01"), StatusIs(Code::kInvalidArgument, HasSubstr("leading zero")));
//   EXPECT_THAT(store.Put("k", "v"), IsOk());
//   EXPECT_THAT(registry.Resolve("1"), IsOkAndHolds(1));
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/posix_file.h"
#include "core/status.h"

namespace modelbay {

// gtest prints a Code by name, a Status as "CODE: message".
inline void PrintTo(Code code, std::ostream* os) { *os << CodeName(code); }
inline void PrintTo(const Status& s, std::ostream* os) { *os << (s.ok() ? std::string("OK") : s.ToString()); }
template <typename T>
void PrintTo(const Result<T>& r, std::ostream* os) {
  *os << (r.ok() ? std::string("an OK Result") : r.status().ToString());
}

namespace testutil {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// A Status or Result whose code matches `code` and whose message matches
// `message` (any gMock matcher: HasSubstr, StartsWith, _).
MATCHER_P2(StatusIs, code, message, "") {
  const Status& s = StatusOf(arg);
  *result_listener << "whose status is " << (s.ok() ? std::string("OK") : s.ToString());
  return ::testing::Matches(code)(s.code()) && ::testing::Matches(message)(s.message());
}

MATCHER(IsOk, "is OK") {
  const Status& s = StatusOf(arg);
  if (!s.ok()) *result_listener << "whose status is " << s.ToString();
  return s.ok();
}

// An OK Result whose value matches `inner`.
MATCHER_P(IsOkAndHolds, inner, "") {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

// A fresh folder under the system's temp dir per test, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  const std::filesystem::path& tmp() const { return tmp_.path(); }

 private:
  ScopedTempDir tmp_{"mb-unit"};
};

}  // namespace testutil
}  // namespace modelbay
