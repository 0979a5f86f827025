// Helpers shared by the op files (not part of the public op API).
#pragma once

#include <string>

#include "ops/ops.h"

namespace ssm::ops {

inline Var* MakeOut(Tape& t, Tensor value, std::initializer_list<const Var*> inputs) {
  t.CheckCancelled();
  return t.Make(std::move(value), t.NeedsGrad(inputs));
}

[[noreturn]] inline void ShapeError(const char* op, const std::string& what) {
  throw std::invalid_argument(std::string(op) + ": " + what);
}

// Elementwise grain: below this many elements a loop runs on the calling thread only.
constexpr int64_t kElemGrain = 1 << 15;

}  // namespace ssm::ops
