#include "model/forest_scorer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace modelbay {
namespace {

constexpr size_t kBlockRows = 64;  // kMaxGroups * kLanes

inline float LeafValue(const ForestNode* nodes, uint32_t root, const float* row) {
  const ForestNode* n = nodes + root;
  while (!n->is_leaf()) {
    const float x = row[n->info & ForestNode::kFeatureMask];
    const bool left = std::isnan(x) ? (n->info & ForestNode::kDefaultLeft) != 0 : x < n->value;
    n = nodes + n->left + (left ? 0 : 1);
  }
  return n->value;
}

// XGBoost 1.7's common::Sigmoid, operation for operation.
inline float Sigmoid(float x) {
  constexpr float kEps = 1e-16;
  x = std::min(-x, 88.7f);
  float denom = expf(x) + 1.0f + kEps;
  return 1.0f / denom;
}

// XGBoost 1.7's common::Softmax over one row's margins.
void Softmax(float* p, size_t k) {
  float wmax = p[0];
  for (size_t i = 1; i < k; ++i) wmax = fmaxf(p[i], wmax);
  double wsum = 0.0f;
  for (size_t i = 0; i < k; ++i) {
    p[i] = expf(p[i] - wmax);
    wsum += p[i];
  }
  for (size_t i = 0; i < k; ++i) p[i] /= static_cast<float>(wsum);
}

// Margins of rows [0, n) of the block into m (n x groups), node by node
// (forests without a complete layout).
void BlockMarginsNodes(const XgbModel& model, const float* rows, size_t n, size_t cols, float* m) {
  const Forest& f = model.forest;
  const size_t groups = model.num_outputs();
  const ForestNode* nodes = f.nodes.data();
  const size_t trees = f.roots.size();
  for (size_t t = 0; t < trees; ++t) {
    const uint32_t root = f.roots[t];
    const uint32_t g = f.groups[t];
    for (size_t r = 0; r < n; ++r) m[r * groups + g] += LeafValue(nodes, root, rows + r * cols);
  }
}

constexpr size_t kLanes = kCompleteLanes;

// Rows widened for CompleteNode::offset into `lanes` (2 * cols * kLanes
// floats): lane j of slot 2c is row j's x_c with NaN as -inf, of slot 2c+1
// with NaN as +inf.
inline void Widen(const float* rows, size_t n, size_t cols, float* lanes) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  for (size_t j = 0; j < n; ++j) {
    for (size_t c = 0; c < cols; ++c) {
      const float x = rows[j * cols + c];
      const bool missing = std::isnan(x);
      lanes[(2 * c) * kLanes + j] = missing ? -kInf : x;
      lanes[(2 * c + 1) * kLanes + j] = missing ? kInf : x;
    }
  }
}

// One tree's splits.
struct Splits {
  const float* thresholds;
  const uint32_t* offsets;
};

// One branch-free step of lane j down a complete tree from split i: to 2i+1
// (left) or 2i+2 (right).
inline uint32_t Step(Splits tree, uint32_t i, const float* lanes, size_t j) {
  return 2 * i + 1 + static_cast<uint32_t>(!(lanes[tree.offsets[i] + j] < tree.thresholds[i]));
}

inline Splits TreeSplits(const CompleteForest& c, size_t t) {
  const size_t sp = c.splits_per_tree();
  return Splits{c.thresholds.data() + t * sp, c.offsets.data() + t * sp};
}

// kLanes walks at once, level by level: the walks are independent, so their
// loads overlap instead of each waiting on the previous step. Leaf indices
// (within each tree's leaves) go to leaf[].

