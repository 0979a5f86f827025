#include "s4nd/s4nd_kernel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "s4nd/parallel.h"
#include "s4nd/small_cmatrix.h"

namespace ssm::s4nd {

namespace {

using cd = std::complex<double>;
constexpr double kTwoPi = 6.283185307179586476925286766559;

// Complex product without the C99 NaN/Inf recovery path (std::complex operator* calls __muldc3 without
// -ffast-math); the kernel values are finite.
inline cd Mul(cd a, cd b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
inline cd Cj(cd a) { return std::conj(a); }

inline cd LoadC(const float* p, std::size_t i) { return {p[2 * i], p[2 * i + 1]}; }

template <typename T>
T* TlsBuffer(int slot, std::size_t n) {
  thread_local std::vector<T> bufs[8];
  auto& v = bufs[slot];
  if (v.size() < n) v.resize(n);
  return v.data();
}

bool ModeKept(double dt_base, double a_imag, double bandlimit) {
  if (bandlimit <= 0) return true;
  return dt_base * std::fabs(a_imag) / kTwoPi < bandlimit / 2;
}

// z^l for l < Lk into planar arrays (re, im): four interleaved chains (z^(l+4) = z^l z^4) so the recurrence is not
// latency-bound and vectorises.
void PlanarPowers(cd z, int Lk, double* re, double* im) {
  cd w = 1.0;
  for (int l = 0; l < std::min(Lk, 4); ++l) {
    re[l] = w.real();
    im[l] = w.imag();
    w = Mul(w, z);
  }
  const double z4r = w.real(), z4i = w.imag();  // z^4
  for (int l = 4; l < Lk; ++l) {
    re[l] = re[l - 4] * z4r - im[l - 4] * z4i;
    im[l] = re[l - 4] * z4i + im[l - 4] * z4r;
  }
}

// sum_l a[l] b[l] with four partial sums (order fixed, so results are deterministic).
double Dot(const double* a, const double* b, int n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int l = 0;
  for (; l + 4 <= n; l += 4) {
    s0 += a[l] * b[l];
    s1 += a[l + 1] * b[l + 1];
    s2 += a[l + 2] * b[l + 2];
    s3 += a[l + 3] * b[l + 3];
  }
  for (; l < n; ++l) s0 += a[l] * b[l];
  return (s0 + s1) + (s2 + s3);
}

// ------------------------------------------------------------------------------------------------------------------
// S4D (ZOH). Per (h, n): z = exp(dt A), f = (z - 1)/A, W[r] = mask C[r] B f, k[r, l] = 2 Re sum_n W[r] z^l.

// Channels per parallel chunk: small kernels (e.g. 2-D 32x32 images: H * N/2 * Lk * rows ~ 1e5 terms, well under a
// millisecond) run on the calling thread, which saves the pool's wake-up barrier.
std::size_t S4dGrain(const AxisKernelSpec& s) {
  const std::size_t work = static_cast<std::size_t>(s.H) * (s.N / 2) * s.Lk * s.rows;
  return work < (std::size_t{1} << 18) ? static_cast<std::size_t>(s.H) : 1;
}

void S4dForward(const AxisKernelSpec& s, const AxisKernelParams& p, double* k) {
  const int H = s.H, Nh = s.N / 2, R = s.rows, Lk = s.Lk;
  ParallelFor(H, S4dGrain(s), [&](std::size_t h0, std::size_t h1) {
    double* pr = TlsBuffer<double>(1, 2 * static_cast<std::size_t>(Lk));
    double* pi = pr + Lk;
    for (std::size_t h = h0; h < h1; ++h) {
      const double dt_base = std::exp(static_cast<double>(p.inv_dt[h]));
      const double dt = dt_base * s.rate;
      for (int r = 0; r < R; ++r) std::memset(k + (r * H + h) * Lk, 0, sizeof(double) * Lk);
      for (int n = 0; n < Nh; ++n) {
        if (!ModeKept(dt_base, p.A_imag[n], s.bandlimit)) continue;
        const cd A{-std::exp(static_cast<double>(p.A_real[n])), -static_cast<double>(p.A_imag[n])};
        const cd z = std::exp(dt * A);
        const cd bbar = Mul(LoadC(p.B, n), (z - 1.0) / A);
        PlanarPowers(z, Lk, pr, pi);
        for (int r = 0; r < R; ++r) {
          const cd W = Mul(LoadC(p.C, (static_cast<std::size_t>(r) * H + h) * Nh + n), bbar);
          double* kr = k + (r * H + h) * Lk;
          const double wr = 2 * W.real(), wi = 2 * W.imag();
          for (int l = 0; l < Lk; ++l) kr[l] += wr * pr[l] - wi * pi[l];
        }
      }
    }
  });
}

void S4dBackward(const AxisKernelSpec& s, const AxisKernelParams& p, const double* dk, const AxisKernelGrads& g) {
  const int H = s.H, Nh = s.N / 2, R = s.rows, Lk = s.Lk;
  // Shared-parameter partials per h, reduced serially afterwards: (H, Nh) for A_real, A_imag, B.
  double* part = TlsBuffer<double>(0, static_cast<std::size_t>(H) * Nh * 4);
  std::memset(part, 0, sizeof(double) * H * Nh * 4);
  ParallelFor(H, S4dGrain(s), [&](std::size_t h0, std::size_t h1) {
    // Per thread: powers (re, im), then per row g[l] = 2 dk[l] and lg[m] = 2 (m+1) dk[m+1] (so E1 pairs with z^m).
    double* pr = TlsBuffer<double>(1, 2 * static_cast<std::size_t>(Lk));
    double* pi = pr + Lk;
    double* gl = TlsBuffer<double>(2, 2 * static_cast<std::size_t>(R) * Lk);
    for (std::size_t h = h0; h < h1; ++h) {
      const double dt_base = std::exp(static_cast<double>(p.inv_dt[h]));
      const double dt = dt_base * s.rate;
      double g_dt = 0;
      for (int r = 0; r < R; ++r) {
        const double* gk = dk + (r * H + h) * Lk;
        double* g0 = gl + 2 * r * Lk;
        double* g1 = g0 + Lk;
        for (int l = 0; l < Lk; ++l) g0[l] = 2 * gk[l];
        for (int m = 0; m + 1 < Lk; ++m) g1[m] = 2.0 * (m + 1) * gk[m + 1];
        g1[Lk - 1] = 0;
      }
      for (int n = 0; n < Nh; ++n) {
        if (!ModeKept(dt_base, p.A_imag[n], s.bandlimit)) continue;  // masked: zero gradient everywhere
        const double er = std::exp(static_cast<double>(p.A_real[n]));
        const cd A{-er, -static_cast<double>(p.A_imag[n])};
        const cd z = std::exp(dt * A);
        const cd f = (z - 1.0) / A;
        const cd Bn = LoadC(p.B, n);
        const cd bbar = Mul(Bn, f);
        PlanarPowers(z, Lk, pr, pi);
        cd g_bbar = 0, wz = 0;  // wz = sum_r W[r] E1[r]
        for (int r = 0; r < R; ++r) {
          const std::size_t ci = (static_cast<std::size_t>(r) * H + h) * Nh + n;
          const cd Cr = LoadC(p.C, ci);
          // E0 = sum_l 2 dk[l] z^l, E1 = sum_l 2 dk[l] l z^(l-1) = sum_m 2 (m+1) dk[m+1] z^m
          const double* g0 = gl + 2 * r * Lk;
          const double* g1 = g0 + Lk;
          const cd e0{Dot(g0, pr, Lk), Dot(g0, pi, Lk)};
          const cd e1{Dot(g1, pr, Lk), Dot(g1, pi, Lk)};
          const cd gW = Cj(e0);
          if (g.C) {
            const cd gc = Mul(gW, Cj(bbar));
            g.C[2 * ci] += static_cast<float>(gc.real());
            g.C[2 * ci + 1] += static_cast<float>(gc.imag());
          }
          g_bbar += Mul(gW, Cj(Cr));
          wz += Mul(Mul(Cr, bbar), e1);
        }
        cd g_z = Cj(wz);
        const cd g_f = Mul(g_bbar, Cj(Bn));
        const cd g_B = Mul(g_bbar, Cj(f));
        g_z += Mul(g_f, Cj(1.0 / A));
        const cd g_A = Mul(g_f, Cj(-f / A)) + Mul(g_z, Cj(dt * z));
        g_dt += (Mul(Cj(g_z), Mul(A, z))).real();
        double* ph = part + (h * Nh + n) * 4;
        ph[0] = -er * g_A.real();
        ph[1] = -g_A.imag();
        ph[2] = g_B.real();
        ph[3] = g_B.imag();
      }
      if (g.inv_dt) g.inv_dt[h] += static_cast<float>(g_dt * dt);
    }
  });
  for (int n = 0; n < Nh; ++n) {
    double a[4] = {0, 0, 0, 0};
    for (int h = 0; h < H; ++h)
      for (int j = 0; j < 4; ++j) a[j] += part[(h * Nh + n) * 4 + j];
    if (g.A_real) g.A_real[n] += static_cast<float>(a[0]);
    if (g.A_imag) g.A_imag[n] += static_cast<float>(a[1]);
    if (g.B) {
      g.B[2 * n] += static_cast<float>(a[2]);
      g.B[2 * n + 1] += static_cast<float>(a[3]);
    }
  }
}

// ------------------------------------------------------------------------------------------------------------------
// DPLR (bilinear), dense full-state form (README 4.4).

struct DplrShared {  // conjugate-completed vectors (length N) and A = diag(lambda) - p p^H
  int N;
  std::vector<cd> lambda, pv, bv, A;
};

void BuildDplrShared(const AxisKernelSpec& s, const AxisKernelParams& p, DplrShared* d) {
  const int N = s.N, Nh = N / 2;
  d->N = N;
  d->lambda.assign(N, 0);
  d->pv.assign(N, 0);
  d->bv.assign(N, 0);
  d->A.assign(static_cast<std::size_t>(N) * N, 0);
  for (int n = 0; n < Nh; ++n) {
    const cd lam{-std::exp(static_cast<double>(p.A_real[n])), -static_cast<double>(p.A_imag[n])};
    d->lambda[n] = lam;
    d->lambda[n + Nh] = Cj(lam);
    d->pv[n] = LoadC(p.P, n);
    d->pv[n + Nh] = Cj(d->pv[n]);
    d->bv[n] = LoadC(p.B, n);
    d->bv[n + Nh] = Cj(d->bv[n]);
  }
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) d->A[i * N + j] = (i == j ? d->lambda[i] : 0.0) - Mul(d->pv[i], Cj(d->pv[j]));
}

// Discretisation for one channel: Mm = I - dt/2 A = D + (dt/2) p p^H with D = I - dt/2 diag(lambda), R = Mm^-1 by
// Sherman-Morrison (O(N^2)), Abar = R (I + dt/2 A) = R (2I - Mm) = 2R - I, Bbar = dt R b.
struct DplrDisc {
  CMatrix R, Abar;
  std::vector<cd> Rb, Bbar, dinv_p, ph_dinv;
};

void Discretize(const DplrShared& d, double dt, DplrDisc* o) {
  const int N = d.N;
  const double hs = 0.5 * dt;
  o->dinv_p.resize(N);
  o->ph_dinv.resize(N);
  cd den = 1.0;
  for (int i = 0; i < N; ++i) {
    const cd dinv = 1.0 / (1.0 - hs * d.lambda[i]);
    o->dinv_p[i] = dinv * d.pv[i];
    o->ph_dinv[i] = Cj(d.pv[i]) * dinv;
    den += hs * Cj(d.pv[i]) * o->dinv_p[i];
  }
  if (std::abs(den) == 0) throw std::runtime_error("s4nd: singular DPLR discretisation (1 + dt/2 p^H D^-1 p = 0)");
  const cd f = hs / den;
  if (o->R.n != N) o->R.Resize(N);
  if (o->Abar.n != N) o->Abar.Resize(N);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      cd r = -f * Mul(o->dinv_p[i], o->ph_dinv[j]);
      if (i == j) r += 1.0 / (1.0 - hs * d.lambda[i]);
      o->R(i, j) = r;
      o->Abar(i, j) = 2.0 * r - (i == j ? 1.0 : 0.0);
    }
  o->Rb.assign(N, 0);
  MatVec(o->R, d.bv.data(), o->Rb.data());
  o->Bbar.resize(N);
  for (int i = 0; i < N; ++i) o->Bbar[i] = dt * o->Rb[i];
}

// c~ row (length N) for row r, channel h, with the bandlimit mask.
void LoadCTilde(const AxisKernelSpec& s, const AxisKernelParams& p, int r, int h, double dt_base, cd* ct) {
  const int Nh = s.N / 2;
  for (int n = 0; n < Nh; ++n) {
    const double m = ModeKept(dt_base, p.A_imag[n], s.bandlimit) ? 1.0 : 0.0;
    const cd c = m * LoadC(p.C, (static_cast<std::size_t>(r) * s.H + h) * Nh + n);
    ct[n] = c;
    ct[n + Nh] = Cj(c);
  }
}

struct DplrChannel {  // forward quantities of one channel h kept for the backward pass
  DplrDisc disc;
  PowerTape tape;        // Abar^discrete_L
  CMatrix Minv;          // (I - Abar^dL)^-1
  std::vector<cd> ceff;  // (rows, N)
  std::vector<cd> ct;    // (rows, N)
};

void DplrChannelForward(const AxisKernelSpec& s, const AxisKernelParams& p, const DplrShared& d, int h,
                        DplrChannel* c) {
  const int N = s.N, R = s.rows;
  const double dt_base = std::exp(static_cast<double>(p.inv_dt[h]));
  const double dt = dt_base * s.rate;
  Discretize(d, dt, &c->disc);
  const int64_t dL = RoundHalfEven(static_cast<double>(s.l_kernel) / s.rate);
  MatPowerForward(c->disc.Abar, dL, &c->tape);
  thread_local CMatrix X;
  if (X.n != N || X.a.size() != static_cast<std::size_t>(N) * N) X.Resize(N);
  for (int i = 0; i < N * N; ++i) X.a[i] = -c->tape.result.a[i];
  for (int i = 0; i < N; ++i) X(i, i) += 1.0;
  Inverse(X, &c->Minv);
  c->ceff.assign(static_cast<std::size_t>(R) * N, 0);
  c->ct.assign(static_cast<std::size_t>(R) * N, 0);
  for (int r = 0; r < R; ++r) {
    cd* ct = c->ct.data() + r * N;
    LoadCTilde(s, p, r, h, dt_base, ct);
    RowTimesMat(ct, c->Minv, c->ceff.data() + r * N);
  }
}

void DplrForward(const AxisKernelSpec& s, const AxisKernelParams& p, double* k) {
  // Storage reused across calls (no allocation in the steady state). Bound to a local reference so that the worker
  // threads of ParallelFor see this thread's object (a thread_local named inside a lambda is the executing thread's).
  thread_local DplrShared d_storage;
  DplrShared& d = d_storage;
  BuildDplrShared(s, p, &d);
  const int H = s.H, N = s.N, R = s.rows, Lk = s.Lk;
  ParallelFor(H, 1, [&](std::size_t h0, std::size_t h1) {
    thread_local DplrChannel c;
    thread_local std::vector<cd> u, u2;
    u.resize(N);
    u2.resize(N);
    for (std::size_t h = h0; h < h1; ++h) {
      DplrChannelForward(s, p, d, static_cast<int>(h), &c);
      u = c.disc.Bbar;
      for (int l = 0; l < Lk; ++l) {
        for (int r = 0; r < R; ++r) {
          const cd* ce = c.ceff.data() + r * N;
          double acc = 0;
          for (int i = 0; i < N; ++i) acc += ce[i].real() * u[i].real() - ce[i].imag() * u[i].imag();
          k[(r * H + h) * Lk + l] = acc;
        }
        MatVec(c.disc.Abar, u.data(), u2.data());
        u.swap(u2);
      }
    }
  });
}

void DplrBackward(const AxisKernelSpec& s, const AxisKernelParams& p, const double* dk, const AxisKernelGrads& g) {
  thread_local DplrShared d_storage;  // see DplrForward: shared with the workers through local references
  DplrShared& d = d_storage;
  BuildDplrShared(s, p, &d);
  const int H = s.H, N = s.N, Nh = N / 2, R = s.rows, Lk = s.Lk;
  thread_local std::vector<cd> part_storage;  // per h: G_lambda, G_p, G_b (full length N)
  thread_local std::vector<double> part_dt_storage;
  std::vector<cd>& part = part_storage;
  std::vector<double>& part_dt = part_dt_storage;
  part.assign(static_cast<std::size_t>(H) * N * 3, cd(0));
  part_dt.assign(H, 0.0);
  ParallelFor(H, 1, [&](std::size_t h0, std::size_t h1) {
    thread_local DplrChannel c;
    thread_local std::vector<cd> us, gu, gtmp, gceff;
    us.resize(static_cast<std::size_t>(Lk) * N);
    gu.resize(N);
    gtmp.resize(N);
    gceff.resize(static_cast<std::size_t>(R) * N);
    thread_local CMatrix gAbar, gMinv, gP, t1, t2, gR, gMm;
    for (CMatrix* m : {&gAbar, &gMinv, &gP, &t1, &t2, &gR, &gMm})
      if (m->n != N || m->a.size() != static_cast<std::size_t>(N) * N) m->Resize(N);
    for (std::size_t hh = h0; hh < h1; ++hh) {
      const int h = static_cast<int>(hh);
      const double dt_base = std::exp(static_cast<double>(p.inv_dt[h]));
      const double dt = dt_base * s.rate;
      DplrChannelForward(s, p, d, h, &c);
      // u_l = Abar^l Bbar  (Lk, N)
      for (int i = 0; i < N; ++i) us[i] = c.disc.Bbar[i];
      for (int l = 1; l < Lk; ++l) MatVec(c.disc.Abar, us.data() + (l - 1) * N, us.data() + l * N);
      // G_Ceff[r] = sum_l dk[r, l] conj(u_l)
      std::fill(gceff.begin(), gceff.end(), cd(0));
      for (int r = 0; r < R; ++r) {
        const double* gk = dk + (r * H + h) * Lk;
        for (int l = 0; l < Lk; ++l)
          for (int i = 0; i < N; ++i) gceff[r * N + i] += gk[l] * Cj(us[l * N + i]);
      }
      // Backward through the recurrence; G_u_l = sum_r dk[r, l] conj(Ceff[r]).
      gAbar.Zero();
      auto add_gu = [&](int l, cd* out) {
        for (int r = 0; r < R; ++r) {
          const double gl = dk[(r * H + h) * Lk + l];
          for (int i = 0; i < N; ++i) out[i] += gl * Cj(c.ceff[r * N + i]);
        }
      };
      std::fill(gu.begin(), gu.end(), cd(0));
      add_gu(Lk - 1, gu.data());
      for (int l = Lk - 1; l >= 1; --l) {
        const cd* up = us.data() + (l - 1) * N;
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) gAbar(i, j) += Mul(gu[i], Cj(up[j]));
        MatHVec(c.disc.Abar, gu.data(), gtmp.data());
        gu.swap(gtmp);
        add_gu(l - 1, gu.data());
      }
      // gu is now G_Bbar.
      // Ceff = ct Minv: G_ct = G_Ceff Minv^H, G_Minv = sum_r ct^H G_Ceff.
      gMinv.Zero();
      for (int r = 0; r < R; ++r) {
        const cd* ct = c.ct.data() + r * N;
        const cd* gc = gceff.data() + r * N;
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) gMinv(i, j) += Mul(Cj(ct[i]), gc[j]);
        if (g.C) {
          // G_ct_j = sum_k G_Ceff_k conj(Minv[j][k])
          for (int n = 0; n < Nh; ++n) {
            if (!ModeKept(dt_base, p.A_imag[n], s.bandlimit)) continue;
            cd a = 0, b = 0;
            for (int kk = 0; kk < N; ++kk) {
              a += Mul(gc[kk], Cj(c.Minv(n, kk)));
              b += Mul(gc[kk], Cj(c.Minv(n + Nh, kk)));
            }
            const cd gC = a + Cj(b);
            const std::size_t ci = (static_cast<std::size_t>(r) * H + h) * Nh + n;
            g.C[2 * ci] += static_cast<float>(gC.real());
            g.C[2 * ci + 1] += static_cast<float>(gC.imag());
          }
        }
      }
      // X = I - Abar^dL, Minv = X^-1: G_pow = Minv^H G_Minv Minv^H.
      MatMulHN(c.Minv, gMinv, &t1);
      MatMulNH(t1, c.Minv, &gP);
      MatPowerBackward(c.tape, gP, &gAbar);  // accumulates into gAbar
      // Abar = 2R - I, Bbar = dt R b: G_R = 2 G_Abar + dt G_Bbar b^H; R = Mm^-1: G_Mm = -R^H G_R R^H;
      // Mm = I - dt/2 A: G_A = -dt/2 G_Mm, G_dt += Re sum conj(G_Mm) (-A/2).
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) gR(i, j) = 2.0 * gAbar(i, j) + dt * Mul(gu[i], Cj(d.bv[j]));
      MatMulHN(c.disc.R, gR, &t1);
      MatMulNH(t1, c.disc.R, &gMm);
      for (int i = 0; i < N * N; ++i) gMm.a[i] = -gMm.a[i];
      double g_dt = 0;
      for (int i = 0; i < N; ++i) g_dt += Mul(Cj(gu[i]), c.disc.Rb[i]).real();
      CMatrix& gA = t2;
      for (int i = 0; i < N * N; ++i) {
        g_dt -= 0.5 * Mul(Cj(gMm.a[i]), d.A[i]).real();
        gA.a[i] = -0.5 * dt * gMm.a[i];
      }
      part_dt[h] = g_dt;
      cd* pl = part.data() + static_cast<std::size_t>(h) * N * 3;
      cd* pp = pl + N;
      cd* pb = pl + 2 * N;
      for (int i = 0; i < N; ++i) pl[i] = gA(i, i);
      // G_p = -(G_A p + G_A^H p)
      for (int i = 0; i < N; ++i) {
        cd a = 0, b = 0;
        for (int j = 0; j < N; ++j) {
          a += Mul(gA(i, j), d.pv[j]);
          b += Mul(Cj(gA(j, i)), d.pv[j]);
        }
        pp[i] = -(a + b);
      }
      // G_b = dt R^H G_Bbar
      MatHVec(c.disc.R, gu.data(), gtmp.data());
      for (int i = 0; i < N; ++i) pb[i] = dt * gtmp[i];
    }
  });
  for (int h = 0; h < H; ++h) {
    const double dt = std::exp(static_cast<double>(p.inv_dt[h])) * s.rate;
    if (g.inv_dt) g.inv_dt[h] += static_cast<float>(part_dt[h] * dt);
  }
  for (int n = 0; n < Nh; ++n) {
    cd gl = 0, gp = 0, gb = 0;
    for (int h = 0; h < H; ++h) {
      const cd* pl = part.data() + static_cast<std::size_t>(h) * N * 3;
      gl += pl[n] + Cj(pl[n + Nh]);
      gp += pl[N + n] + Cj(pl[N + n + Nh]);
      gb += pl[2 * N + n] + Cj(pl[2 * N + n + Nh]);
    }
    const double er = std::exp(static_cast<double>(p.A_real[n]));
    if (g.A_real) g.A_real[n] += static_cast<float>(-er * gl.real());
    if (g.A_imag) g.A_imag[n] += static_cast<float>(-gl.imag());
    if (g.P) {
      g.P[2 * n] += static_cast<float>(gp.real());
      g.P[2 * n + 1] += static_cast<float>(gp.imag());
    }
    if (g.B) {
      g.B[2 * n] += static_cast<float>(gb.real());
      g.B[2 * n + 1] += static_cast<float>(gb.imag());
    }
  }
}

}  // namespace

