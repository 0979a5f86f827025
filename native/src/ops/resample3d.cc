// 3-D average / max pooling (no padding) and 3-D nearest / trilinear upsampling on volumes (B, C, D, H, W), plus the
// rank-dispatching entry points the graph and the op binding use (rank 4 -> the 2-D ops, rank 5 -> these).
// Same rules as the 2-D versions (pool.cc, conv.cc): max pooling sends the gradient to the first maximum in
// row-major (d, h, w) window order; trilinear uses align_corners=false taps (PyTorch's default), applied along W,
// then H, then D, so a volume of depth 1 at scale 1 along D reproduces bilinear exactly.
#include "ops/common.h"

namespace ssm::ops {

namespace {

Var* Pool3d(Tape& t, Var* x, int k, int s, bool is_max) {
  const char* name = is_max ? "max_pool" : "avg_pool";
  const Shape& xs = x->value.shape();
  if (xs.rank != 5) ShapeError(name, "input must be (B, C, D, H, W), got " + xs.str());
  if (k < 1 || s < 1 || xs[2] < k || xs[3] < k || xs[4] < k)
    ShapeError(name, "kernel " + std::to_string(k) + " does not fit " + xs.str());
  const int64_t planes = xs[0] * xs[1], D = xs[2], H = xs[3], W = xs[4];
  const int64_t Do = (D - k) / s + 1, Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
  Tensor y(Shape{xs[0], xs[1], Do, Ho, Wo});  // (B, C, Do, Ho, Wo)
  const float* xp = x->value.data();
  float* yp = y.data();
  const float inv = 1.0f / static_cast<float>(k * k * k);
  const int64_t vin = D * H * W, vout = Do * Ho * Wo;
  ParallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* src = xp + p * vin;
      for (int64_t oz = 0; oz < Do; ++oz)
        for (int64_t oy = 0; oy < Ho; ++oy)
          for (int64_t ox = 0; ox < Wo; ++ox) {
            float acc = is_max ? src[(oz * s * H + oy * s) * W + ox * s] : 0.0f;
            for (int dz = 0; dz < k; ++dz)
              for (int dy = 0; dy < k; ++dy)
                for (int dx = 0; dx < k; ++dx) {
                  const float v = src[((oz * s + dz) * H + oy * s + dy) * W + ox * s + dx];
                  acc = is_max ? (v > acc ? v : acc) : acc + v;
                }
            yp[p * vout + (oz * Ho + oy) * Wo + ox] = is_max ? acc : acc * inv;
          }
    }
  });
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, planes, D, H, W, Do, Ho, Wo, k, s, is_max, inv] {
      const float* xp = x->value.data();
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      const int64_t vin = D * H * W, vout = Do * Ho * Wo;
      ParallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const float* src = xp + p * vin;
          float* dst = gx + p * vin;
          for (int64_t oz = 0; oz < Do; ++oz)
            for (int64_t oy = 0; oy < Ho; ++oy)
              for (int64_t ox = 0; ox < Wo; ++ox) {
                const float g = gy[p * vout + (oz * Ho + oy) * Wo + ox];
                int64_t best = (oz * s * H + oy * s) * W + ox * s;
                for (int dz = 0; dz < k; ++dz)
                  for (int dy = 0; dy < k; ++dy)
                    for (int dx = 0; dx < k; ++dx) {
                      const int64_t i = ((oz * s + dz) * H + oy * s + dy) * W + ox * s + dx;
                      if (!is_max)
                        dst[i] += g * inv;
                      else if (src[i] > src[best])
                        best = i;
                    }
                if (is_max) dst[best] += g;
              }
        }
      });
    });
  }
  return yv;
}

// Source taps of linear sampling (align_corners=false) for output index o at `scale` (same as conv.cc BilinearTap).
inline void LinearTap(int64_t o, int scale, int64_t n, int64_t& i0, int64_t& i1, float& w1) {
  float src = (static_cast<float>(o) + 0.5f) / static_cast<float>(scale) - 0.5f;
  if (src < 0.0f) src = 0.0f;
  i0 = static_cast<int64_t>(src);
  if (i0 > n - 1) i0 = n - 1;
  i1 = i0 + 1 < n ? i0 + 1 : n - 1;
  w1 = src - static_cast<float>(i0);
}

}  // namespace

Var* AvgPool3d(Tape& t, Var* x, int kernel, int stride) { return Pool3d(t, x, kernel, stride, false); }
Var* MaxPool3d(Tape& t, Var* x, int kernel, int stride) { return Pool3d(t, x, kernel, stride, true); }