// One tree, the kLanes rows of `lanes`.
inline void WalkRows(Splits tree, const float* lanes, int depth, uint32_t* leaf) {
  uint32_t idx[kLanes] = {};
  for (int d = 0; d < depth; ++d) {
#pragma GCC unroll 8
    for (size_t j = 0; j < kLanes; ++j) idx[j] = Step(tree, idx[j], lanes, j);
  }
  const uint32_t first_leaf = (uint32_t{1} << depth) - 1;
  for (size_t j = 0; j < kLanes; ++j) leaf[j] = idx[j] - first_leaf;
}

// kLanes consecutive trees from tree t, the row in lane 0.
inline void WalkTrees(const CompleteForest& c, size_t t, const float* lanes, uint32_t* leaf) {
  uint32_t idx[kLanes] = {};
  Splits trees[kLanes];
  for (size_t j = 0; j < kLanes; ++j) trees[j] = TreeSplits(c, t + j);
  for (int d = 0; d < c.depth; ++d) {
#pragma GCC unroll 8
    for (size_t j = 0; j < kLanes; ++j) idx[j] = Step(trees[j], idx[j], lanes, 0);
  }
  const uint32_t first_leaf = (uint32_t{1} << c.depth) - 1;
  for (size_t j = 0; j < kLanes; ++j) leaf[j] = idx[j] - first_leaf;
}

// With AVX2: `num_groups` groups of kLanes rows (`group_floats` apart), one
// tree, each group's 8 walks in one vector and the groups interleaved level
// by level. Levels 0-3 (at most 8 splits) pick their splits with a permute,
// level 4 (16) with two and a blend; deeper levels gather them (a gather
// costs several permutes). Each lane's row value is gathered too, or picked
// by blends for narrow rows (kNarrowSlotsAvx2). Same comparisons as Step, so
// the same leaves.
#if defined(__x86_64__)
#define MODELBAY_FOREST_AVX2 1
constexpr size_t kMaxGroups = 8;
// Narrow rows (few slots: 2 per column) pick each lane's split value with a
// compare and a blend per slot instead of gathering it. Measured on the AMD
// EPYC (Zen 4) here with benchmarks/scorer (SCORER_BENCH_DATA for wider
// tables): with AVX-512, 100 rows of 3 or 4 columns scored ~1.3x faster, of
// 6 or 8 columns ~1.5x slower; with AVX2 it paid at 3 columns, not at 4.
constexpr size_t kNarrowSlotsAvx2 = 6;
constexpr size_t kNarrowSlotsAvx512 = 8;

