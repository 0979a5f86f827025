// Convolution by im2col + GEMM (2-D is run as 3-D with depth 1), transposed 2-D convolution, and 2-D
// nearest/bilinear upsampling. Convolutions check the cancel flag per image (a throw inside the pool is rethrown
// on the calling thread).
#include <algorithm>
#include <cstring>

#include "ops/common.h"
#include "ops/gemm.h"
#include "ops/resample_util.h"

namespace ssm::ops {

namespace {

struct ConvGeom {
  int64_t B, C, D, H, W;  // input
  int64_t O, kd, kh, kw;  // weight
  int64_t sd, sh, sw, pd, ph, pw;
  int64_t Do, Ho, Wo;  // output
  int64_t CK() const { return C * kd * kh * kw; }
  int64_t L() const { return Do * Ho * Wo; }
  int64_t in_sp() const { return D * H * W; }
};

// col (CK, L) from one image x (C, D, H, W).
void Im2Col(const ConvGeom& g, const float* x, float* col) {
  const int64_t L = g.L();
  for (int64_t row = 0; row < g.CK(); ++row) {
    const int64_t kx = row % g.kw, ky = (row / g.kw) % g.kh, kz = (row / (g.kw * g.kh)) % g.kd;
    const int64_t c = row / (g.kw * g.kh * g.kd);
    float* dst = col + row * L;
    for (int64_t oz = 0; oz < g.Do; ++oz) {
      const int64_t iz = oz * g.sd - g.pd + kz;
      for (int64_t oy = 0; oy < g.Ho; ++oy) {
        const int64_t iy = oy * g.sh - g.ph + ky;
        float* d = dst + (oz * g.Ho + oy) * g.Wo;
        if (iz < 0 || iz >= g.D || iy < 0 || iy >= g.H) {
          std::memset(d, 0, sizeof(float) * g.Wo);
          continue;
        }
        const float* src = x + ((c * g.D + iz) * g.H + iy) * g.W;
        for (int64_t ox = 0; ox < g.Wo; ++ox) {
          const int64_t ix = ox * g.sw - g.pw + kx;
          d[ox] = (ix >= 0 && ix < g.W) ? src[ix] : 0.0f;
        }
      }
    }
  }
}

// dx (C, D, H, W) += col2im(dcol (CK, L)).
void Col2ImAdd(const ConvGeom& g, const float* col, float* dx) {
  const int64_t L = g.L();
  for (int64_t row = 0; row < g.CK(); ++row) {
    const int64_t kx = row % g.kw, ky = (row / g.kw) % g.kh, kz = (row / (g.kw * g.kh)) % g.kd;
    const int64_t c = row / (g.kw * g.kh * g.kd);
    const float* src = col + row * L;
    for (int64_t oz = 0; oz < g.Do; ++oz) {
      const int64_t iz = oz * g.sd - g.pd + kz;
      if (iz < 0 || iz >= g.D) continue;
      for (int64_t oy = 0; oy < g.Ho; ++oy) {
        const int64_t iy = oy * g.sh - g.ph + ky;
        if (iy < 0 || iy >= g.H) continue;
        const float* s = src + (oz * g.Ho + oy) * g.Wo;
        float* d = dx + ((c * g.D + iz) * g.H + iy) * g.W;
        for (int64_t ox = 0; ox < g.Wo; ++ox) {
          const int64_t ix = ox * g.sw - g.pw + kx;
          if (ix >= 0 && ix < g.W) d[ix] += s[ox];
        }
      }
    }
  }
}

// Splits the batch into a fixed number of chunks (independent of the thread count) so that reductions over
// the batch (weight gradients) are summed in the same order on every machine.
constexpr int64_t kBatchChunks = 8;

}  // namespace

Var* Conv(Tape& t, Var* x, Var* w, Var* b, const std::vector<int>& stride, const std::vector<int>& padding) {
  const Shape& xs = x->value.shape();
  const Shape& ws = w->value.shape();
  const int nsp = xs.rank - 2;
  if ((nsp != 2 && nsp != 3) || ws.rank != xs.rank) {
    ShapeError("conv",
               "input " + xs.str() + " and weight " + ws.str() + " must both be 4-D (2-D conv) or 5-D (3-D conv)");
  }
  if (static_cast<int>(stride.size()) != nsp || static_cast<int>(padding.size()) != nsp) {
    ShapeError("conv", "stride and padding need " + std::to_string(nsp) + " entries");
  }
  if (ws[1] != xs[1]) {
    ShapeError("conv", "input has " + std::to_string(xs[1]) + " channels but weight " + ws.str() + " expects " +
                           std::to_string(ws[1]));
  }
  ConvGeom g{};
  g.B = xs[0];
  g.C = xs[1];
  g.D = nsp == 3 ? xs[2] : 1;
  g.H = xs[-2];
  g.W = xs[-1];
  g.O = ws[0];
  g.kd = nsp == 3 ? ws[2] : 1;
  g.kh = ws[-2];
  g.kw = ws[-1];
  g.sd = nsp == 3 ? stride[0] : 1;
  g.sh = stride[nsp - 2];
  g.sw = stride[nsp - 1];
  g.pd = nsp == 3 ? padding[0] : 0;
  g.ph = padding[nsp - 2];
  g.pw = padding[nsp - 1];
  g.Do = (g.D + 2 * g.pd - g.kd) / g.sd + 1;
  g.Ho = (g.H + 2 * g.ph - g.kh) / g.sh + 1;
  g.Wo = (g.W + 2 * g.pw - g.kw) / g.sw + 1;
  if (g.D + 2 * g.pd < g.kd || g.H + 2 * g.ph < g.kh || g.W + 2 * g.pw < g.kw) {
    ShapeError("conv", "kernel " + ws.str() + " is larger than the padded input " + xs.str());
  }
  if (b && (b->value.rank() != 1 || b->value.dim(0) != g.O))
    ShapeError("conv", "bias must be (" + std::to_string(g.O) + ")");
  Shape ys = nsp == 3 ? Shape{g.B, g.O, g.Do, g.Ho, g.Wo} : Shape{g.B, g.O, g.Ho, g.Wo};
  Tensor y(ys);  // (B, O, [Do], Ho, Wo)
  const float* xp = x->value.data();
  const float* wp = w->value.data();
  const float* bp = b ? b->value.data() : nullptr;
  float* yp = y.data();
  WorkerScratch cols(g.CK() * g.L());  // (C*k, L) per thread
  ParallelFor(g.B, 1, [&](int64_t b0, int64_t b1) {
    float* col = cols.get();
    for (int64_t bi = b0; bi < b1; ++bi) {
      t.CheckCancelled();  // per image: long convolutions stay cancellable
      Im2Col(g, xp + bi * g.C * g.in_sp(), col);
      float* yb = yp + bi * g.O * g.L();  // (O, L) = W (O, CK) . col (CK, L)
      Gemm(false, false, g.O, g.L(), g.CK(), wp, g.CK(), col, g.L(), yb, g.L(), 0.0f);
      if (bp) {
        for (int64_t o = 0; o < g.O; ++o)
          for (int64_t l = 0; l < g.L(); ++l) yb[o * g.L() + l] += bp[o];
      }
    }
  });
  Var* yv = MakeOut(t, std::move(y), {x, w, b});
  if (yv->requires_grad) {
    t.Record([&t, x, w, b, yv, g] {
      const float* gy = yv->grad.data();  // (B, O, L)
      const float* xp = x->value.data();
      const float* wp = w->value.data();
      if (x->requires_grad) {
        float* gx = t.Grad(x).data();
        WorkerScratch dcols(g.CK() * g.L());  // (C*k, L) per thread
        ParallelFor(g.B, 1, [&](int64_t b0, int64_t b1) {
          float* dcol = dcols.get();
          for (int64_t bi = b0; bi < b1; ++bi) {
            t.CheckCancelled();  // per image: long convolutions stay cancellable
            // dcol (CK, L) = W^T (CK, O) . gy[b] (O, L)
            Gemm(true, false, g.CK(), g.L(), g.O, wp, g.CK(), gy + bi * g.O * g.L(), g.L(), dcol, g.L(), 0.0f);
            Col2ImAdd(g, dcol, gx + bi * g.C * g.in_sp());
          }
        });
      }
      if (w->requires_grad || (b && b->requires_grad)) {
        const int64_t chunks = std::min(kBatchChunks, g.B);
        const int64_t wn = g.O * g.CK();
        Tensor partial(Shape{chunks, wn + g.O});  // per chunk: dW (O, CK) then db (O)
        partial.zero();
        WorkerScratch cols(g.CK() * g.L());  // (C*k, L) per thread
        ParallelFor(chunks, 1, [&](int64_t c0, int64_t c1) {
          float* col = cols.get();
          for (int64_t c = c0; c < c1; ++c) {
            float* pw = partial.data() + c * (wn + g.O);
            for (int64_t bi = c * g.B / chunks; bi < (c + 1) * g.B / chunks; ++bi) {
              t.CheckCancelled();
              const float* gyb = gy + bi * g.O * g.L();
              if (w->requires_grad) {
                Im2Col(g, xp + bi * g.C * g.in_sp(), col);
                // dW (O, CK) += gy[b] (O, L) . col^T (L, CK)
                Gemm(false, true, g.O, g.CK(), g.L(), gyb, g.L(), col, g.L(), pw, g.CK(), 1.0f);
              }
              for (int64_t o = 0; o < g.O; ++o) {
                float s = 0.0f;
                for (int64_t l = 0; l < g.L(); ++l) s += gyb[o * g.L() + l];
                pw[wn + o] += s;
              }
            }
          }
        });
        float* gw = w->requires_grad ? t.Grad(w).data() : nullptr;
        float* gb = (b && b->requires_grad) ? t.Grad(b).data() : nullptr;
        for (int64_t c = 0; c < chunks; ++c) {
          const float* pw = partial.data() + c * (wn + g.O);
          if (gw)
            for (int64_t i = 0; i < wn; ++i) gw[i] += pw[i];
          if (gb)
            for (int64_t o = 0; o < g.O; ++o) gb[o] += pw[wn + o];
        }
      }
    });
  }
  return yv;
}

Var* ConvTranspose2d(Tape& t, Var* x, Var* w, Var* b, int stride, int padding) {
  const Shape& xs = x->value.shape();
  const Shape& ws = w->value.shape();
  if (xs.rank != 4 || ws.rank != 4 || ws[0] != xs[1] || ws[2] != ws[3]) {
    ShapeError("conv_transpose2d", "input " + xs.str() + " and weight " + ws.str() +
                                       " must be (B, C, H, W) and (C, O, k, k) with matching C");
  }
  const int64_t O = ws[1], k = ws[2];
  const int64_t Ho = (xs[2] - 1) * stride - 2 * padding + k, Wo = (xs[3] - 1) * stride - 2 * padding + k;
  if (Ho < 1 || Wo < 1) ShapeError("conv_transpose2d", "output would be empty for input " + xs.str());
  if (b && (b->value.rank() != 1 || b->value.dim(0) != O)) {
    ShapeError("conv_transpose2d", "bias must be (" + std::to_string(O) + ")");
  }
  // The transposed conv is the adjoint of a conv from y (O, Ho, Wo) to x (C, H, W): same geometry, roles swapped.
  ConvGeom g{};
  g.B = xs[0];
  g.C = O;
  g.D = 1;
  g.H = Ho;
  g.W = Wo;
  g.O = xs[1];
  g.kd = 1;
  g.kh = k;
  g.kw = k;
  g.sd = 1;
  g.sh = stride;
  g.sw = stride;
  g.pd = 0;
  g.ph = padding;
  g.pw = padding;
  g.Do = 1;
  g.Ho = xs[2];
  g.Wo = xs[3];
  if ((Ho + 2 * padding - k) / stride + 1 != xs[2] || (Wo + 2 * padding - k) / stride + 1 != xs[3]) {
    ShapeError("conv_transpose2d", "inconsistent geometry");
  }
  const int64_t C = xs[1], L = g.L(), CK = g.CK();  // L = H*W of x, CK = O*k*k
  Tensor y(Shape{g.B, O, Ho, Wo});                  // (B, O, Ho, Wo)
  y.zero();
  const float* xp = x->value.data();
  const float* wp = w->value.data();
  const float* bp = b ? b->value.data() : nullptr;
  float* yp = y.data();
  WorkerScratch cols(CK * L);  // (O*k*k, H*W) per thread
  ParallelFor(g.B, 1, [&](int64_t b0, int64_t b1) {
    float* col = cols.get();
    for (int64_t bi = b0; bi < b1; ++bi) {
      t.CheckCancelled();  // per image: long convolutions stay cancellable
      // col (O*k*k, L) = W^T (O*k*k, C) . x[b] (C, L)
      Gemm(true, false, CK, L, C, wp, CK, xp + bi * C * L, L, col, L, 0.0f);
      float* yb = yp + bi * O * Ho * Wo;
      Col2ImAdd(g, col, yb);
      if (bp) {
        for (int64_t o = 0; o < O; ++o)
          for (int64_t i = 0; i < Ho * Wo; ++i) yb[o * Ho * Wo + i] += bp[o];
      }
    }
  });
  Var* yv = MakeOut(t, std::move(y), {x, w, b});
  if (yv->requires_grad) {
    t.Record([&t, x, w, b, yv, g, C, L, CK, O, Ho, Wo] {
      const float* gy = yv->grad.data();  // (B, O, Ho, Wo)
      const float* xp = x->value.data();
      const float* wp = w->value.data();
      if (x->requires_grad) {
        float* gx = t.Grad(x).data();
        WorkerScratch cols(CK * L);  // per thread
        ParallelFor(g.B, 1, [&](int64_t b0, int64_t b1) {
          float* col = cols.get();
          for (int64_t bi = b0; bi < b1; ++bi) {
            t.CheckCancelled();  // per image: long convolutions stay cancellable
            Im2Col(g, gy + bi * O * Ho * Wo, col);
            // dx[b] (C, L) += W (C, O*k*k) . col (O*k*k, L)
            Gemm(false, false, C, L, CK, wp, CK, col, L, gx + bi * C * L, L, 1.0f);
          }
        });
      }
      if (w->requires_grad || (b && b->requires_grad)) {
        const int64_t chunks = std::min(kBatchChunks, g.B);
        const int64_t wn = C * CK;
        Tensor partial(Shape{chunks, wn + O});  // per chunk: dW (C, O*k*k) then db (O)
        partial.zero();
        WorkerScratch cols(CK * L);  // per thread
        ParallelFor(chunks, 1, [&](int64_t c0, int64_t c1) {
          float* col = cols.get();
          for (int64_t c = c0; c < c1; ++c) {
            float* pw = partial.data() + c * (wn + O);
            for (int64_t bi = c * g.B / chunks; bi < (c + 1) * g.B / chunks; ++bi) {
              t.CheckCancelled();
              const float* gyb = gy + bi * O * Ho * Wo;
              if (w->requires_grad) {
                Im2Col(g, gyb, col);
                // dW (C, O*k*k) += x[b] (C, L) . col^T (L, O*k*k)
                Gemm(false, true, C, CK, L, xp + bi * C * L, L, col, L, pw, CK, 1.0f);
              }
              for (int64_t o = 0; o < O; ++o) {
                float s = 0.0f;
                for (int64_t i = 0; i < Ho * Wo; ++i) s += gyb[o * Ho * Wo + i];
                pw[wn + o] += s;
              }
            }
          }
        });
        float* gw = w->requires_grad ? t.Grad(w).data() : nullptr;
        float* gb = (b && b->requires_grad) ? t.Grad(b).data() : nullptr;
        for (int64_t c = 0; c < chunks; ++c) {
          const float* pw = partial.data() + c * (wn + O);
          if (gw)
            for (int64_t i = 0; i < wn; ++i) gw[i] += pw[i];
          if (gb)
            for (int64_t o = 0; o < O; ++o) gb[o] += pw[wn + o];
        }
      }
    });
  }
  return yv;
}

Var* Upsample2d(Tape& t, Var* x, int scale, bool bilinear) {
  const Shape& xs = x->value.shape();
  if (xs.rank != 4) ShapeError("upsample", "input must be (B, C, H, W), got " + xs.str());
  if (scale < 1) ShapeError("upsample", "scale must be >= 1");
  const int64_t planes = xs[0] * xs[1], H = xs[2], W = xs[3], Ho = H * scale, Wo = W * scale;
  Tensor y(Shape{xs[0], xs[1], Ho, Wo});  // (B, C, H*s, W*s)
  const float* xp = x->value.data();
  float* yp = y.data();
  ParallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* src = xp + p * H * W;
      float* dst = yp + p * Ho * Wo;
      for (int64_t oy = 0; oy < Ho; ++oy) {
        if (!bilinear) {
          const float* s = src + (oy / scale) * W;
          for (int64_t ox = 0; ox < Wo; ++ox) dst[oy * Wo + ox] = s[ox / scale];
          continue;
        }
        int64_t y0, y1;
        float wy;
        LinearTap(oy, scale, H, y0, y1, wy);
        for (int64_t ox = 0; ox < Wo; ++ox) {
          int64_t x0, x1;
          float wx;
          LinearTap(ox, scale, W, x0, x1, wx);
          dst[oy * Wo + ox] = Bilerp(src, W, y0, y1, x0, x1, wy, wx);
        }
      }
    }
  });
  Var* yv = MakeOut(t, std::move(y), {x});
  if (yv->requires_grad) {
    t.Record([&t, x, yv, planes, H, W, Ho, Wo, scale, bilinear] {
      const float* gy = yv->grad.data();
      float* gx = t.Grad(x).data();
      ParallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const float* g = gy + p * Ho * Wo;
          float* d = gx + p * H * W;
          for (int64_t oy = 0; oy < Ho; ++oy) {
            if (!bilinear) {
              for (int64_t ox = 0; ox < Wo; ++ox) d[(oy / scale) * W + ox / scale] += g[oy * Wo + ox];
              continue;
            }
            int64_t y0, y1;
            float wy;
            LinearTap(oy, scale, H, y0, y1, wy);
            for (int64_t ox = 0; ox < Wo; ++ox) {
              int64_t x0, x1;
              float wx;
              LinearTap(ox, scale, W, x0, x1, wx);
              BilerpAdd(d, W, y0, y1, x0, x1, wy, wx, g[oy * Wo + ox]);
            }
          }
        }
      });
    });
  }
  return yv;
}

}  // namespace ssm::ops
