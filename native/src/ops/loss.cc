// Losses. Each returns a scalar (shape ()) with mean reduction; sums are accumulated in double.
#include <cmath>

#include "ops/common.h"

namespace ssm::ops {

namespace {

void CheckTargets(const char* op, const Var* pred, const Tensor& targets) {
  if (pred->value.shape() != targets.shape()) {
    ShapeError(op, "prediction " + pred->value.shape().str() + " and target " + targets.shape().str() + " differ");
  }
}

Var* Scalar(Tape& t, double v, std::initializer_list<const Var*> inputs) {
  Tensor y{Shape{}};
  y.data()[0] = static_cast<float>(v);
  return MakeOut(t, std::move(y), inputs);
}

}  // namespace

Var* CrossEntropy(Tape& t, Var* logits, const Tensor& labels, float label_smoothing) {
  const Shape& ls = logits->value.shape();
  if (ls.rank != 2) ShapeError("cross_entropy", "logits must be (N, K), got " + ls.str());
  const int64_t N = ls[0], K = ls[1];
  if (labels.numel() != N)
    ShapeError("cross_entropy", "expected " + std::to_string(N) + " labels, got " + std::to_string(labels.numel()));
  const float* lp = labels.data();
  for (int64_t n = 0; n < N; ++n) {
    if (!(lp[n] >= 0.0f && lp[n] < static_cast<float>(K)) || lp[n] != std::floor(lp[n])) {
      ShapeError("cross_entropy", "label " + std::to_string(lp[n]) + " at index " + std::to_string(n) +
                                      " is not an integer class in [0, " + std::to_string(K) + ")");
    }
  }
  Tensor probs(ls);  // (N, K) softmax, saved for backward
  const float* xp = logits->value.data();
  float* pp = probs.data();
  const double eps = label_smoothing;
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const float* x = xp + n * K;
    float m = x[0];
    for (int64_t k = 1; k < K; ++k) m = x[k] > m ? x[k] : m;
    double z = 0.0;
    for (int64_t k = 0; k < K; ++k) z += std::exp(static_cast<double>(x[k] - m));
    const double logz = std::log(z) + m;
    const int64_t y = static_cast<int64_t>(lp[n]);
    double sum_logp = 0.0;
    for (int64_t k = 0; k < K; ++k) {
      const double logp = x[k] - logz;
      pp[n * K + k] = static_cast<float>(std::exp(logp));
      sum_logp += logp;
    }
    // -sum_k q_k log p_k with q = (1 - eps) onehot(y) + eps / K
    total += -((1.0 - eps) * (x[y] - logz) + eps / static_cast<double>(K) * sum_logp);
  }
  Var* yv = Scalar(t, total / static_cast<double>(N), {logits});
  if (yv->requires_grad) {
    t.Record([&t, logits, yv, probs, labels, N, K, eps] {
      const float g = yv->grad.data()[0] / static_cast<float>(N);
      const float* pp = probs.data();
      const float* lp = labels.data();
      float* gx = t.Grad(logits).data();
      const float off = static_cast<float>(eps / static_cast<double>(K));
      for (int64_t n = 0; n < N; ++n) {
        const int64_t y = static_cast<int64_t>(lp[n]);
        for (int64_t k = 0; k < K; ++k) {
          const float q = off + (k == y ? static_cast<float>(1.0 - eps) : 0.0f);
          gx[n * K + k] += g * (pp[n * K + k] - q);
        }
      }
    });
  }
  return yv;
}

