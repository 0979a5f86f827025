#include "s4nd/s4nd_head.h"

#include <cmath>
#include <cstring>

#include "s4nd/parallel.h"
#include "s4nd/small_gemm.h"

namespace ssm::s4nd {

namespace {
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

inline float Gelu(float x) { return static_cast<float>(0.5 * x * (1.0 + std::erf(x * kInvSqrt2))); }
inline float GeluGrad(float x) {
  const double xd = x;
  return static_cast<float>(0.5 * (1.0 + std::erf(xd * kInvSqrt2)) + xd * kInvSqrt2Pi * std::exp(-0.5 * xd * xd));
}
inline float Sigmoid(float x) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x)))); }
}  // namespace

void HeadForward(int B, int CH, int H, std::size_t S, const float* ypre, const float* W, const float* bias, float* out,
                 S4ndWorkspace& ws, S4ndSaved& saved) {
  const std::size_t nz = static_cast<std::size_t>(B) * CH * S;
  float* z = GrowTo(ws.head, nz);  // (B, CH, S)
  float* v = GrowTo(saved.v, static_cast<std::size_t>(B) * 2 * H * S);
  ParallelFor(nz, 4096, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) z[i] = Gelu(ypre[i]);
  });
  ParallelFor(B, 1, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      float* vb = v + b * 2 * H * S;
      Gemm(2 * H, static_cast<int>(S), CH, W, CH, 1, z + b * CH * S, S, vb, S, false);  // (2H, S)
      for (int o = 0; o < 2 * H; ++o)
        for (std::size_t j = 0; j < S; ++j) vb[o * S + j] += bias[o];
      float* ob = out + b * H * S;
      for (int h = 0; h < H; ++h)
        for (std::size_t j = 0; j < S; ++j) ob[h * S + j] = vb[h * S + j] * Sigmoid(vb[(H + h) * S + j]);
    }
  });
}

void HeadBackward(int B, int CH, int H, std::size_t S, const float* ypre, const float* v, const float* W,
                  const float* dout, float* dW, float* dbias, float* dypre, S4ndWorkspace& ws) {
  const std::size_t nv = static_cast<std::size_t>(B) * 2 * H * S;
  float* dv = GrowTo(ws.head2, nv + static_cast<std::size_t>(B) * S * CH);  // dv (B, 2H, S), then z^T (B, S, CH)
  float* zt = dv + nv;
  float* z = GrowTo(ws.head, static_cast<std::size_t>(B) * CH * S);
  ParallelFor(B, 1, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      const float* vb = v + b * 2 * H * S;
      const float* db = dout + b * H * S;
      float* dvb = dv + b * 2 * H * S;
      for (int h = 0; h < H; ++h)
        for (std::size_t j = 0; j < S; ++j) {
          const float a = vb[h * S + j], s = Sigmoid(vb[(H + h) * S + j]), d = db[h * S + j];
          dvb[h * S + j] = d * s;
          dvb[(H + h) * S + j] = d * a * s * (1 - s);
        }
      float* zb = z + b * CH * S;
      for (std::size_t i = 0; i < CH * S; ++i) zb[i] = Gelu(ypre[b * CH * S + i]);
      Transpose(CH, static_cast<int>(S), zb, zt + b * S * CH);
      // dz = W^T dv  (CH, S), then dypre = dz * GELU'(ypre)
      float* dz = dypre + b * CH * S;
      Gemm(CH, static_cast<int>(S), 2 * H, W, 1, CH, dvb, S, dz, S, false);
      for (std::size_t i = 0; i < CH * S; ++i) dz[i] *= GeluGrad(ypre[b * CH * S + i]);
    }
  });
  // dW (2H, CH) += sum_b dv_b z_b^T ; dbias += sum dv.  Parallel over output rows.
  ParallelFor(2 * H, 1, [&](std::size_t o0, std::size_t o1) {
    for (int b = 0; b < B; ++b) {
      const float* dvb = dv + static_cast<std::size_t>(b) * 2 * H * S;
      Gemm(static_cast<int>(o1 - o0), CH, static_cast<int>(S), dvb + o0 * S, S, 1, zt + b * S * CH, CH, dW + o0 * CH,
           CH, true);
    }
    for (std::size_t o = o0; o < o1; ++o) {
      double acc = 0;
      for (int b = 0; b < B; ++b) {
        const float* r = dv + (static_cast<std::size_t>(b) * 2 * H + o) * S;
        for (std::size_t j = 0; j < S; ++j) acc += r[j];
      }
      dbias[o] += static_cast<float>(acc);
    }
  });
}

}  // namespace ssm::s4nd
