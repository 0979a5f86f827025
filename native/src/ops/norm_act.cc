// Layer norm and pointwise activations.
#include <cmath>

#include "ops/common.h"

namespace ssm::ops {

Var* LayerNorm(Tape& t, Var* x, Var* gamma, Var* beta, bool channels_first, float eps) {
  const Shape& xs = x->value.shape();
  if (xs.rank < (channels_first ? 2 : 1)) ShapeError("layernorm", "input rank too small: " + xs.str());
  const int64_t C = channels_first ? xs[1] : xs[-1];
  if (gamma->value.numel() != C || beta->value.numel() != C) {
    ShapeError("layernorm", "gamma/beta must have " + std::to_string(C) + " entries for input " + xs.str());
  }
  // View x as (outer, C, inner): channels-first (B, C, S) -> inner = S; channels-last (N, C) -> inner = 1.
  const int64_t outer = channels_first ? xs[0] : xs.numel() / C;
  const int64_t inner = channels_first ? xs.numel() / (xs[0] * C) : 1;
  Tensor y(xs);
  Tensor stats(Shape{2, outer * inner});  // mean, rstd per normalised vector
  const float* xp = x->value.data();
  const float* gp = gamma->value.data();
  const float* bp = beta->value.data();
  float* yp = y.data();
  float* mean = stats.data();
  float* rstd = stats.data() + outer * inner;
  ParallelFor(outer, 1, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const float* xo = xp + o * C * inner;
      float* yo = yp + o * C * inner;
      float* m = mean + o * inner;
      float* r = rstd + o * inner;
      for (int64_t i = 0; i < inner; ++i) m[i] = 0.0f, r[i] = 0.0f;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < inner; ++i) m[i] += xo[c * inner + i];
      for (int64_t i = 0; i < inner; ++i) m[i] /= static_cast<float>(C);
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < inner; ++i) {
          const float d = xo[c * inner + i] - m[i];
          r[i] += d * d;
        }
      for (int64_t i = 0; i < inner; ++i) r[i] = 1.0f / std::sqrt(r[i] / static_cast<float>(C) + eps);
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < inner; ++i) yo[c * inner + i] = (xo[c * inner + i] - m[i]) * r[i] * gp[c] + bp[c];
    }
  });
  Var* yv = MakeOut(t, std::move(y), {x, gamma, beta});
  if (yv->requires_grad) {
    t.Record([&t, x, gamma, beta, yv, stats, outer, C, inner] {
      const float* xp = x->value.data();
      const float* gp = gamma->value.data();
      const float* gy = yv->grad.data();
      const float* mean = stats.data();
      const float* rstd = stats.data() + outer * inner;
      if (x->requires_grad) {
        float* gx = t.Grad(x).data();
        WorkerScratch accs(2 * inner);  // per thread: mean(dxhat), mean(dxhat * xhat) per vector
        ParallelFor(outer, 1, [&](int64_t o0, int64_t o1) {
          float* a1 = accs.get();
          float* a2 = a1 + inner;
          for (int64_t o = o0; o < o1; ++o) {
            const float* xo = xp + o * C * inner;
            const float* go = gy + o * C * inner;
            float* dxo = gx + o * C * inner;
            const float* m = mean + o * inner;
            const float* r = rstd + o * inner;
            for (int64_t i = 0; i < inner; ++i) a1[i] = 0.0f, a2[i] = 0.0f;
            for (int64_t c = 0; c < C; ++c)
              for (int64_t i = 0; i < inner; ++i) {
                const float dxh = go[c * inner + i] * gp[c];
                a1[i] += dxh;
                a2[i] += dxh * (xo[c * inner + i] - m[i]) * r[i];
              }
            for (int64_t i = 0; i < inner; ++i) a1[i] /= static_cast<float>(C), a2[i] /= static_cast<float>(C);
            for (int64_t c = 0; c < C; ++c)
              for (int64_t i = 0; i < inner; ++i) {
                const float xh = (xo[c * inner + i] - m[i]) * r[i];
                dxo[c * inner + i] += r[i] * (go[c * inner + i] * gp[c] - a1[i] - xh * a2[i]);
              }
          }
        });
      }
      if (gamma->requires_grad || beta->requires_grad) {
        float* gg = t.Grad(gamma).data();
        float* gb = t.Grad(beta).data();
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t c = 0; c < C; ++c) {
            float sg = 0.0f, sb = 0.0f;
            for (int64_t i = 0; i < inner; ++i) {
              const int64_t k = (o * C + c) * inner + i;
              sg += gy[k] * (xp[k] - mean[o * inner + i]) * rstd[o * inner + i];
              sb += gy[k];
            }
            gg[c] += sg;
            gb[c] += sb;
          }
      }
    });
  }
  return yv;
}

