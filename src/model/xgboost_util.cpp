#include "model/xgboost_util.h"

#include <cstdint>

#include <fmt/format.h>

namespace modelbay {

Status XgbCheck(int rc, std::string_view what, Code code) {
  if (rc == 0) return Status::Ok();
  return Status(code, fmt::format("{}: {}", what, XGBGetLastError()));
}

std::string DenseArrayInterface(const float* data, size_t rows, size_t cols) {
  return fmt::format(R"({{"data":[{},true],"shape":[{},{}],"typestr":"<f4","version":3}})",
                     reinterpret_cast<uintptr_t>(data), rows, cols);
}

std::string XgboostVersionString() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return fmt::format("{}.{}.{}", major, minor, patch);
}

}  // namespace modelbay
