// Separable depthwise N-D convolution of S4ND (README section 5), one axis at a time. Because the N-D kernel is an
// outer product of per-axis two-sided kernels, the linear N-D convolution equals a chain of 1-D linear convolutions,
// y = K_0 (K_1 (... K_{D-1} u)). Each axis is computed either with a fused real FFT per line (transform, multiply by
// the kernel spectrum, inverse, slice; size P = L + Lk as in the official code) or directly as Toeplitz products
// (batched small GEMMs), chosen per axis.
//
// Tensors are (B, Cx, H, L_0, ..., L_{D-1}); a "slab" is one (b, c, h) spatial block. Cx = 1 means the same input is
// used for every head c (the layer input u).
#pragma once

#include "s4nd/s4nd_workspace.h"

namespace ssm::s4nd {

// Axis lengths at or below this use the direct path under ConvAlgo::kAuto. Measured with `npm run bench -- s4nd-conv`
// (S4D, H = N = 64, batch * L^dim = 32768, fwd+bwd median, 2 threads, AVX2, shared and loaded machine; seconds
// direct / fft). 2-D L x L: L=16 0.015/0.19, 32 0.031/0.12, 48 0.036/0.13, 64 0.081/0.20, 96 0.18/0.25, 128 0.12/0.083.
// 1-D L: 16 0.12/0.12, 24 0.075/0.105, 32 0.074/0.099, 48 0.062/0.068, 64 0.059/0.061 (1-D slabs are single lines, so
// the direct GEMMs there are thin; the two paths are within noise up to 64). Direct wins clearly up to 64 in 2-D and
// still at 96; FFT wins from 128. 64 is used for every axis (the FFT path then covers the long 1-D sequences).
constexpr int kDirectMaxLength = 64;

// Longest axis the direct path accepts when requested explicitly (its Toeplitz matrices hold 2 L^2 floats per channel).
constexpr int kDirectHardMaxLength = 1024;

// kAuto -> by length; kDirect on an axis longer than kDirectHardMaxLength throws std::invalid_argument.
ConvAlgo ResolveAlgo(ConvAlgo requested, int L);

struct ConvShape {
  int B = 0, C = 0, H = 0, D = 0;
  int L[kMaxDim] = {1, 1, 1};
  std::size_t SlabSize() const {
    std::size_t n = 1;
    for (int a = 0; a < D; ++a) n *= L[a];
    return n;
  }
};

// Fills kb from per-axis kernels k (rows, H, Lk) (bidirectional: rows = 2C, backward kernel starts at lag -1) and
// builds the spectrum or Toeplitz matrices for data->algo. data->L/Lk/P/algo must be set.
void PrepareAxisConv(const double* k, int C, int H, bool bidirectional, AxisConvData* data);

// Number of floats the forward pass stores for the input-line spectra of one FFT axis with cin input heads:
// (B, cin, H, lines, P/2+1, 2), lines = prod(L) / L_axis.
inline std::size_t SavedSpectrumSize(const ConvShape& s, int cin, const AxisConvData& d) {
  return static_cast<std::size_t>(s.B) * cin * s.H * (s.SlabSize() / d.L) * (d.P / 2 + 1) * 2;
}

// Whole chain, fused per slab so each slab stays in cache across the axes (what the layer uses):
//   chain[a] (a < D-1) = input of the axis-a convolution, (B, C, H, L...); y = K_0 ... K_{D-1} u + Dskip[c, h] u,
//   (B, C, H, L...). spec_save[a]: FFT axes store their input-line spectra there (SavedSpectrumSize), or nullptr.
//   u_copy (B, H, L...), if not null, receives a copy of u (made while the slab is read anyway).
void ConvChainForward(const ConvShape& s, const AxisConvData* conv, const float* u, float* const* chain, float* y,
                      const float* Dskip, float* const* spec_save, float* u_copy);

// Backward of the chain (without the D skip): g (B, C, H, L...) is dL/dy_conv. dkb[a] (C*H, P_a) += kernel-gradient
// correlations; gu (B, C, H, L...) = K_{D-1}^T ... K_0^T g per head (sum over c gives dL/du).
void ConvChainBackward(const ConvShape& s, const AxisConvData* conv, const float* g, const float* u,
                       const float* const* chain, const float* const* spec_saved, float* gu, float* const* dkb);

// dk (rows, H, Lk) = kb gradient (C*H, P) mapped back onto the forward / backward kernel taps.
void AxisKernelGradFromCircular(const float* dkb, int C, int H, bool bidirectional, const AxisConvData& data,
                                double* dk);

}  // namespace ssm::s4nd
