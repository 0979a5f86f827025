// 3-D average / max pooling (no padding) and 3-D nearest / trilinear upsampling on volumes (B, C, D, H, W), plus the
// rank-dispatching entry points the graph and the op binding use (rank 4 -> the 2-D ops, rank 5 -> these).
// Same rules as the 2-D versions (pool.cc, conv.cc): max pooling sends the gradient to the first maximum in
// row-major (d, h, w) window order; trilinear uses align_corners=false taps (PyTorch's default), applied along W,
// then H, then D, so a volume of depth 1 at scale 1 along D reproduces bilinear exactly.
#include "ops/common.h"
#include "ops/resample_util.h"

namespace ssm::ops {

namespace {

Var* Pool3d(Tape& t, Var* x, int k, int s, bool is_max) {
  const char* name = is_max ? "max_pool" : "avg_pool";
  const Shape& xs = x->value.shape();
  CheckPoolInput(name, xs, 5, k, s);
  const int64_t planes = xs[0] * xs[1], D = xs[2], H = xs[3], W = xs[4];
  const int64_t Do = (D - k) / s + 1, Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
  Tensor y(Shape{xs[0], xs[1], Do, Ho, Wo});  // (B, C, Do, Ho, Wo)
  const float* xp = x->value.data();
  float* yp = y.data();
  const float inv = 1.0f / static_cast<float>(k * k * k);
  const int64_t vin = D * H * W, vout = Do * Ho * Wo;
  ForEachPlane(planes, [&](int64_t p) {
    const float* src = xp + p * vin;
    for (int64_t oz = 0; oz < Do; ++oz)
      for (int64_t oy = 0; oy < Ho; ++oy)
        for (int64_t ox = 0; ox < Wo; ++ox) {
          float acc = is_max ? src[(oz * s * H + oy * s) * W + ox * s] : 0.0f;
          ForWindow3(oz, oy, ox, k, s, H, W, [&](int64_t i) {
            const float v = src[i];
            acc = is_max ? (v > acc ? v : acc) : acc + v;
          });
          yp[p * vout + (oz * Ho + oy) * Wo + ox] = is_max ? acc : acc * inv;
        }
  });
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, planes, D, H, W, Do, Ho, Wo, k, s, is_max, inv] {
      const float* xp = x->value.data();
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      const int64_t vin = D * H * W, vout = Do * Ho * Wo;
      ForEachPlane(planes, [&](int64_t p) {
        const float* src = xp + p * vin;
        float* dst = gx + p * vin;
        for (int64_t oz = 0; oz < Do; ++oz)
          for (int64_t oy = 0; oy < Ho; ++oy)
            for (int64_t ox = 0; ox < Wo; ++ox) {
              const float g = gy[p * vout + (oz * Ho + oy) * Wo + ox];
              int64_t best = (oz * s * H + oy * s) * W + ox * s;
              ForWindow3(oz, oy, ox, k, s, H, W, [&](int64_t i) {
                if (!is_max)
                  dst[i] += g * inv;
                else if (src[i] > src[best])
                  best = i;
              });
              if (is_max) dst[best] += g;
            }
      });
    });
  }
  return yv;
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
  ForEachPlane(planes, [&](int64_t p) {
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
          const float va = Bilerp(a, W, y0, y1, x0, x1, wy, wx);
          const float vb = Bilerp(b, W, y0, y1, x0, x1, wy, wx);
          row[ox] = va * (1 - wz) + vb * wz;
        }
      }
  });
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, planes, D, H, W, Do, Ho, Wo, scale, trilinear] {
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      const int64_t vin = D * H * W, vout = Do * Ho * Wo;
      ForEachPlane(planes, [&](int64_t p) {
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
              BilerpAdd(a, W, y0, y1, x0, x1, wy, wx, grow[ox] * (1 - wz));
              BilerpAdd(b, W, y0, y1, x0, x1, wy, wx, grow[ox] * wz);
            }
          }
      });
    });
  }
  return yv;
}

Var* AvgPool(Tape& t, Var* x, int kernel, int stride) {
  return SpatialRank("avg_pool", x) == 5 ? AvgPool3d(t, x, kernel, stride) : AvgPool2d(t, x, kernel, stride);
}

Var* MaxPool(Tape& t, Var* x, int kernel, int stride) {
  return SpatialRank("max_pool", x) == 5 ? MaxPool3d(t, x, kernel, stride) : MaxPool2d(t, x, kernel, stride);
}

Var* Upsample(Tape& t, Var* x, int scale, bool linear) {
  return SpatialRank("upsample", x) == 5 ? Upsample3d(t, x, scale, linear) : Upsample2d(t, x, scale, linear);
}

}  // namespace ssm::ops