namespace {

// y = f(x) elementwise, dx += f'(x) * dy. One kernel pair per activation, kept as plain loops.
template <typename Fwd, typename Bwd>
Var* Pointwise(Tape& t, Var* x, Fwd fwd, Bwd bwd) {
  Tensor y(x->value.shape());
  const float* xp = x->value.data();
  float* yp = y.data();
  ParallelFor(y.numel(), kElemGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) yp[i] = fwd(xp[i]);
  });
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, bwd] {
      const float* xp = x->value.data();
      const float* yp = yv->value.data();
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      ParallelFor(x->value.numel(), kElemGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) gx[i] += bwd(xp[i], yp[i]) * gy[i];
      });
    });
  }
  return yv;
}

inline float SigmoidF(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

Var* Gelu(Tape& t, Var* x) {
  return Pointwise(
      t, x, [](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)); },
      [](float v, float) {
        return 0.5f * (1.0f + std::erf(v * 0.70710678118654752f)) + v * 0.39894228040143268f * std::exp(-0.5f * v * v);
      });
}

Var* Silu(Tape& t, Var* x) {
  return Pointwise(
      t, x, [](float v) { return v * SigmoidF(v); },
      [](float v, float) {
        const float s = SigmoidF(v);
        return s * (1.0f + v * (1.0f - s));
      });
}

Var* Relu(Tape& t, Var* x) {
  return Pointwise(
      t, x, [](float v) { return v > 0.0f ? v : 0.0f; }, [](float v, float) { return v > 0.0f ? 1.0f : 0.0f; });
}

Var* Sigmoid(Tape& t, Var* x) {
  return Pointwise(
      t, x, [](float v) { return SigmoidF(v); }, [](float, float y) { return y * (1.0f - y); });
}

Var* Glu(Tape& t, Var* x) {
  const Shape& xs = x->value.shape();
  if (xs.rank < 2 || xs[1] % 2 != 0) ShapeError("glu", "dim 1 must be even, got " + xs.str());
  Shape ys = xs;
  ys[1] = xs[1] / 2;
  const int64_t B = xs[0], half = ys.numel() / B;  // elements of one half per sample: C/2 * S
  Tensor y(ys);                                    // (B, C/2, S...)
  const float* xp = x->value.data();
  float* yp = y.data();
  for (int64_t b = 0; b < B; ++b) {
    const float* a = xp + b * 2 * half;
    const float* g = a + half;
    float* yo = yp + b * half;
    for (int64_t i = 0; i < half; ++i) yo[i] = a[i] * SigmoidF(g[i]);
  }
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, B, half] {
      const float* xp = x->value.data();
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      for (int64_t b = 0; b < B; ++b) {
        const float* a = xp + b * 2 * half;
        const float* g = a + half;
        float* da = gx + b * 2 * half;
        float* dg = da + half;
        const float* go = gy + b * half;
        for (int64_t i = 0; i < half; ++i) {
          const float s = SigmoidF(g[i]);
          da[i] += go[i] * s;
          dg[i] += go[i] * a[i] * s * (1.0f - s);
        }
      }
    });
  }
  return yv;
}

}  // namespace ssm::ops
