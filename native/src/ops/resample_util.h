// Helpers shared by the pooling and upsampling ops (pool.cc, conv.cc, resample3d.cc): argument checks and the
// align_corners=false linear taps with the bilinear gather / scatter on one (H, W) plane. All inline: no calls per
// element beyond what the compiler inlines.
#pragma once

#include <string>

#include "ops/common.h"

namespace ssm::ops {

// Checks a pooling input of rank 4 (B, C, H, W) or 5 (B, C, D, H, W): rank as asked, k, s >= 1, every spatial dim >= k.
inline void CheckPoolInput(const char* op, const Shape& xs, int rank, int k, int s) {
  if (xs.rank != rank)
    ShapeError(op,
               std::string("input must be ") + (rank == 5 ? "(B, C, D, H, W)" : "(B, C, H, W)") + ", got " + xs.str());
  bool fits = k >= 1 && s >= 1;
  for (int i = 2; i < rank; ++i) fits = fits && xs[i] >= k;
  if (!fits) ShapeError(op, "kernel " + std::to_string(k) + " does not fit " + xs.str());
}

// Runs f(p) for every plane p in [0, planes), planes split across the thread pool. A template: f inlines into the
// per-chunk loop.
template <typename F>
inline void ForEachPlane(int64_t planes, F&& f) {
  ParallelFor(planes, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) f(p);
  });
}

// Calls f(i) for the flat offset i of every voxel of the k×k×k window (stride s, no padding) of output (oz, oy, ox)
// in one (D, H, W) volume, in row-major (d, h, w) window order. A template: the lambda inlines (no call per voxel).
template <typename F>
inline void ForWindow3(int64_t oz, int64_t oy, int64_t ox, int k, int s, int64_t H, int64_t W, F&& f) {
  for (int dz = 0; dz < k; ++dz)
    for (int dy = 0; dy < k; ++dy)
      for (int dx = 0; dx < k; ++dx) f(((oz * s + dz) * H + oy * s + dy) * W + ox * s + dx);
}

// Rank (4 or 5) of the input of an op that takes (B, C, H, W) or (B, C, D, H, W); anything else is a ShapeError.
inline int SpatialRank(const char* op, const Var* x) {
  const int r = x->value.rank();
  if (r != 4 && r != 5) ShapeError(op, "input must be (B, C, H, W) or (B, C, D, H, W), got " + x->value.shape().str());
  return r;
}

// Source taps of linear sampling (align_corners=false, PyTorch's default) for output index o at `scale`: i0, i1 and
// the weight w1 of i1.
inline void LinearTap(int64_t o, int scale, int64_t n, int64_t& i0, int64_t& i1, float& w1) {
  float src = (static_cast<float>(o) + 0.5f) / static_cast<float>(scale) - 0.5f;
  if (src < 0.0f) src = 0.0f;
  i0 = static_cast<int64_t>(src);
  if (i0 > n - 1) i0 = n - 1;
  i1 = i0 + 1 < n ? i0 + 1 : n - 1;
  w1 = src - static_cast<float>(i0);
}

// Bilinear value of plane p (row length W) at rows (y0, y1) with weight wy of y1, columns (x0, x1) with weight wx of
// x1: along W first, then H.
inline float Bilerp(const float* p, int64_t W, int64_t y0, int64_t y1, int64_t x0, int64_t x1, float wy, float wx) {
  const float top = p[y0 * W + x0] * (1 - wx) + p[y0 * W + x1] * wx;
  const float bot = p[y1 * W + x0] * (1 - wx) + p[y1 * W + x1] * wx;
  return top * (1 - wy) + bot * wy;
}

// Adjoint of Bilerp: scatters g onto the four taps of plane p.
inline void BilerpAdd(float* p, int64_t W, int64_t y0, int64_t y1, int64_t x0, int64_t x1, float wy, float wx,
                      float g) {
  p[y0 * W + x0] += g * (1 - wy) * (1 - wx);
  p[y0 * W + x1] += g * (1 - wy) * wx;
  p[y1 * W + x0] += g * wy * (1 - wx);
  p[y1 * W + x1] += g * wy * wx;
}

}  // namespace ssm::ops
