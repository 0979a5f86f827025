// ParallelFor: ssm::GlobalPool().parallel_for with dynamic load balancing and no heap allocation per call.
//  - Work is handed out in items of `grain` indices through an atomic counter, so a pool thread that the OS has
//    descheduled (the machine is shared) holds at most one small item instead of a fixed 1/(4 threads) share.
//  - A capturing lambda is usually too big for std::function's small buffer; a std::reference_wrapper always fits.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>

#include "core/thread_pool.h"

namespace ssm::s4nd {

template <typename F>
void ParallelFor(std::size_t n, std::size_t grain, F&& body) {
  ThreadPool& pool = GlobalPool();
  const std::size_t step = std::max<std::size_t>(grain, 1);
  const std::size_t threads = static_cast<std::size_t>(pool.threads());
  if (threads <= 1 || n <= step) {
    body(std::size_t{0}, n);
    return;
  }
  std::atomic<std::size_t> next{0};
  auto drain = [&](std::size_t, std::size_t) {
    for (;;) {
      const std::size_t b = next.fetch_add(step, std::memory_order_relaxed);
      if (b >= n) break;
      body(b, std::min(n, b + step));
    }
  };
  const std::function<void(std::size_t, std::size_t)> fn(std::ref(drain));
  pool.parallel_for(threads, 1, fn);  // one draining task per pool thread (the caller included)
}

}  // namespace ssm::s4nd
