// libFuzzer target for the model loader: ParseXgboostModel on arbitrary
// bytes, then, for what it accepts, our scorer on a few rows. Links only the
// parser/validator and the scorer (plus core/status), so it runs fast.
// Built with -DMODELBAY_BUILD_FUZZERS=ON and clang; run by `make fuzz`.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "model/forest.h"
#include "model/forest_scorer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto model = modelbay::ParseXgboostModel(text);
  if (!model.ok() || !model->fallback_reason.empty() || model->num_feature > 4096) return 0;
  // A validated forest must be safe to walk on any row: missing, zeros,
  // infinities, large values.
  constexpr size_t kRows = 5;
  const float values[kRows] = {std::numeric_limits<float>::quiet_NaN(), 0.0f, 1.0f,
                               std::numeric_limits<float>::infinity(), -1e30f};
  std::vector<float> rows(kRows * model->num_feature);
  for (size_t r = 0; r < kRows; ++r) {
    for (size_t c = 0; c < model->num_feature; ++c) rows[r * model->num_feature + c] = values[(r + c) % kRows];
  }
  std::vector<float> out(kRows * model->outputs_per_row());
  (void)modelbay::PredictForest(*model, rows.data(), kRows, model->num_feature, out.data());
  return 0;
}