Var* BceWithLogits(Tape& t, Var* logits, const Tensor& targets) {
  CheckTargets("bce_with_logits", logits, targets);
  const int64_t n = targets.numel();
  const float* xp = logits->value.data();
  const float* tp = targets.data();
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = xp[i];
    total += (x > 0 ? x : 0.0) - x * tp[i] + std::log1p(std::exp(-std::fabs(x)));
  }
  Var* yv = Scalar(t, total / static_cast<double>(n), {logits});
  if (yv->requires_grad) {
    t.Record([&t, logits, yv, targets, n] {
      const float g = yv->grad.data()[0] / static_cast<float>(n);
      const float* xp = logits->value.data();
      const float* tp = targets.data();
      float* gx = t.Grad(logits).data();
      for (int64_t i = 0; i < n; ++i) gx[i] += g * (1.0f / (1.0f + std::exp(-xp[i])) - tp[i]);
    });
  }
  return yv;
}

Var* SoftDice(Tape& t, Var* probs, const Tensor& targets, float smooth) {
  CheckTargets("soft_dice", probs, targets);
  const int64_t B = targets.dim(0), S = targets.numel() / B;
  Tensor sums(Shape{B, 2});  // per sample: I = sum p t, U = sum p + sum t + smooth
  const float* pp = probs->value.data();
  const float* tp = targets.data();
  double total = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    double I = 0.0, U = smooth;
    for (int64_t j = 0; j < S; ++j) {
      I += static_cast<double>(pp[b * S + j]) * tp[b * S + j];
      U += static_cast<double>(pp[b * S + j]) + tp[b * S + j];
    }
    sums.data()[b * 2] = static_cast<float>(I);
    sums.data()[b * 2 + 1] = static_cast<float>(U);
    total += 1.0 - (2.0 * I + smooth) / U;
  }
  Var* yv = Scalar(t, total / static_cast<double>(B), {probs});
  if (yv->requires_grad) {
    t.Record([&t, probs, yv, targets, sums, B, S, smooth] {
      const float g = yv->grad.data()[0] / static_cast<float>(B);
      const float* tp = targets.data();
      float* gp = t.Grad(probs).data();
      for (int64_t b = 0; b < B; ++b) {
        const float I = sums.data()[b * 2], U = sums.data()[b * 2 + 1];
        const float num = 2.0f * I + smooth;
        // d/dp_j [1 - num/U] = -(2 t_j U - num) / U^2
        for (int64_t j = 0; j < S; ++j) gp[b * S + j] += g * -(2.0f * tp[b * S + j] * U - num) / (U * U);
      }
    });
  }
  return yv;
}

Var* L1Loss(Tape& t, Var* pred, const Tensor& targets) {
  CheckTargets("l1", pred, targets);
  const int64_t n = targets.numel();
  const float* xp = pred->value.data();
  const float* tp = targets.data();
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += std::fabs(static_cast<double>(xp[i]) - tp[i]);
  Var* yv = Scalar(t, total / static_cast<double>(n), {pred});
  if (yv->requires_grad) {
    t.Record([&t, pred, yv, targets, n] {
      const float g = yv->grad.data()[0] / static_cast<float>(n);
      const float* xp = pred->value.data();
      const float* tp = targets.data();
      float* gx = t.Grad(pred).data();
      for (int64_t i = 0; i < n; ++i) {
        const float d = xp[i] - tp[i];
        gx[i] += d > 0.0f ? g : (d < 0.0f ? -g : 0.0f);
      }
    });
  }
  return yv;
}

Var* MseLoss(Tape& t, Var* pred, const Tensor& targets) {
  CheckTargets("mse", pred, targets);
  const int64_t n = targets.numel();
  const float* xp = pred->value.data();
  const float* tp = targets.data();
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(xp[i]) - tp[i];
    total += d * d;
  }
  Var* yv = Scalar(t, total / static_cast<double>(n), {pred});
  if (yv->requires_grad) {
    t.Record([&t, pred, yv, targets, n] {
      const float g = 2.0f * yv->grad.data()[0] / static_cast<float>(n);
      const float* xp = pred->value.data();
      const float* tp = targets.data();
      float* gx = t.Grad(pred).data();
      for (int64_t i = 0; i < n; ++i) gx[i] += g * (xp[i] - tp[i]);
    });
  }
  return yv;
}

}  // namespace ssm::ops
