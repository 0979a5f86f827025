#include "s4nd/s4nd_conv.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "fft/fft.h"
#include "s4nd/parallel.h"
#include "s4nd/small_gemm.h"

namespace ssm::s4nd {

namespace {

using fft::Cx;

// (outer, L, inner) view of a slab along `axis`.
struct AxisView {
  int outer = 1, L = 1, inner = 1;
};

AxisView ViewOf(const ConvShape& s, int axis) {
  AxisView v;
  for (int a = 0; a < axis; ++a) v.outer *= s.L[a];
  v.L = s.L[axis];
  for (int a = axis + 1; a < s.D; ++a) v.inner *= s.L[a];
  return v;
}

// ---- direct (Toeplitz) slab kernels ----

// out = T * in along the axis, T (L x L) row-major, T[i][p] = K(i - p).  tt = T^T.
void DirectSlab(const AxisView& v, const float* T, const float* tt, const float* in, float* out) {
  if (v.inner == 1) {
    // (outer, L) rows: out[o][i] = sum_p in[o][p] T[i][p] = (in T^T)[o][i]
    Gemm(v.outer, v.L, v.L, in, v.L, 1, tt, v.L, out, v.L, false);
  } else {
    const std::size_t blk = static_cast<std::size_t>(v.L) * v.inner;
    for (int o = 0; o < v.outer; ++o)
      Gemm(v.L, v.inner, v.L, T, v.L, 1, in + o * blk, v.inner, out + o * blk, v.inner, false);
  }
}

// X (L x L) += sum over lines of g[i] x[p].
void DirectCorrSlab(const AxisView& v, const float* g, const float* x, float* X, float* xt) {
  if (v.inner == 1) {
    Gemm(v.L, v.L, v.outer, g, 1, v.L, x, v.L, X, v.L, true);  // g^T x
  } else {
    const std::size_t blk = static_cast<std::size_t>(v.L) * v.inner;
    for (int o = 0; o < v.outer; ++o) {
      if (v.L < 16) {  // too narrow for the 4x16 micro-kernel: dot products over the long inner axis
        GemmABt(v.L, v.L, v.inner, g + o * blk, v.inner, x + o * blk, v.inner, X, v.L, true);
        continue;
      }
      Transpose(v.L, v.inner, x + o * blk, xt);                                 // (inner, L)
      Gemm(v.L, v.L, v.inner, g + o * blk, v.inner, 1, xt, v.L, X, v.L, true);  // g_o x_o^T
    }
  }
}

// ---- FFT slab kernels ----

// Every line of the slab: out_line = slice(IFFT(FFT(pad(in_line)) * spec')), spec' = spec or conj(spec).
void FftSlab(const AxisView& v, const fft::RealPlan<float>& plan, const Cx<float>* spec, bool conj, const float* in,
             float* out, Cx<float>* save) {
  const int P = plan.size(), nb = plan.bins(), L = v.L;
  float* pad = ThreadScratch<float>(0, P);
  Cx<float>* fs = reinterpret_cast<Cx<float>*>(ThreadScratch<float>(1, 2 * nb));
  for (int o = 0; o < v.outer; ++o) {
    for (int q = 0; q < v.inner; ++q) {
      const std::size_t base = static_cast<std::size_t>(o) * L * v.inner + q;
      for (int j = 0; j < L; ++j) pad[j] = in[base + static_cast<std::size_t>(j) * v.inner];
      std::memset(pad + L, 0, sizeof(float) * (P - L));
      plan.Forward(pad, fs);
      if (save) std::memcpy(save + (static_cast<std::size_t>(o) * v.inner + q) * nb, fs, sizeof(Cx<float>) * nb);
      if (conj) {
        for (int k = 0; k < nb; ++k) {
          const Cx<float> a = fs[k], b = spec[k];
          fs[k] = {a.re * b.re + a.im * b.im, a.im * b.re - a.re * b.im};
        }
      } else {
        for (int k = 0; k < nb; ++k) {
          const Cx<float> a = fs[k], b = spec[k];
          fs[k] = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
        }
      }
      plan.Inverse(fs, pad);
      for (int j = 0; j < L; ++j) out[base + static_cast<std::size_t>(j) * v.inner] = pad[j];
    }
  }
}

// Fused backward of one slab: acc += FFT(g) conj(FFT(x)) per line (double), g_in = slice(IFFT(FFT(g) conj(spec))).
void FftBackwardSlab(const AxisView& v, const fft::RealPlan<float>& plan, const Cx<float>* spec, const float* g,
                     const float* x, const Cx<float>* x_spec, float* g_in, double* acc) {
  const int P = plan.size(), nb = plan.bins(), L = v.L;
  float* pad = ThreadScratch<float>(0, P);
  Cx<float>* gs = reinterpret_cast<Cx<float>*>(ThreadScratch<float>(1, 2 * nb));
  Cx<float>* xs = reinterpret_cast<Cx<float>*>(ThreadScratch<float>(2, 2 * nb));
  for (int o = 0; o < v.outer; ++o) {
    for (int q = 0; q < v.inner; ++q) {
      const std::size_t base = static_cast<std::size_t>(o) * L * v.inner + q;
      const Cx<float>* xsp = xs;
      if (x_spec) {
        xsp = x_spec + (static_cast<std::size_t>(o) * v.inner + q) * nb;  // saved by the forward pass
      } else {
        for (int j = 0; j < L; ++j) pad[j] = x[base + static_cast<std::size_t>(j) * v.inner];
        std::memset(pad + L, 0, sizeof(float) * (P - L));
        plan.Forward(pad, xs);
      }
      for (int j = 0; j < L; ++j) pad[j] = g[base + static_cast<std::size_t>(j) * v.inner];
      std::memset(pad + L, 0, sizeof(float) * (P - L));
      plan.Forward(pad, gs);
      for (int k = 0; k < nb; ++k) {
        const Cx<float> a = gs[k], b = xsp[k], s = spec[k];
        acc[2 * k] += static_cast<double>(a.re) * b.re + static_cast<double>(a.im) * b.im;
        acc[2 * k + 1] += static_cast<double>(a.im) * b.re - static_cast<double>(a.re) * b.im;
        gs[k] = {a.re * s.re + a.im * s.im, a.im * s.re - a.re * s.im};
      }
      plan.Inverse(gs, pad);
      for (int j = 0; j < L; ++j) g_in[base + static_cast<std::size_t>(j) * v.inner] = pad[j];
    }
  }
}

}  // namespace

ConvAlgo ResolveAlgo(ConvAlgo requested, int L) {
  if (requested == ConvAlgo::kDirect && L > kDirectHardMaxLength)
    throw std::invalid_argument(
        "s4nd: conv=direct supports axis lengths up to " + std::to_string(kDirectHardMaxLength) +
        " (Toeplitz matrices of 2 L^2 floats per channel), got " + std::to_string(L) + "; use conv=fft or auto");
  if (requested != ConvAlgo::kAuto) return requested;
  return L <= kDirectMaxLength ? ConvAlgo::kDirect : ConvAlgo::kFft;
}

void PrepareAxisConv(const double* k, int C, int H, bool bidirectional, AxisConvData* d) {
  const int L = d->L, Lk = d->Lk, P = d->P, CH = C * H;
  GrowTo(d->kb, static_cast<std::size_t>(CH) * P);
  for (int c = 0; c < C; ++c) {
    for (int h = 0; h < H; ++h) {
      float* kb = d->kb.data() + (static_cast<std::size_t>(c) * H + h) * P;
      std::memset(kb, 0, sizeof(float) * P);
      const double* kf = k + (static_cast<std::size_t>(c) * H + h) * Lk;  // forward row c: lags 0 .. Lk-1
      for (int j = 0; j < Lk; ++j) kb[j] = static_cast<float>(kf[j]);
      if (bidirectional) {
        const double* kr = k + (static_cast<std::size_t>(C + c) * H + h) * Lk;  // backward row C+c: lags -1 .. -Lk
        for (int m = 0; m < Lk; ++m) kb[P - 1 - m] = static_cast<float>(kr[m]);
      }
    }
  }
  if (d->algo == ConvAlgo::kFft) {
    const auto& plan = fft::GetRealPlan<double>(P);
    const int nb = plan.bins();
    GrowTo(d->spec, static_cast<std::size_t>(CH) * nb * 2);
    std::vector<double>& tmp = *[] {
      thread_local std::vector<double> t;
      return &t;
    }();
    GrowTo(tmp, static_cast<std::size_t>(P) + 2 * nb);
    Cx<double>* sp = reinterpret_cast<Cx<double>*>(tmp.data() + P);
    for (int ch = 0; ch < CH; ++ch) {
      for (int j = 0; j < P; ++j) tmp[j] = d->kb[static_cast<std::size_t>(ch) * P + j];
      plan.Forward(tmp.data(), sp);
      float* out = d->spec.data() + static_cast<std::size_t>(ch) * nb * 2;
      for (int q = 0; q < nb; ++q) {
        out[2 * q] = static_cast<float>(sp[q].re / P);
        out[2 * q + 1] = static_cast<float>(sp[q].im / P);
      }
    }
  } else {
    const std::size_t LL = static_cast<std::size_t>(L) * L;
    GrowTo(d->toe, CH * LL);
    GrowTo(d->toe_t, CH * LL);
    for (int ch = 0; ch < CH; ++ch) {
      const float* kb = d->kb.data() + static_cast<std::size_t>(ch) * P;
      float* T = d->toe.data() + ch * LL;
      float* Tt = d->toe_t.data() + ch * LL;
      for (int i = 0; i < L; ++i)
        for (int p = 0; p < L; ++p) {
          const int lag = i - p;
          const float val = kb[lag >= 0 ? lag : P + lag];
          T[i * L + p] = val;
          Tt[p * L + i] = val;
        }
    }
  }
}

void AxisKernelGradFromCircular(const float* dkb, int C, int H, bool bidirectional, const AxisConvData& d, double* dk) {
  const int Lk = d.Lk, P = d.P;
  for (int c = 0; c < C; ++c)
    for (int h = 0; h < H; ++h) {
      const float* g = dkb + (static_cast<std::size_t>(c) * H + h) * P;
      double* kf = dk + (static_cast<std::size_t>(c) * H + h) * Lk;
      for (int j = 0; j < Lk; ++j) kf[j] = g[j];
      if (bidirectional) {
        double* kr = dk + (static_cast<std::size_t>(C + c) * H + h) * Lk;
        for (int m = 0; m < Lk; ++m) kr[m] = g[P - 1 - m];
      }
    }
}

}  // namespace ssm::s4nd