__attribute__((target("avx2"))) void WalkGroupsAvx2(Splits tree, const float* lanes, size_t group_floats,
                                                    size_t num_groups, int depth, uint32_t* leaf) {
  __m256i idx[kMaxGroups];
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i one = _mm256_set1_epi32(1);
  for (size_t g = 0; g < num_groups; ++g) idx[g] = _mm256_setzero_si256();
  const size_t slots = group_floats / kLanes;
  const bool narrow = slots <= kNarrowSlotsAvx2;
  for (int d = 0; d < depth; ++d) {
    const int start = (1 << d) - 1;
    const __m256i first = _mm256_set1_epi32(start);
    __m256 level_thr = _mm256_setzero_ps(), level_thr_hi = _mm256_setzero_ps();
    __m256i level_off = _mm256_setzero_si256(), level_off_hi = _mm256_setzero_si256();
    if (d < 5) {  // CompleteForest pads the arrays, so 8 entries can be read; level 4's 16 are in the tree
      level_thr = _mm256_loadu_ps(tree.thresholds + start);
      level_off = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tree.offsets + start));
    }
    if (d == 4) {
      level_thr_hi = _mm256_loadu_ps(tree.thresholds + start + 8);
      level_off_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tree.offsets + start + 8));
    }
    for (size_t g = 0; g < num_groups; ++g) {
      __m256 thr;
      __m256i off;
      if (d < 4) {
        const __m256i in_level = _mm256_sub_epi32(idx[g], first);
        thr = _mm256_permutevar8x32_ps(level_thr, in_level);
        off = _mm256_permutevar8x32_epi32(level_off, in_level);
      } else if (d == 4) {  // 16 splits: a permute of each half (low 3 bits), bit 3 picks the half
        const __m256i in_level = _mm256_sub_epi32(idx[g], first);
        const __m256i high = _mm256_slli_epi32(in_level, 28);  // bit 3 to the sign bit
        thr = _mm256_blendv_ps(_mm256_permutevar8x32_ps(level_thr, in_level),
                               _mm256_permutevar8x32_ps(level_thr_hi, in_level), _mm256_castsi256_ps(high));
        off = _mm256_castps_si256(
            _mm256_blendv_ps(_mm256_castsi256_ps(_mm256_permutevar8x32_epi32(level_off, in_level)),
                             _mm256_castsi256_ps(_mm256_permutevar8x32_epi32(level_off_hi, in_level)),
                             _mm256_castsi256_ps(high)));
      } else {
        thr = _mm256_i32gather_ps(tree.thresholds, idx[g], 4);
        off = _mm256_i32gather_epi32(reinterpret_cast<const int*>(tree.offsets), idx[g], 4);
      }
      __m256 x;
      if (narrow) {  // pick each lane's slot: a blend per slot instead of a gather
        const float* a = lanes + g * group_floats;
        x = _mm256_loadu_ps(a);
        for (size_t k = 1; k < slots; ++k) {
          const __m256i is_k = _mm256_cmpeq_epi32(off, _mm256_set1_epi32(static_cast<int>(k * kLanes)));
          x = _mm256_blendv_ps(x, _mm256_loadu_ps(a + k * kLanes), _mm256_castsi256_ps(is_k));
        }
      } else {
        x = _mm256_i32gather_ps(lanes + g * group_floats, _mm256_add_epi32(off, iota), 4);
      }
      // All ones (-1) where !(x < threshold): the right child.
      const __m256i right = _mm256_castps_si256(_mm256_cmp_ps(x, thr, _CMP_NLT_UQ));
      idx[g] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(idx[g], idx[g]), one), right);
    }
  }
  const __m256i first_leaf = _mm256_set1_epi32((1 << depth) - 1);
  for (size_t g = 0; g < num_groups; ++g) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(leaf + g * kLanes), _mm256_sub_epi32(idx[g], first_leaf));
  }
}

