// ParallelFor: ssm::GlobalPool().parallel_for without a heap allocation per call. A capturing lambda is usually too
// big for std::function's small buffer; a std::reference_wrapper always fits, so wrap the caller's lambda by reference.
#pragma once

#include <cstddef>
#include <functional>

#include "core/thread_pool.h"

namespace ssm::s4nd {

template <typename F>
void ParallelFor(std::size_t n, std::size_t grain, F&& body) {
  const std::function<void(std::size_t, std::size_t)> fn(std::ref(body));
  GlobalPool().parallel_for(n, grain, fn);
}

}  // namespace ssm::s4nd
