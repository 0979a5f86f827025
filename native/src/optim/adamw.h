// AdamW (decoupled weight decay, Loshchilov & Hutter) with parameter groups, and global-norm gradient clipping.
//
// Groups: kDecay (conv/linear weights, S4ND D and output weights): lr, weight_decay.
//         kNoDecay (biases, norm gains/shifts): lr, no weight decay.
//         kSsm (S4ND inv_dt, A_real, A_imag, B, P, flagged by the S4ND layout): ssm_lr, no weight decay,
//         as the S4 reference trains them.
// Update for one element with gradient g at step t (1-based):
//   p <- p - lr_g * wd_g * p
//   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
//   p <- p - lr_g * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace ssm::optim {

enum class Group { kDecay, kNoDecay, kSsm };
const char* GroupName(Group g);

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.01f;
};

// One contiguous run of parameters with a single group: data/grad point into parameter storage.
struct Slice {
  float* data;
  const float* grad;
  float* m;
  float* v;
  int64_t n;
  Group group;
};

class AdamW {
 public:
  explicit AdamW(const AdamWConfig& cfg) : cfg_(cfg) {}
  const AdamWConfig& config() const { return cfg_; }
  int64_t step() const { return step_; }
  void set_step(int64_t s) { step_ = s; }
  // Applies one update to every slice and increments the step counter.
  void Step(const std::vector<Slice>& slices, float lr, float ssm_lr);

 private:
  AdamWConfig cfg_;
  int64_t step_ = 0;
};

// sqrt(sum of squares) over every slice's gradient, accumulated in double.
double GlobalGradNorm(const std::vector<Slice>& slices);
// Scales every gradient by max_norm / norm when norm > max_norm (mutates through const_cast-free pointers).
void ClipGradients(const std::vector<float*>& grads, const std::vector<int64_t>& sizes, double norm, double max_norm);

}  // namespace ssm::optim
