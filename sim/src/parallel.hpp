// A minimal parallel loop for the build (graph.cpp, population.cpp): a
// shared counter hands out indices as threads free up. Every caller writes
// only what its index owns, so results do not depend on the thread count or
// on which thread ran which index.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace safesim::detail {

/// Runs f(i, w) for i in [0, count) on up to `threads` threads (the calling
/// thread among them, w = 0 .. threads - 1 the worker), each taking the next
/// index as it frees up. The first exception (by index) is rethrown once all
/// have stopped.
template <class F>
void parallel_for(std::size_t count, int threads, F&& f) {
  const std::size_t workers = std::min<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)), count);
  if (workers <= 1) {
    for (std::size_t i = 0; i < count; ++i) f(i, std::size_t{0});
    return;
  }
  std::atomic<std::size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  std::size_t error_index = count;
  auto work = [&](std::size_t w) {
    for (std::size_t i = next++; i < count; i = next++) {
      try {
        f(i, w);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (i < error_index) {
          error_index = i;
          error = std::current_exception();
        }
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (std::size_t t = 1; t < workers; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace safesim::detail
