#include "s4nd/s4nd_conv.h"

#include <cstring>

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

void ConvAxis(const ConvShape& s, int axis, const AxisConvData& d, const float* in, int cin, float* out, bool transpose,
              float* save_spec) {
  const AxisView v = ViewOf(s, axis);
  const std::size_t slab = s.SlabSize();
  const int C = s.C, H = s.H;
  const std::size_t n = static_cast<std::size_t>(s.B) * C * H;
  const fft::RealPlan<float>* plan = d.algo == ConvAlgo::kFft ? &fft::GetRealPlan<float>(d.P) : nullptr;
  const std::size_t LL = static_cast<std::size_t>(d.L) * d.L;
  ParallelFor(n, 1, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) {
      const int h = static_cast<int>(i % H);
      const int c = static_cast<int>((i / H) % C);
      const std::size_t b = i / (static_cast<std::size_t>(H) * C);
      const std::size_t ch = static_cast<std::size_t>(c) * H + h;
      const float* src = in + ((b * cin + (cin == 1 ? 0 : c)) * H + h) * slab;
      float* dst = out + i * slab;
      if (plan) {
        const auto* spec = reinterpret_cast<const Cx<float>*>(d.spec.data()) + ch * plan->bins();
        Cx<float>* save = nullptr;  // spectra of the input lines, (B, cin, H, lines, bins); cin == 1: head 0 writes
        if (save_spec && (cin != 1 || c == 0)) {
          const std::size_t lines = slab / d.L;
          save =
              reinterpret_cast<Cx<float>*>(save_spec) + ((b * cin + (cin == 1 ? 0 : c)) * H + h) * lines * plan->bins();
        }
        FftSlab(v, *plan, spec, transpose, src, dst, save);
      } else {
        const float* T = (transpose ? d.toe_t.data() : d.toe.data()) + ch * LL;
        const float* Tt = (transpose ? d.toe.data() : d.toe_t.data()) + ch * LL;
        DirectSlab(v, T, Tt, src, dst);
      }
    }
  });
}

void ConvAxisBackward(const ConvShape& s, int axis, const AxisConvData& d, const float* g, const float* x, int cx,
                      const float* x_spec, float* g_in, float* dkb) {
  const AxisView v = ViewOf(s, axis);
  const std::size_t slab = s.SlabSize();
  const int C = s.C, H = s.H, B = s.B, L = d.L, P = d.P;
  const fft::RealPlan<float>* plan = d.algo == ConvAlgo::kFft ? &fft::GetRealPlan<float>(P) : nullptr;
  const std::size_t LL = static_cast<std::size_t>(L) * L;
  ParallelFor(static_cast<std::size_t>(C) * H, 1, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t ch = i0; ch < i1; ++ch) {
      const int c = static_cast<int>(ch / H), h = static_cast<int>(ch % H);
      float* dk = dkb + ch * P;
      if (plan) {
        const int nb = plan->bins();
        double* acc = ThreadScratch<double>(0, 2 * static_cast<std::size_t>(nb));
        std::memset(acc, 0, sizeof(double) * 2 * nb);
        const auto* spec = reinterpret_cast<const Cx<float>*>(d.spec.data()) + ch * nb;
        for (int b = 0; b < B; ++b) {
          const std::size_t gi = ((static_cast<std::size_t>(b) * C + c) * H + h) * slab;
          const std::size_t xi = (static_cast<std::size_t>(b) * cx + (cx == 1 ? 0 : c)) * H + h;
          const Cx<float>* xsp =
              x_spec ? reinterpret_cast<const Cx<float>*>(x_spec) + xi * (slab / L) * static_cast<std::size_t>(nb)
                     : nullptr;
          FftBackwardSlab(v, *plan, spec, g + gi, x + xi * slab, xsp, g_in + gi, acc);
        }
        const auto& dplan = fft::GetRealPlan<double>(P);
        double* line = ThreadScratch<double>(1, P);
        dplan.Inverse(reinterpret_cast<const Cx<double>*>(acc), line);
        for (int j = 0; j < P; ++j) dk[j] += static_cast<float>(line[j] / P);
      } else {
        float* X = ThreadScratch<float>(3, LL);
        float* xt = ThreadScratch<float>(4, static_cast<std::size_t>(v.inner) * L);
        std::memset(X, 0, sizeof(float) * LL);
        const float* Tt = d.toe_t.data() + ch * LL;
        const float* T = d.toe.data() + ch * LL;
        for (int b = 0; b < B; ++b) {
          const std::size_t gi = ((static_cast<std::size_t>(b) * C + c) * H + h) * slab;
          const float* xs = x + ((static_cast<std::size_t>(b) * cx + (cx == 1 ? 0 : c)) * H + h) * slab;
          DirectCorrSlab(v, g + gi, xs, X, xt);
          DirectSlab(v, Tt, T, g + gi, g_in + gi);  // transposed convolution
        }
        // dK(lag) = sum_{i - p = lag} X[i][p]
        for (int i = 0; i < L; ++i)
          for (int p = 0; p < L; ++p) {
            const int lag = i - p;
            dk[lag >= 0 ? lag : P + lag] += X[i * L + p];
          }
      }
    }
  });
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