int64_t RoundHalfEven(double x) { return static_cast<int64_t>(std::nearbyint(x)); }

void GenerateAxisKernel(const AxisKernelSpec& spec, const AxisKernelParams& p, double* k) {
  if (spec.mode == KernelMode::kS4D) {
    S4dForward(spec, p, k);
  } else {
    DplrForward(spec, p, k);
  }
}

void AxisKernelBackward(const AxisKernelSpec& spec, const AxisKernelParams& p, const double* dk,
                        const AxisKernelGrads& g) {
  if (spec.mode == KernelMode::kS4D) {
    S4dBackward(spec, p, dk, g);
  } else {
    DplrBackward(spec, p, dk, g);
  }
}

void DplrPrepareC(const AxisKernelSpec& spec, const AxisKernelParams& p, float* C, int l_max, int64_t* l_kernel) {
  // Exponents to apply: setup (I - Abar1^L), then doublings (I + Abar1^l_kernel).
  std::vector<std::pair<int64_t, double>> steps;  // (power, sign)
  int64_t lk = *l_kernel;
  if (lk == 0 && l_max > 0) {
    steps.push_back({l_max, -1.0});
    lk = l_max;
  }
  if (lk > 0) {
    const int64_t continuous_L = RoundHalfEven(spec.rate * spec.Lk);
    while (continuous_L > lk) {
      steps.push_back({lk, +1.0});
      lk *= 2;
    }
  }
  if (steps.empty()) return;
  DplrShared d;
  BuildDplrShared(spec, p, &d);
  const int H = spec.H, N = spec.N, Nh = N / 2, R = spec.rows;
  ParallelFor(H, 1, [&](std::size_t h0, std::size_t h1) {
    DplrDisc disc;
    PowerTape tape;
    std::vector<cd> ct(N), out(N);
    for (std::size_t h = h0; h < h1; ++h) {
      Discretize(d, std::exp(static_cast<double>(p.inv_dt[h])), &disc);  // rate 1
      for (const auto& st : steps) {
        MatPowerForward(disc.Abar, st.first, &tape);
        for (int r = 0; r < R; ++r) {
          float* cr = C + (static_cast<std::size_t>(r) * H + h) * Nh * 2;
          for (int n = 0; n < Nh; ++n) {
            ct[n] = {cr[2 * n], cr[2 * n + 1]};
            ct[n + Nh] = Cj(ct[n]);
          }
          RowTimesMat(ct.data(), tape.result, out.data());  // c Abar^L
          for (int n = 0; n < Nh; ++n) {
            const cd v = ct[n] + st.second * out[n];
            cr[2 * n] = static_cast<float>(v.real());
            cr[2 * n + 1] = static_cast<float>(v.imag());
          }
        }
      }
    }
  });
  *l_kernel = lk;
}

