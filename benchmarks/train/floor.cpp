// The floor for `modelbay train`: XGBoost fit alone, through the same C API
// and library, on pre-encoded arrays, with the same parameters and threads.
// Usage: floor DIR THREADS  (DIR holds x_train.f32, y_train.f32, shape.txt)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <xgboost/c_api.h>

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != 0) {                                               \
      std::fprintf(stderr, "%s: %s\n", #call, XGBGetLastError());    \
      return 1;                                                      \
    }                                                                \
  } while (0)

template <typename T>
std::vector<T> ReadAll(const std::string& path, size_t n) {
  std::vector<T> v(n);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
  if (!in) std::exit(2);
  return v;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  std::string dir = argv[1];
  std::ifstream shape(dir + "/shape.txt");
  size_t rows = 0, cols = 0;
  shape >> rows >> cols;
  auto x = ReadAll<float>(dir + "/x_train.f32", rows * cols);
  auto y = ReadAll<float>(dir + "/y_train.f32", rows);
  DMatrixHandle dm;
  CHECK(XGDMatrixCreateFromMat_omp(x.data(), rows, cols, std::nanf(""), &dm, std::atoi(argv[2])));
  CHECK(XGDMatrixSetFloatInfo(dm, "label", y.data(), rows));
  BoosterHandle b;
  CHECK(XGBoosterCreate(&dm, 1, &b));
  const char* params[][2] = {{"objective", "binary:logistic"}, {"max_depth", "6"}, {"eta", "0.3"},
                             {"tree_method", "hist"},          {"nthread", argv[2]}, {"seed", "0"}};
  for (auto& p : params) CHECK(XGBoosterSetParam(b, p[0], p[1]));
  for (int i = 0; i < 100; ++i) CHECK(XGBoosterUpdateOneIter(b, i, dm));
  bst_ulong len;
  const char* out;
  CHECK(XGBoosterSaveModelToBuffer(b, R"({"format":"json"})", &len, &out));
  std::printf("trained %zu x %zu, model %llu bytes\n", rows, cols, static_cast<unsigned long long>(len));
  XGBoosterFree(b);
  XGDMatrixFree(dm);
  return 0;
}