Var* Upsample3d(Tape& t, Var* x, int scale, bool trilinear) {
  const Shape& xs = x->value.shape();
  if (xs.rank != 5) ShapeError("upsample", "input must be (B, C, D, H, W), got " + xs.str());
  if (scale < 1) ShapeError("upsample", "scale must be >= 1");
  const int64_t planes = xs[0] * xs[1], D = xs[2], H = xs[3], W = xs[4];
  const int64_t Do = D * scale, Ho = H * scale, Wo = W * scale;
  Tensor y(Shape{xs[0], xs[1], Do, Ho, Wo});  // (B, C, D*s, H*s, W*s)
  const float* xp = x->value.data();
  float* yp = y.data();
  const int64_t vin = D * H * W, vout = Do * Ho * Wo;
  ParallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* src = xp + p * vin;
      float* dst = yp + p * vout;
      for (int64_t oz = 0; oz < Do; ++oz)
        for (int64_t oy = 0; oy < Ho; ++oy) {
          float* row = dst + (oz * Ho + oy) * Wo;
          if (!trilinear) {
            const float* s = src + ((oz / scale) * H + oy / scale) * W;
            for (int64_t ox = 0; ox < Wo; ++ox) row[ox] = s[ox / scale];
            continue;
          }
          int64_t z0, z1, y0, y1;
          float wz, wy;
          LinearTap(oz, scale, D, z0, z1, wz);
          LinearTap(oy, scale, H, y0, y1, wy);
          const float* a = src + z0 * H * W;  // the two depth slices
          const float* b = src + z1 * H * W;
          for (int64_t ox = 0; ox < Wo; ++ox) {
            int64_t x0, x1;
            float wx;
            LinearTap(ox, scale, W, x0, x1, wx);
            const float a_top = a[y0 * W + x0] * (1 - wx) + a[y0 * W + x1] * wx;
            const float a_bot = a[y1 * W + x0] * (1 - wx) + a[y1 * W + x1] * wx;
            const float b_top = b[y0 * W + x0] * (1 - wx) + b[y0 * W + x1] * wx;
            const float b_bot = b[y1 * W + x0] * (1 - wx) + b[y1 * W + x1] * wx;
            const float va = a_top * (1 - wy) + a_bot * wy;
            const float vb = b_top * (1 - wy) + b_bot * wy;
            row[ox] = va * (1 - wz) + vb * wz;
          }
        }
    }
  });
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, planes, D, H, W, Do, Ho, Wo, scale, trilinear] {
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      const int64_t vin = D * H * W, vout = Do * Ho * Wo;
      ParallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const float* g = gy + p * vout;
          float* d = gx + p * vin;
          for (int64_t oz = 0; oz < Do; ++oz)
            for (int64_t oy = 0; oy < Ho; ++oy) {
              const float* grow = g + (oz * Ho + oy) * Wo;
              if (!trilinear) {
                float* drow = d + ((oz / scale) * H + oy / scale) * W;
                for (int64_t ox = 0; ox < Wo; ++ox) drow[ox / scale] += grow[ox];
                continue;
              }
              int64_t z0, z1, y0, y1;
              float wz, wy;
              LinearTap(oz, scale, D, z0, z1, wz);
              LinearTap(oy, scale, H, y0, y1, wy);
              float* a = d + z0 * H * W;
              float* b = d + z1 * H * W;
              for (int64_t ox = 0; ox < Wo; ++ox) {
                int64_t x0, x1;
                float wx;
                LinearTap(ox, scale, W, x0, x1, wx);
                const float ga = grow[ox] * (1 - wz), gb = grow[ox] * wz;
                a[y0 * W + x0] += ga * (1 - wy) * (1 - wx);
                a[y0 * W + x1] += ga * (1 - wy) * wx;
                a[y1 * W + x0] += ga * wy * (1 - wx);
                a[y1 * W + x1] += ga * wy * wx;
                b[y0 * W + x0] += gb * (1 - wy) * (1 - wx);
                b[y0 * W + x1] += gb * (1 - wy) * wx;
                b[y1 * W + x0] += gb * wy * (1 - wx);
                b[y1 * W + x1] += gb * wy * wx;
              }
            }
        }
      });
    });
  }
  return yv;
}

Var* AvgPool(Tape& t, Var* x, int kernel, int stride) {
  const int r = x->value.rank();
  if (r != 4 && r != 5)
    ShapeError("avg_pool", "input must be (B, C, H, W) or (B, C, D, H, W), got " + x->value.shape().str());
  return r == 5 ? AvgPool3d(t, x, kernel, stride) : AvgPool2d(t, x, kernel, stride);
}

Var* MaxPool(Tape& t, Var* x, int kernel, int stride) {
  const int r = x->value.rank();
  if (r != 4 && r != 5)
    ShapeError("max_pool", "input must be (B, C, H, W) or (B, C, D, H, W), got " + x->value.shape().str());
  return r == 5 ? MaxPool3d(t, x, kernel, stride) : MaxPool2d(t, x, kernel, stride);
}

Var* Upsample(Tape& t, Var* x, int scale, bool linear) {
  const int r = x->value.rank();
  if (r != 4 && r != 5)
    ShapeError("upsample", "input must be (B, C, H, W) or (B, C, D, H, W), got " + x->value.shape().str());
  return r == 5 ? Upsample3d(t, x, scale, linear) : Upsample2d(t, x, scale, linear);
}

}  // namespace ssm::ops