AxisKernelDerived ComputeAxisKernelDerived(const AxisKernelSpec& s, const AxisKernelParams& p) {
  AxisKernelDerived o;
  const int H = s.H, N = s.N, Nh = N / 2, R = s.rows;
  o.dt.resize(H);
  o.bandlimit_mask.resize(static_cast<std::size_t>(H) * Nh);
  for (int h = 0; h < H; ++h) {
    const double dt_base = std::exp(static_cast<double>(p.inv_dt[h]));
    o.dt[h] = dt_base * s.rate;
    for (int n = 0; n < Nh; ++n) o.bandlimit_mask[h * Nh + n] = ModeKept(dt_base, p.A_imag[n], s.bandlimit) ? 1 : 0;
  }
  auto push = [](std::vector<double>& v, cd c) {
    v.push_back(c.real());
    v.push_back(c.imag());
  };
  if (s.mode == KernelMode::kS4D) {
    for (int n = 0; n < Nh; ++n)
      push(o.A, {-std::exp(static_cast<double>(p.A_real[n])), -static_cast<double>(p.A_imag[n])});
    for (int h = 0; h < H; ++h)
      for (int n = 0; n < Nh; ++n) push(o.dtA, o.dt[h] * cd(o.A[2 * n], o.A[2 * n + 1]));
    for (int r = 0; r < R; ++r) {
      for (int h = 0; h < H; ++h) {
        for (int n = 0; n < Nh; ++n) {
          const cd A(o.A[2 * n], o.A[2 * n + 1]);
          const cd z = std::exp(o.dt[h] * A);
          const cd W = o.bandlimit_mask[h * Nh + n] * LoadC(p.C, (static_cast<std::size_t>(r) * H + h) * Nh + n) *
                       LoadC(p.B, n) * (z - 1.0) / A;
          push(o.W, W);
        }
      }
    }
    return o;
  }
  DplrShared d;
  BuildDplrShared(s, p, &d);
  for (const cd& a : d.A) push(o.A_full, a);
  o.discrete_L = RoundHalfEven(static_cast<double>(s.l_kernel) / s.rate);
  std::vector<std::vector<double>> ceff_h(H);
  DplrChannel c;
  for (int h = 0; h < H; ++h) {
    DplrChannelForward(s, p, d, h, &c);
    for (const cd& a : c.disc.Abar.a) push(o.Abar, a);
    for (const cd& b : c.disc.Bbar) push(o.Bbar, b);
    for (const cd& e : c.ceff) push(ceff_h[h], e);
  }
  // (rows, H, N, 2)
  for (int r = 0; r < R; ++r)
    for (int h = 0; h < H; ++h)
      o.C_eff.insert(o.C_eff.end(), ceff_h[h].begin() + r * N * 2, ceff_h[h].begin() + (r + 1) * N * 2);
  return o;
}

}  // namespace ssm::s4nd