// With AVX-512: the same walks, two groups (16 rows) to a vector. Levels
// 0-4 (at most 16 splits) pick their splits with one permute, level 5 (32)
// with one two-table permute; only deeper levels gather them. Row values
// as in WalkGroupsAvx2 (narrow: kNarrowSlotsAvx512). The
// widened rows need one group of room after the last (an odd number of
// groups reads it; those lanes' leaves are not used), and leaf[] room for
// an even number of groups.
// GCC 12 warns that the "undefined" pass-through vectors of its own
// permute and gather intrinsics may be used uninitialized (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) void WalkGroupsAvx512(Splits tree, const float* lanes, size_t group_floats,
                                                         size_t num_groups, int depth, uint32_t* leaf) {
  constexpr size_t kMaxPairs = kMaxGroups / 2;
  const size_t pairs = (num_groups + 1) / 2;
  __m512i idx[kMaxPairs];
  // Lane j of a pair: row j of its first group, or row j - 8 of its second.
  const int gf = static_cast<int>(group_floats);
  const __m512i lane_at = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, gf, gf + 1, gf + 2, gf + 3, gf + 4, gf + 5,
                                            gf + 6, gf + 7);
  const __m512i one = _mm512_set1_epi32(1);
  for (size_t p = 0; p < pairs; ++p) idx[p] = _mm512_setzero_si512();
  const size_t slots = group_floats / kLanes;
  const bool narrow = slots <= kNarrowSlotsAvx512;
  __m512 slot_vec[kMaxPairs * kNarrowSlotsAvx512];
  if (narrow) {
    for (size_t p = 0; p < pairs; ++p) {
      const float* a = lanes + 2 * p * group_floats;
      for (size_t k = 0; k < slots; ++k) {
        slot_vec[p * kNarrowSlotsAvx512 + k] = _mm512_castpd_ps(_mm512_insertf64x4(
            _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(a + k * kLanes))),
            _mm256_castps_pd(_mm256_loadu_ps(a + group_floats + k * kLanes)), 1));
      }
    }
  }
  for (int d = 0; d < depth; ++d) {
    const int start = (1 << d) - 1;
    const __m512i first = _mm512_set1_epi32(start);
    __m512 thr_lo = _mm512_setzero_ps(), thr_hi = _mm512_setzero_ps();
    __m512i off_lo = _mm512_setzero_si512(), off_hi = _mm512_setzero_si512();
    if (d < 5) {  // masked: a level may hold fewer than 16 splits, at the end of the arrays
      const __mmask16 have = static_cast<__mmask16>((1u << (1 << d)) - 1);
      thr_lo = _mm512_maskz_loadu_ps(have, tree.thresholds + start);
      off_lo = _mm512_maskz_loadu_epi32(have, tree.offsets + start);
    } else if (d == 5) {
      thr_lo = _mm512_loadu_ps(tree.thresholds + start);
      thr_hi = _mm512_loadu_ps(tree.thresholds + start + 16);
      off_lo = _mm512_loadu_si512(tree.offsets + start);
      off_hi = _mm512_loadu_si512(tree.offsets + start + 16);
    }
    for (size_t p = 0; p < pairs; ++p) {
      __m512 thr;
      __m512i off;
      const __m512i in_level = _mm512_sub_epi32(idx[p], first);
      if (d < 5) {
        thr = _mm512_permutexvar_ps(in_level, thr_lo);
        off = _mm512_permutexvar_epi32(in_level, off_lo);
      } else if (d == 5) {
        thr = _mm512_permutex2var_ps(thr_lo, in_level, thr_hi);
        off = _mm512_permutex2var_epi32(off_lo, in_level, off_hi);
      } else {
        thr = _mm512_i32gather_ps(idx[p], tree.thresholds, 4);
        off = _mm512_i32gather_epi32(idx[p], reinterpret_cast<const int*>(tree.offsets), 4);
      }
      __m512 x;
      if (narrow) {  // pick each lane's slot from the pair's slot vectors
        const __m512* sv = slot_vec + p * kNarrowSlotsAvx512;
        x = sv[0];
        for (size_t k = 1; k < slots; ++k) {
          x = _mm512_mask_mov_ps(x, _mm512_cmpeq_epi32_mask(off, _mm512_set1_epi32(static_cast<int>(k * kLanes))), sv[k]);
        }
      } else {
        x = _mm512_i32gather_ps(_mm512_add_epi32(off, lane_at), lanes + 2 * p * group_floats, 4);
      }
      // Set where !(x < threshold): the right child.
      const __mmask16 right = _mm512_cmp_ps_mask(x, thr, _CMP_NLT_UQ);
      const __m512i left = _mm512_add_epi32(_mm512_add_epi32(idx[p], idx[p]), one);
      idx[p] = _mm512_mask_add_epi32(left, right, left, one);
    }
  }
  const __m512i first_leaf = _mm512_set1_epi32((1 << depth) - 1);
  for (size_t p = 0; p < pairs; ++p) {
    _mm512_storeu_si512(leaf + 2 * p * kLanes, _mm512_sub_epi32(idx[p], first_leaf));
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif

// The widest walk the CPU has.
ForestSimd CpuSimd() {
#ifdef MODELBAY_FOREST_AVX2
  static const ForestSimd has = __builtin_cpu_supports("avx512f") ? ForestSimd::kAvx512
                                : __builtin_cpu_supports("avx2")  ? ForestSimd::kAvx2
                                                                  : ForestSimd::kPortable;
  return has;
#else
  return ForestSimd::kPortable;
#endif
}
// MODELBAY_FOREST_SIMD=avx2 or portable caps the walk (e.g. on CPUs that
// slow their clock for AVX-512); SetForestSimd overrides it.
ForestSimd SimdFromEnvironment() {
  const char* v = std::getenv("MODELBAY_FOREST_SIMD");
  if (v == nullptr || *v == '\0' || std::strcmp(v, "avx512") == 0) return ForestSimd::kAvx512;
  if (std::strcmp(v, "avx2") == 0) return ForestSimd::kAvx2;
  if (std::strcmp(v, "portable") == 0) return ForestSimd::kPortable;
  spdlog::warn("MODELBAY_FOREST_SIMD={} is not avx512, avx2 or portable; using the widest the CPU has", v);
  return ForestSimd::kAvx512;
}
std::atomic<int> simd_set{-1};  // SetForestSimd's, as an int; -1: not called
ForestSimd SimdInUse() {
  const int set = simd_set.load(std::memory_order_relaxed);
  static const ForestSimd from_environment = SimdFromEnvironment();  // read (and warned about) at first use
  return std::min(CpuSimd(), set >= 0 ? static_cast<ForestSimd>(set) : from_environment);
}

// The row in lane `lane` across all trees, kLanes trees at a time; leaves
// are added in tree order.
void RowMarginsComplete(const XgbModel& model, const float* lanes, size_t lane, float* m) {
  const Forest& f = model.forest;
  const CompleteForest& c = f.complete;
  const size_t trees = f.roots.size();
  const size_t lp = c.leaves_per_tree();
  lanes += lane;
  uint32_t leaf[kLanes];
  size_t t = 0;
  for (; t + kLanes <= trees; t += kLanes) {
    WalkTrees(c, t, lanes, leaf);
    for (size_t j = 0; j < kLanes; ++j) m[f.groups[t + j]] += c.leaves[(t + j) * lp + leaf[j]];
  }
  for (; t < trees; ++t) {
    const Splits tree = TreeSplits(c, t);
    uint32_t i = 0;
    for (int d = 0; d < c.depth; ++d) i = Step(tree, i, lanes, 0);
    m[f.groups[t]] += c.leaves[t * lp + i - c.splits_per_tree()];
  }
}

// Rows [0, n) of a block (at most kBlockRows): widened once, kLanes rows to a
// group; each tree in turn walks the full groups' rows (the block's rows stay
// in cache while the trees stream past); the rows of a last partial group
// are walked across trees, unless the vector walk takes them along.
void BlockMarginsComplete(const XgbModel& model, const float* rows, size_t n, size_t cols, float* m) {
  const Forest& f = model.forest;
  const CompleteForest& c = f.complete;
  const size_t groups = model.num_outputs();
  const size_t trees = f.roots.size();
  const size_t lp = c.leaves_per_tree();
  const size_t group_floats = 2 * cols * kLanes;
  const size_t num_groups = (n + kLanes - 1) / kLanes;
  thread_local std::vector<float> widened;
  widened.resize((num_groups + 1) * group_floats);  // + the room WalkGroupsAvx512 reads
  for (size_t g = 0; g < num_groups; ++g) {
    Widen(rows + g * kLanes * cols, std::min(kLanes, n - g * kLanes), cols, widened.data() + g * group_floats);
  }
  const ForestSimd simd = SimdInUse();
  const bool vector_walk = simd != ForestSimd::kPortable;  // AVX2 or AVX-512
  // Vector walks: the full groups, and a last partial group too when other
  // groups hide its latency (its unused lanes walk zeros; their leaves are
  // not added).
  size_t walked_groups = n / kLanes;
  if (vector_walk && walked_groups >= 2 && walked_groups < num_groups) {
    float* last = widened.data() + walked_groups * group_floats;
    const size_t used = n - walked_groups * kLanes;
    for (size_t slot = 0; slot < 2 * cols; ++slot) std::fill(last + slot * kLanes + used, last + (slot + 1) * kLanes, 0.0f);
    walked_groups = num_groups;
  }
  const size_t walked_rows = std::min(n, walked_groups * kLanes);
  uint32_t leaf[kBlockRows];
  for (size_t t = 0; walked_groups > 0 && t < trees; ++t) {
    const Splits tree = TreeSplits(c, t);
    if (vector_walk) {
#ifdef MODELBAY_FOREST_AVX2
      if (simd == ForestSimd::kAvx512) {
        WalkGroupsAvx512(tree, widened.data(), group_floats, walked_groups, c.depth, leaf);
      } else {
        WalkGroupsAvx2(tree, widened.data(), group_floats, walked_groups, c.depth, leaf);
      }
#endif
    } else {
      for (size_t g = 0; g < walked_groups; ++g) {
        WalkRows(tree, widened.data() + g * group_floats, c.depth, leaf + g * kLanes);
      }
    }
    const float* leaves = c.leaves.data() + t * lp;
    float* out = m + f.groups[t];
    for (size_t r = 0; r < walked_rows; ++r) out[r * groups] += leaves[leaf[r]];
  }
  for (size_t r = walked_rows; r < n; ++r) {
    RowMarginsComplete(model, widened.data() + (r / kLanes) * group_floats, r - (r / kLanes) * kLanes, m + r * groups);
  }
}

void BlockMargins(const XgbModel& model, const float* rows, size_t n, size_t cols, float* m) {
  std::fill(m, m + n * model.num_outputs(), model.base_margin);
  if (model.forest.complete.built()) {
    BlockMarginsComplete(model, rows, n, cols, m);
  } else {
    BlockMarginsNodes(model, rows, n, cols, m);
  }
}

}  // namespace

