// S4ND layer forward / backward: kernels (s4nd_kernel) -> separable convolution chain (s4nd_conv) -> D skip ->
// optional GELU / Linear / GLU head (s4nd_head).
#include "s4nd/s4nd_layer.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "s4nd/parallel.h"
#include "s4nd/s4nd_conv.h"
#include "s4nd/s4nd_head.h"
#include "s4nd/s4nd_kernel.h"
#include "s4nd/s4nd_params.h"
#include "s4nd/s4nd_workspace.h"
#include "s4nd/small_gemm.h"

namespace ssm::s4nd {

std::atomic<uint64_t>& GrowEventCounter() {
  static std::atomic<uint64_t> counter{0};
  return counter;
}

std::size_t S4ndWorkspace::CapacityBytes() const {
  std::size_t n = (g0.capacity() + gy.capacity() + head.capacity() + head2.capacity()) * sizeof(float);
  for (int a = 0; a < kMaxDim; ++a)
    n += (k[a].capacity() + dk[a].capacity()) * sizeof(double) + dkb[a].capacity() * sizeof(float);
  return n;
}

std::size_t S4ndSaved::CapacityBytes() const {
  std::size_t n = (u.capacity() + ypre.capacity() + v.capacity()) * sizeof(float);
  for (int a = 0; a < kMaxDim; ++a)
    n += (chain[a].capacity() + xspec[a].capacity() + conv[a].kb.capacity() + conv[a].spec.capacity() +
          conv[a].toe.capacity() + conv[a].toe_t.capacity()) *
         sizeof(float);
  return n;
}

namespace {

AxisKernelSpec SpecOf(const S4ndConfig& cfg, int Lk, double rate, int64_t l_kernel) {
  AxisKernelSpec s;
  s.mode = cfg.mode;
  s.H = cfg.d_model;
  s.N = cfg.d_state;
  s.rows = KernelRows(cfg);
  s.Lk = Lk;
  s.rate = rate;
  s.bandlimit = cfg.bandlimit;
  s.l_kernel = l_kernel;
  return s;
}

ConvShape ShapeOf(const S4ndConfig& cfg, int batch, const int* L) {
  ConvShape s;
  s.B = batch;
  s.C = cfg.channels;
  s.H = cfg.d_model;
  s.D = cfg.dim;
  for (int a = 0; a < cfg.dim; ++a) s.L[a] = L[a];
  return s;
}

}  // namespace

void Forward(const S4ndConfig& cfg, float* params, S4ndState* state, const float* u, int batch, const int* L,
             double rate, float* y, S4ndWorkspace& ws, S4ndSaved& saved) {
  const int D = cfg.dim, H = cfg.d_model, C = cfg.channels;
  const LayerOffsets off = ComputeOffsets(cfg);
  const ConvShape shape = ShapeOf(cfg, batch, L);
  const std::size_t slab = shape.SlabSize();
  const std::size_t n_u = static_cast<std::size_t>(batch) * H * slab;
  const std::size_t n_y = static_cast<std::size_t>(batch) * C * H * slab;
  if (cfg.mode == KernelMode::kDPLR && static_cast<int>(state->l_kernel.size()) != D) state->l_kernel.assign(D, 0);

  // 1. Per-axis kernels (rows, H, Lk) in double, then the two-sided circular kernel for the chosen algorithm.
  for (int a = 0; a < D; ++a) {
    AxisConvData& cd = saved.conv[a];
    cd.L = L[a];
    cd.Lk = std::min<int64_t>(L[a], RoundHalfEven(cfg.l_max[a] / rate));
    if (cd.Lk < 1) cd.Lk = 1;
    cd.P = cd.L + cd.Lk;
    cd.algo = ResolveAlgo(cfg.conv, cd.L);
    const AxisKernelParams kp = AxisParamsOf(cfg, off, params, a);
    int64_t l_kernel = 0;
    if (cfg.mode == KernelMode::kDPLR) {
      DplrPrepareC(SpecOf(cfg, cd.Lk, rate, 0), kp, params + off.C[a], cfg.l_max[a], &state->l_kernel[a]);
      l_kernel = state->l_kernel[a];
    }
    const AxisKernelSpec ks = SpecOf(cfg, cd.Lk, rate, l_kernel);
    double* k = GrowTo(ws.k[a], static_cast<std::size_t>(ks.rows) * H * cd.Lk);
    GenerateAxisKernel(ks, kp, k);
    PrepareAxisConv(k, C, H, cfg.bidirectional, &cd);
  }

  // 2. Convolution chain x_D = u; x_a = K_a x_{a+1}; y = x_0 + D[c, h] u, fused per slab.  (B, C, H, L...)
  float* u_copy = GrowTo(saved.u, n_u);  // filled by the chain (Backward needs u)
  float* yconv = cfg.linear ? y : GrowTo(saved.ypre, n_y);
  float* chain[kMaxDim] = {nullptr, nullptr, nullptr};
  float* spec[kMaxDim] = {nullptr, nullptr, nullptr};
  for (int a = 0; a < D; ++a) {
    if (a < D - 1) chain[a] = GrowTo(saved.chain[a], n_y);
    const int cin = a == D - 1 ? 1 : C;
    if (saved.conv[a].algo == ConvAlgo::kFft)
      spec[a] = GrowTo(saved.xspec[a], SavedSpectrumSize(shape, cin, saved.conv[a]));
  }
  ConvChainForward(shape, saved.conv, u, chain, yconv, params + off.D, spec, u_copy);

  // 4. Optional head.
  if (!cfg.linear) {
    HeadForward(batch, C * H, H, slab, saved.ypre.data(), params + off.W, params + off.bias, y, ws, saved);
  }
  saved.valid = true;
  saved.batch = batch;
  saved.rate = rate;
  for (int a = 0; a < D; ++a) saved.L[a] = L[a];
}

void Backward(const S4ndConfig& cfg, const float* params, const S4ndState& state, const S4ndSaved& saved,
              const float* dy, float* du, float* dparams, S4ndWorkspace& ws) {
  if (!saved.valid) throw std::logic_error("s4nd: Backward called without a recorded Forward");
  const int D = cfg.dim, H = cfg.d_model, C = cfg.channels, batch = saved.batch;
  const LayerOffsets off = ComputeOffsets(cfg);
  const ConvShape shape = ShapeOf(cfg, batch, saved.L);
  const std::size_t slab = shape.SlabSize();
  const std::size_t n_y = static_cast<std::size_t>(batch) * C * H * slab;
  const float* u = saved.u.data();

  // 1. Gradient w.r.t. y_conv (B, C, H, L...).
  const float* g = dy;
  GrowTo(ws.g0, n_y);
  if (!cfg.linear) {
    float* gy = GrowTo(ws.gy, n_y);  // kept intact: the D skip (step 4) needs it after the chain
    HeadBackward(batch, C * H, H, slab, saved.ypre.data(), saved.v.data(), params + off.W, dy, dparams + off.W,
                 dparams + off.bias, gy, ws);
    g = gy;
  }

  // 2. D skip: dD[c, h] += sum g u; du = sum_c D[c, h] g.
  const float* Dp = params + off.D;
  float* dD = dparams + off.D;
  ParallelFor(static_cast<std::size_t>(C) * H, 1, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t ch = i0; ch < i1; ++ch) {
      const std::size_t h = ch % H;
      double acc = 0;
      for (int b = 0; b < batch; ++b) {
        const float* gs = g + (static_cast<std::size_t>(b) * C * H + ch) * slab;
        const float* us = u + (static_cast<std::size_t>(b) * H + h) * slab;
        float part = 0;  // vectorised dot product (a plain float reduction would not vectorise without -ffast-math)
        GemmABt(1, 1, static_cast<int>(slab), gs, 0, us, 0, &part, 1, false);
        acc += part;
      }
      dD[ch] += static_cast<float>(acc);
    }
  });

  // 3. Convolution chain backward, fused per slab: dkb_a += corr(g_a, x_{a+1}); g_{a+1} = K_a^T g_a.
  const float* chain[kMaxDim] = {nullptr, nullptr, nullptr};
  const float* spec[kMaxDim] = {nullptr, nullptr, nullptr};
  float* dkbs[kMaxDim] = {nullptr, nullptr, nullptr};
  for (int a = 0; a < D; ++a) {
    const AxisConvData& cd = saved.conv[a];
    if (a < D - 1) chain[a] = saved.chain[a].data();
    if (cd.algo == ConvAlgo::kFft) spec[a] = saved.xspec[a].data();
    dkbs[a] = GrowTo(ws.dkb[a], static_cast<std::size_t>(C) * H * cd.P);
    std::memset(dkbs[a], 0, sizeof(float) * C * H * cd.P);
  }
  float* cur = ws.g0.data();  // (B, C, H, L...) K^T g per head
  ConvChainBackward(shape, saved.conv, g, u, chain, spec, cur, dkbs);

  // 4. du = sum_c (D[c, h] g_yconv + g_u[c]).
  ParallelFor(static_cast<std::size_t>(batch) * H, 1, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) {
      const std::size_t h = i % H, b = i / H;
      float* dus = du + i * slab;
      std::memset(dus, 0, sizeof(float) * slab);
      for (int c = 0; c < C; ++c) {
        const std::size_t src = ((b * C + c) * H + h) * slab;
        const float d = Dp[c * H + h];
        const float* gy = g + src;
        const float* gc = cur + src;
        for (std::size_t j = 0; j < slab; ++j) dus[j] += d * gy[j] + gc[j];
      }
    }
  });

  // 5. Kernel parameter gradients.
  for (int a = 0; a < D; ++a) {
    const AxisConvData& cd = saved.conv[a];
    const int64_t l_kernel = cfg.mode == KernelMode::kDPLR ? state.l_kernel[a] : 0;
    const AxisKernelSpec ks = SpecOf(cfg, cd.Lk, saved.rate, l_kernel);
    double* dk = GrowTo(ws.dk[a], static_cast<std::size_t>(ks.rows) * H * cd.Lk);
    AxisKernelGradFromCircular(ws.dkb[a].data(), C, H, cfg.bidirectional, cd, dk);
    AxisKernelBackward(ks, AxisParamsOf(cfg, off, params, a), dk, AxisGradsOf(cfg, off, dparams, a));
  }
}

}  // namespace ssm::s4nd