namespace ssm::s4nd {

namespace {

// Spectra saved for axis a, slab xi (index into (B, cin, H)), as complex.
const Cx<float>* SavedSlabSpec(const float* spec, std::size_t xi, std::size_t lines, int nb) {
  return spec ? reinterpret_cast<const Cx<float>*>(spec) + xi * lines * static_cast<std::size_t>(nb) : nullptr;
}

}  // namespace

void ConvChainForward(const ConvShape& s, const AxisConvData* conv, const float* u, float* const* chain, float* y,
                      const float* Dskip, float* const* spec_save, float* u_copy) {
  const int D = s.D, C = s.C, H = s.H;
  const std::size_t slab = s.SlabSize();
  const std::size_t n = static_cast<std::size_t>(s.B) * C * H;
  AxisView views[kMaxDim];
  const fft::RealPlan<float>* plans[kMaxDim] = {nullptr, nullptr, nullptr};
  for (int a = 0; a < D; ++a) {
    views[a] = ViewOf(s, a);
    if (conv[a].algo == ConvAlgo::kFft) plans[a] = &fft::GetRealPlan<float>(conv[a].P);
  }
  ParallelFor(n, 1, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) {
      const std::size_t h = i % H, c = (i / H) % C, b = i / (static_cast<std::size_t>(H) * C);
      const std::size_t ch = c * H + h;
      const float* us = u + (b * H + h) * slab;  // (L...) of u[b, h]
      if (u_copy && c == 0) std::memcpy(u_copy + (b * H + h) * slab, us, sizeof(float) * slab);
      const float* src = us;
      for (int a = D - 1; a >= 0; --a) {
        const AxisConvData& d = conv[a];
        float* dst = (a == 0 ? y : chain[a - 1]) + i * slab;
        if (plans[a]) {
          const int nb = plans[a]->bins();
          const auto* spec = reinterpret_cast<const Cx<float>*>(d.spec.data()) + ch * nb;
          const bool from_u = a == D - 1;  // input has one head: only head 0 stores its spectra
          Cx<float>* save = nullptr;
          if (spec_save && spec_save[a] && (!from_u || c == 0)) {
            const std::size_t xi = from_u ? b * H + h : i;
            save = reinterpret_cast<Cx<float>*>(spec_save[a]) + xi * (slab / d.L) * nb;
          }
          FftSlab(views[a], *plans[a], spec, false, src, dst, save);
        } else {
          const std::size_t LL = static_cast<std::size_t>(d.L) * d.L;
          DirectSlab(views[a], d.toe.data() + ch * LL, d.toe_t.data() + ch * LL, src, dst);
        }
        src = dst;  // the next axis reads this slab while it is still in cache
      }
      const float dv = Dskip[ch];
      float* ys = y + i * slab;
      for (std::size_t j = 0; j < slab; ++j) ys[j] += dv * us[j];
    }
  });
}

