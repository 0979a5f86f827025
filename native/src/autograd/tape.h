// Reverse-mode autograd, micrograd style.
//
// A Var is a value plus (once some gradient reached it) a gradient of the same shape. Every op constructor
// (ops/ops.h) computes its output, and when the tape is recording and any input needs a gradient, records one
// closure that accumulates the input gradients from the output gradient. Tape::Backward seeds the output
// gradient and runs the closures in reverse order. Parameters are Vars owned by the model; intermediates are
// owned by the tape and recycled by Clear(), so their tensors go back to the buffer pool between steps.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ssm {

struct Var {
  Tensor value;
  Tensor grad;  // undefined until Tape::Grad() first touches it
  bool requires_grad = false;
};

// Thrown when the cancel flag is seen; the binding turns it into a rejected Promise ("... cancelled").
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("cancelled") {}
};

class Tape {
 public:
  // recording=false: inference, no closures recorded, no intermediate grads.
  bool recording = true;
  // training=true: dropout active.
  bool training = true;
  // Seed for stochastic ops (dropout); each dropout call takes the next sub-seed.
  uint64_t seed = 0;
  // Checked at the start of every op and between backward closures.
  const std::atomic<bool>* cancel = nullptr;

  Var* Make(Tensor value, bool requires_grad);
  // True when an op with these inputs must record a backward closure.
  bool NeedsGrad(std::initializer_list<const Var*> inputs) const;
  void Record(std::function<void()> backward) { backward_.push_back(std::move(backward)); }
  // The gradient buffer of v, zero-filled on first access.
  Tensor& Grad(Var* v);
  // Seeds out's gradient (ones when seed_grad is null, else a copy of *seed_grad) and runs the tape backwards.
  void Backward(Var* out, const Tensor* seed_grad = nullptr);
  // Drops intermediates and closures (parameters keep their grads).
  void Clear();
  void CheckCancelled() const {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
  }
  uint64_t NextSeed() { return seed + 0x9E3779B97F4A7C15ull * (++seed_counter_); }
  std::size_t size() const { return backward_.size(); }

 private:
  std::deque<Var> vars_;
  std::size_t used_ = 0;
  std::vector<std::function<void()>> backward_;
  uint64_t seed_counter_ = 0;
};

}  // namespace ssm
