// The floor for `modelbay predict`: XGBoost's own in-place prediction alone,
// through the same C API and library, on the rows already encoded by the
// version's preprocessor (encode.py), with the same thread count, in one call.
// Usage: floor MODEL_JSON DIR THREADS  (DIR holds x.f32, shape.txt)
// Prints: rows seconds
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <xgboost/c_api.h>

#define CHECK(call)                                               \
  do {                                                            \
    if ((call) != 0) {                                            \
      std::fprintf(stderr, "%s: %s\n", #call, XGBGetLastError()); \
      return 1;                                                   \
    }                                                             \
  } while (0)

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  std::string dir = argv[2];
  std::ifstream shape(dir + "/shape.txt");
  size_t rows = 0, cols = 0;
  shape >> rows >> cols;
  std::vector<float> x(rows * cols);
  std::ifstream in(dir + "/x.f32", std::ios::binary);
  in.read(reinterpret_cast<char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(float)));
  if (!in) return 2;
  BoosterHandle b;
  CHECK(XGBoosterCreate(nullptr, 0, &b));
  CHECK(XGBoosterLoadModel(b, argv[1]));
  CHECK(XGBoosterSetParam(b, "nthread", argv[3]));
  std::string array = "{\"data\": [" + std::to_string(reinterpret_cast<uintptr_t>(x.data())) +
                      ", true], \"shape\": [" + std::to_string(rows) + ", " + std::to_string(cols) +
                      "], \"typestr\": \"<f4\", \"version\": 3}";
  std::string config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                       "\"strict_shape\": false, \"cache_id\": 0, \"missing\": NaN}";
  const bst_ulong* out_shape;
  bst_ulong out_dim;
  const float* out;
  double best = 1e30;
  for (int run = 0; run < 3; ++run) {
    auto t0 = std::chrono::steady_clock::now();
    CHECK(XGBoosterPredictFromDense(b, array.c_str(), config.c_str(), nullptr, &out_shape, &out_dim, &out));
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("%zu %.4f\n", rows, best);
  XGBoosterFree(b);
  return 0;
}