void ConvChainBackward(const ConvShape& s, const AxisConvData* conv, const float* g, const float* u,
                       const float* const* chain, const float* const* spec_saved, float* gu, float* const* dkb) {
  const int D = s.D, C = s.C, H = s.H, B = s.B;
  const std::size_t slab = s.SlabSize();
  AxisView views[kMaxDim];
  const fft::RealPlan<float>* plans[kMaxDim] = {nullptr, nullptr, nullptr};
  std::size_t x_off[kMaxDim], acc_off[kMaxDim], x_total = 0, acc_total = 0, xt_max = 0;
  for (int a = 0; a < D; ++a) {
    views[a] = ViewOf(s, a);
    x_off[a] = x_total;
    acc_off[a] = acc_total;
    if (conv[a].algo == ConvAlgo::kFft) {
      plans[a] = &fft::GetRealPlan<float>(conv[a].P);
      acc_total += 2 * static_cast<std::size_t>(plans[a]->bins());
    } else {
      x_total += static_cast<std::size_t>(conv[a].L) * conv[a].L;
      xt_max = std::max(xt_max, static_cast<std::size_t>(views[a].inner) * conv[a].L);
    }
  }
  ParallelFor(static_cast<std::size_t>(C) * H, 1, [&](std::size_t i0, std::size_t i1) {
    float* X = ThreadScratch<float>(5, std::max<std::size_t>(x_total, 1));        // direct axes: (L_a, L_a) each
    float* xt = ThreadScratch<float>(4, std::max<std::size_t>(xt_max, 1));        // transpose scratch
    float* tmp = ThreadScratch<float>(6, 2 * slab);                               // gradient ping-pong, one slab each
    double* acc = ThreadScratch<double>(2, std::max<std::size_t>(acc_total, 1));  // FFT axes: spectra
    for (std::size_t ch = i0; ch < i1; ++ch) {
      const std::size_t c = ch / H, h = ch % H;
      std::memset(X, 0, sizeof(float) * x_total);
      std::memset(acc, 0, sizeof(double) * acc_total);
      for (int b = 0; b < B; ++b) {
        const std::size_t i = (static_cast<std::size_t>(b) * C + c) * H + h;  // slab index in (B, C, H)
        const float* cur = g + i * slab;
        for (int a = 0; a < D; ++a) {
          const AxisConvData& d = conv[a];
          const bool to_u = a == D - 1;
          const std::size_t xi = to_u ? static_cast<std::size_t>(b) * H + h : i;
          const float* x = to_u ? u + xi * slab : chain[a] + i * slab;
          float* out = to_u ? gu + i * slab : tmp + (a % 2) * slab;
          if (plans[a]) {
            const int nb = plans[a]->bins();
            const auto* spec = reinterpret_cast<const Cx<float>*>(d.spec.data()) + ch * nb;
            const Cx<float>* xsp = SavedSlabSpec(spec_saved ? spec_saved[a] : nullptr, xi, slab / d.L, nb);
            FftBackwardSlab(views[a], *plans[a], spec, cur, x, xsp, out, acc + acc_off[a]);
          } else {
            const std::size_t LL = static_cast<std::size_t>(d.L) * d.L;
            DirectCorrSlab(views[a], cur, x, X + x_off[a], xt);
            DirectSlab(views[a], d.toe_t.data() + ch * LL, d.toe.data() + ch * LL, cur, out);  // K^T
          }
          cur = out;
        }
      }
      for (int a = 0; a < D; ++a) {
        const AxisConvData& d = conv[a];
        const int L = d.L, P = d.P;
        float* dk = dkb[a] + ch * P;
        if (plans[a]) {
          double* line = ThreadScratch<double>(1, P);
          fft::GetRealPlan<double>(P).Inverse(reinterpret_cast<const Cx<double>*>(acc + acc_off[a]), line);
          for (int j = 0; j < P; ++j) dk[j] += static_cast<float>(line[j] / P);
        } else {
          const float* Xa = X + x_off[a];
          for (int ii = 0; ii < L; ++ii)
            for (int p = 0; p < L; ++p) {
              const int lag = ii - p;
              dk[lag >= 0 ? lag : P + lag] += Xa[ii * L + p];  // dK(lag) = sum_{i - p = lag} X[i][p]
            }
        }
      }
    }
  });
}

}  // namespace ssm::s4nd
