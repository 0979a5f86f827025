#include "autograd/tape.h"

#include <cstring>

namespace ssm {

Var* Tape::Make(Tensor value, bool requires_grad) {
  if (used_ == vars_.size()) vars_.emplace_back();
  Var* v = &vars_[used_++];
  v->value = std::move(value);
  v->grad.reset();
  v->requires_grad = requires_grad;
  return v;
}

bool Tape::NeedsGrad(std::initializer_list<const Var*> inputs) const {
  if (!recording) return false;
  for (const Var* v : inputs)
    if (v && v->requires_grad) return true;
  return false;
}

Tensor& Tape::Grad(Var* v) {
  if (!v->grad.defined() || v->grad.shape() != v->value.shape()) v->grad = Tensor::Zeros(v->value.shape());
  return v->grad;
}

void Tape::Backward(Var* out, const Tensor* seed_grad) {
  Tensor& g = Grad(out);
  if (seed_grad) {
    CheckSameShape(seed_grad->shape(), out->value.shape(), "Tape::Backward seed gradient");
    std::memcpy(g.data(), seed_grad->data(), sizeof(float) * g.numel());
  } else {
    g.fill(1.0f);
  }
  for (std::size_t i = backward_.size(); i-- > 0;) {
    CheckCancelled();
    backward_[i]();
  }
}

void Tape::Clear() {
  for (std::size_t i = 0; i < used_; ++i) {
    vars_[i].value.reset();
    vars_[i].grad.reset();
  }
  used_ = 0;
  backward_.clear();
  seed_counter_ = 0;
}

}  // namespace ssm