void SetForestSimd(ForestSimd most) { simd_set.store(static_cast<int>(most), std::memory_order_relaxed); }
ForestSimd ForestSimdInUse() { return SimdInUse(); }

Status PredictForest(const XgbModel& model, const float* rows, size_t num_rows, size_t cols, float* out) {
  if (!model.fallback_reason.empty()) {
    return FailedPrecondition(fmt::format("our scorer does not handle {}; score it with XGBoost",
                                          model.fallback_reason));
  }
  if (cols != model.num_feature) {
    return InvalidArgument(fmt::format("the model takes {} features, got rows of {}", model.num_feature, cols));
  }
  const size_t groups = model.num_outputs();
  thread_local std::vector<float> margins;
  margins.resize(kBlockRows * groups);
  for (size_t start = 0; start < num_rows; start += kBlockRows) {
    const size_t n = std::min(kBlockRows, num_rows - start);
    float* m = margins.data();
    BlockMargins(model, rows + start * cols, n, cols, m);
    switch (model.transform) {
      case OutputTransform::kIdentity: std::copy(m, m + n, out + start); break;
      case OutputTransform::kSigmoid:
        for (size_t r = 0; r < n; ++r) out[start + r] = Sigmoid(m[r]);
        break;
      case OutputTransform::kExp:
        for (size_t r = 0; r < n; ++r) out[start + r] = expf(m[r]);
        break;
      case OutputTransform::kSoftmax:
        for (size_t r = 0; r < n; ++r) Softmax(m + r * groups, groups);
        std::copy(m, m + n * groups, out + start * groups);
        break;
      case OutputTransform::kArgmax:
        for (size_t r = 0; r < n; ++r) {
          const float* row = m + r * groups;
          size_t best = 0;
          for (size_t k = 1; k < groups; ++k) {
            if (row[k] > row[best]) best = k;
          }
          out[start + r] = static_cast<float>(best);
        }
        break;
    }
  }
  return Status::Ok();
}

}  // namespace modelbay
