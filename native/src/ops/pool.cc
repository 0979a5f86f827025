// Average / max pooling (2-D, no padding) and global average pooling.
#include "ops/common.h"
#include "ops/resample_util.h"

namespace ssm::ops {

namespace {

Var* Pool2d(Tape& t, Var* x, int k, int s, bool is_max) {
  const char* name = is_max ? "max_pool" : "avg_pool";
  const Shape& xs = x->value.shape();
  CheckPoolInput(name, xs, 4, k, s);
  const int64_t planes = xs[0] * xs[1], H = xs[2], W = xs[3];
  const int64_t Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
  Tensor y(Shape{xs[0], xs[1], Ho, Wo});  // (B, C, Ho, Wo)
  const float* xp = x->value.data();
  float* yp = y.data();
  const float inv = 1.0f / static_cast<float>(k * k);
  ParallelFor(planes, 4, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* src = xp + p * H * W;
      for (int64_t oy = 0; oy < Ho; ++oy)
        for (int64_t ox = 0; ox < Wo; ++ox) {
          float acc = is_max ? src[oy * s * W + ox * s] : 0.0f;
          for (int dy = 0; dy < k; ++dy)
            for (int dx = 0; dx < k; ++dx) {
              const float v = src[(oy * s + dy) * W + ox * s + dx];
              acc = is_max ? (v > acc ? v : acc) : acc + v;
            }
          yp[p * Ho * Wo + oy * Wo + ox] = is_max ? acc : acc * inv;
        }
    }
  });
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, planes, H, W, Ho, Wo, k, s, is_max, inv] {
      const float* xp = x->value.data();
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      ParallelFor(planes, 4, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const float* src = xp + p * H * W;
          float* dst = gx + p * H * W;
          for (int64_t oy = 0; oy < Ho; ++oy)
            for (int64_t ox = 0; ox < Wo; ++ox) {
              const float g = gy[p * Ho * Wo + oy * Wo + ox];
              if (!is_max) {
                for (int dy = 0; dy < k; ++dy)
                  for (int dx = 0; dx < k; ++dx) dst[(oy * s + dy) * W + ox * s + dx] += g * inv;
                continue;
              }
              // The gradient goes to the first maximum in row-major window order (same rule as the forward).
              int64_t best = oy * s * W + ox * s;
              for (int dy = 0; dy < k; ++dy)
                for (int dx = 0; dx < k; ++dx) {
                  const int64_t i = (oy * s + dy) * W + ox * s + dx;
                  if (src[i] > src[best]) best = i;
                }
              dst[best] += g;
            }
        }
      });
    });
  }
  return yv;
}

}  // namespace

Var* AvgPool2d(Tape& t, Var* x, int kernel, int stride) { return Pool2d(t, x, kernel, stride, false); }
Var* MaxPool2d(Tape& t, Var* x, int kernel, int stride) { return Pool2d(t, x, kernel, stride, true); }

Var* GlobalAvgPool(Tape& t, Var* x) {
  const Shape& xs = x->value.shape();
  if (xs.rank < 3) ShapeError("global_avg_pool", "input must be (B, C, S...), got " + xs.str());
  const int64_t BC = xs[0] * xs[1], S = xs.numel() / BC;
  Tensor y(Shape{xs[0], xs[1]});  // (B, C)
  const float* xp = x->value.data();
  float* yp = y.data();
  for (int64_t i = 0; i < BC; ++i) {
    float acc = 0.0f;
    for (int64_t j = 0; j < S; ++j) acc += xp[i * S + j];
    yp[i] = acc / static_cast<float>(S);
  }
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, BC, S] {
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      const float inv = 1.0f / static_cast<float>(S);
      for (int64_t i = 0; i < BC; ++i)
        for (int64_t j = 0; j < S; ++j) gx[i * S + j] += gy[i] * inv;
    });
  }
  return yv;
}

}  // namespace ssm::ops
