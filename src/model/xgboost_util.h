// Small helpers around XGBoost's C API: error translation, the booster
// handle's lifetime, and __array_interface__ descriptions of dense arrays.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <xgboost/c_api.h>

#include "core/status.h"

namespace modelbay {

// OK when rc == 0, else `code` with "what: XGBoost's last error".
Status XgbCheck(int rc, std::string_view what, Code code = Code::kInternal);

struct BoosterDeleter {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using BoosterPtr = std::unique_ptr<void, BoosterDeleter>;
struct DMatrixDeleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
using DMatrixPtr = std::unique_ptr<void, DMatrixDeleter>;

// __array_interface__ JSON for a row-major float32 matrix.
std::string DenseArrayInterface(const float* data, size_t rows, size_t cols);

// "1.7.4"
std::string XgboostVersionString();

}  // namespace modelbay
