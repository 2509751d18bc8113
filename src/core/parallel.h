// Work spread over the cores: a fixed set of tasks run on up to one thread
// per core (the calling thread included), each task once.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <utility>
#include <thread>
#include <vector>

namespace modelbay {

// Runs fn(k) for every k in [0, tasks), on up to `threads` threads (0: one
// per core), each thread taking the next task not yet taken; returns when
// every task is done. fn must not throw.
template <typename Fn>
void ParallelFor(size_t tasks, Fn&& fn, size_t threads = 0) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, tasks);
  if (threads <= 1) {
    for (size_t k = 0; k < tasks; ++k) fn(k);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t k = next++; k < tasks; k = next++) fn(k);
  };
  std::vector<std::jthread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
}

// The number of row ranges to cut `rows` into for the cores: one per core,
// each of at least `min_rows` rows (1 for small inputs).
inline size_t RowParts(size_t rows, size_t min_rows = 65536) {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  return std::clamp<size_t>(rows / std::max<size_t>(1, min_rows), 1, cores);
}

// Part k of `parts` near-equal consecutive ranges of [0, total): [first, second).
inline std::pair<size_t, size_t> PartRange(size_t total, size_t parts, size_t k) {
  return {total * k / parts, total * (k + 1) / parts};
}

}  // namespace modelbay
