#include "optim/adamw.h"

#include <cmath>

#include "core/thread_pool.h"

namespace ssm::optim {

const char* GroupName(Group g) {
  switch (g) {
    case Group::kDecay:
      return "decay";
    case Group::kNoDecay:
      return "no_decay";
    case Group::kSsm:
      return "ssm";
  }
  return "?";
}

void AdamW::Step(const std::vector<Slice>& slices, float lr, float ssm_lr) {
  ++step_;
  const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps;
  const float c1 = 1.0f / static_cast<float>(1.0 - std::pow(static_cast<double>(b1), static_cast<double>(step_)));
  const float c2 = 1.0f / static_cast<float>(1.0 - std::pow(static_cast<double>(b2), static_cast<double>(step_)));
  for (const Slice& s : slices) {
    const float lr_g = s.group == Group::kSsm ? ssm_lr : lr;
    const float wd_g = s.group == Group::kDecay ? cfg_.weight_decay : 0.0f;
    const float decay = 1.0f - lr_g * wd_g;
    float* p = s.data;
    const float* g = s.grad;
    float* m = s.m;
    float* v = s.v;
    GlobalPool().parallel_for(static_cast<std::size_t>(s.n), 1 << 15, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] = p[i] * decay - lr_g * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
      }
    });
  }
}

double GlobalGradNorm(const std::vector<Slice>& slices) {
  double total = 0.0;
  for (const Slice& s : slices) {
    // 8 partial sums so the loop vectorises without reassociation flags.
    double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= s.n; i += 8)
      for (int k = 0; k < 8; ++k) part[k] += static_cast<double>(s.grad[i + k]) * s.grad[i + k];
    for (; i < s.n; ++i) part[0] += static_cast<double>(s.grad[i]) * s.grad[i];
    for (double p : part) total += p;
  }
  return std::sqrt(total);
}

void ClipGradients(const std::vector<float*>& grads, const std::vector<int64_t>& sizes, double norm, double max_norm) {
  if (max_norm <= 0.0 || norm <= max_norm) return;
  const float scale = static_cast<float>(max_norm / (norm + 1e-6));
  for (std::size_t k = 0; k < grads.size(); ++k) {
    float* g = grads[k];
    for (int64_t i = 0; i < sizes[k]; ++i) g[i] *= scale;
  }
}

}  // namespace ssm::optim
