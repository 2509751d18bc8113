#include "data/sample_data.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "core/posix_file.h"

namespace modelbay {
namespace {

constexpr std::array<std::string_view, 6> kCountries = {"aa", "bb", "cc", "dd", "ee", "ff"};
// How much each country pushes the target up or down.
constexpr std::array<double, 6> kCountryEffect = {-1.2, -0.5, 0.0, 0.4, 0.9, 1.5};
constexpr std::array<std::string_view, 10> kTiers = {"bronze", "silver", "gold",   "platinum", "diamond",
                                                     "copper", "iron",   "nickel", "cobalt",   "titanium"};

// SplitMix64: small, fast, and the same sequence on every platform (unlike
// the standard distributions), so a seed always gives the same file.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  uint64_t Below(uint64_t n) { return Next() % n; }
  double Normal() {
    double u = Uniform();
    double v = Uniform();
    return std::sqrt(-2.0 * std::log(1.0 - u)) * std::cos(2.0 * M_PI * v);
  }

 private:
  uint64_t state_;
};

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

Status WriteSampleData(const std::filesystem::path& out, const SampleDataOptions& options) {
  if (options.rows == 0) return InvalidArgument("--rows must be at least 1");
  if (!options.regression && (options.classes < 2 || options.classes > static_cast<int>(kTiers.size()))) {
    return InvalidArgument(fmt::format("--classes {}: choose 2 (churn 0/1) up to {} (tier names)",
                                       options.classes, kTiers.size()));
  }
  MB_ASSIGN_OR_RETURN(auto file, OutputFile::Open(out));
  const std::string_view target = options.regression ? "spend" : options.classes == 2 ? "churn" : "tier";
  fmt::memory_buffer buf;
  fmt::format_to(std::back_inserter(buf), "Country,Count,id,{}\n", target);
  Rng rng(options.seed);
  for (size_t i = 0; i < options.rows; ++i) {
    size_t c = rng.Below(kCountries.size());
    int count = static_cast<int>(rng.Below(100));
    double signal = kCountryEffect[c] + 0.05 * (count - 50);
    auto out_it = std::back_inserter(buf);
    fmt::format_to(out_it, "{},{},{},", kCountries[c], count, i + 1);
    if (options.regression) {
      fmt::format_to(out_it, "{:.2f}\n", 60.0 + 20.0 * signal + 4.0 * rng.Normal());
    } else if (options.classes == 2) {
      fmt::format_to(out_it, "{}\n", rng.Uniform() < Sigmoid(1.5 * signal) ? 1 : 0);
    } else {
      double p = Sigmoid(signal + 0.4 * rng.Normal());
      auto k = std::min(static_cast<size_t>(p * options.classes), static_cast<size_t>(options.classes - 1));
      fmt::format_to(out_it, "{}\n", kTiers[k]);
    }
    if (buf.size() >= (1 << 20) || i + 1 == options.rows) {
      MB_RETURN_IF_ERROR(file->Write(std::string_view(buf.data(), buf.size())));
      buf.clear();
    }
  }
  return file->Commit();
}

}  // namespace modelbay
