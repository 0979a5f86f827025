// Seeded official-style initialisation (README section 11): diag-lin / diag-inv for S4D, HiPPO-LegS NPLR for DPLR.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <numeric>

#include "s4nd/s4nd_layer.h"
#include "s4nd/s4nd_params.h"
#include "s4nd/small_cmatrix.h"

namespace ssm::s4nd {

namespace {

using cd = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

// xoshiro256** seeded with splitmix64: identical streams on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& x : s_) {
      seed += 0x9E3779B97F4A7C15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      x = z ^ (z >> 31);
    }
  }
  uint64_t Next() {
    const uint64_t r = Rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return r;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double Normal() {
    const double u1 = 1.0 - Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Cyclic complex Jacobi for a Hermitian matrix: a = V diag(w) V^H. a is destroyed.
void HermitianEigen(CMatrix a, std::vector<double>* w, CMatrix* V) {
  const int n = a.n;
  V->Resize(n);
  for (int i = 0; i < n; ++i) (*V)(i, i) = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) off += std::norm(a(p, q));
    if (off < 1e-30) break;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) {
        const double mag = std::abs(a(p, q));
        if (mag < 1e-300) continue;
        const cd wph = std::conj(a(p, q)) / mag;  // e^{-i phi}
        const double app = a(p, p).real(), aqq = a(q, q).real();
        const double theta = (aqq - app) / (2 * mag);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        // G: G_pp = c, G_qp = -s w, G_pq = s, G_qq = c w.  a <- G^H a G, V <- V G.
        for (int k = 0; k < n; ++k) {
          const cd akp = a(k, p), akq = a(k, q);
          a(k, p) = c * akp - s * wph * akq;
          a(k, q) = s * akp + c * wph * akq;
          const cd vkp = (*V)(k, p), vkq = (*V)(k, q);
          (*V)(k, p) = c * vkp - s * wph * vkq;
          (*V)(k, q) = s * vkp + c * wph * vkq;
        }
        for (int k = 0; k < n; ++k) {
          const cd apk = a(p, k), aqk = a(q, k);
          a(p, k) = c * apk - s * std::conj(wph) * aqk;
          a(q, k) = s * apk + c * std::conj(wph) * aqk;
        }
        a(p, q) = 0;
        a(q, p) = 0;
      }
    }
  }
  w->resize(n);
  for (int i = 0; i < n; ++i) (*w)[i] = a(i, i).real();
}

// HiPPO-LegS normal-plus-low-rank: returns the N/2 kept eigenvalues W (Re = -1/2), P = V^H p, B = V^H b (imag
// clipped to [-2, 2]).
void LegsNplr(int N, std::vector<cd>* W, std::vector<cd>* P, std::vector<cd>* B) {
  std::vector<double> a(static_cast<std::size_t>(N) * N), pv(N), bv(N);
  for (int n = 0; n < N; ++n) {
    pv[n] = std::sqrt(n + 0.5);
    bv[n] = std::sqrt(2.0 * n + 1);
    for (int k = 0; k < N; ++k) {
      double v = 0;
      if (n > k)
        v = -std::sqrt(2.0 * n + 1) * std::sqrt(2.0 * k + 1);
      else if (n == k)
        v = -(n + 1.0);
      a[n * N + k] = v + pv[n] * pv[k];  // AP = A + p p^T = -1/2 I + skew
    }
  }
  // eigh(-i AP) as torch does: only the Hermitian part counts (the diagonal -i * (-1/2) has zero real part).
  CMatrix hm(N);
  for (int j = 0; j < N; ++j)
    for (int k = 0; k < N; ++k) hm(j, k) = j == k ? cd(0) : cd(0, -a[j * N + k]);
  std::vector<double> w;
  CMatrix V;
  HermitianEigen(hm, &w, &V);
  std::vector<int> idx(N);
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](int x, int y) { return w[x] < w[y]; });
  double re = 0;
  for (int n = 0; n < N; ++n) re += a[n * N + n];
  re /= N;
  const int Nh = N / 2;
  W->resize(Nh);
  P->resize(Nh);
  B->resize(Nh);
  for (int m = 0; m < Nh; ++m) {
    const int col = idx[m];
    (*W)[m] = cd(re, w[col]);
    cd pp = 0, bb = 0;
    for (int n = 0; n < N; ++n) {
      pp += std::conj(V(n, col)) * pv[n];
      bb += std::conj(V(n, col)) * bv[n];
    }
    (*P)[m] = pp;
    (*B)[m] = cd(bb.real(), std::min(2.0, std::max(-2.0, bb.imag())));
  }
}

}  // namespace

void Init(const S4ndConfig& cfg, uint64_t seed, float* params, S4ndState* state) {
  const LayerOffsets o = ComputeOffsets(cfg);
  const int H = cfg.d_model, N = cfg.d_state, Nh = N / 2, C = cfg.channels, R = KernelRows(cfg);
  Rng rng(seed);
  std::memset(params, 0, sizeof(float) * o.total);
  for (int i = 0; i < C * H; ++i) params[o.D + i] = static_cast<float>(rng.Normal());
  std::vector<cd> legs_w, legs_p, legs_b;
  if (cfg.init == S4dInit::kLegs) LegsNplr(N, &legs_w, &legs_p, &legs_b);
  const double lo = std::log(cfg.dt_min), hi = std::log(cfg.dt_max);
  for (int a = 0; a < cfg.dim; ++a) {
    for (int h = 0; h < H; ++h) params[o.inv_dt[a] + h] = static_cast<float>(lo + (hi - lo) * rng.Uniform());
    for (int n = 0; n < Nh; ++n) {
      double re = 0.5, im = 0;
      cd b(1, 0), p(0, 0);
      switch (cfg.init) {
        case S4dInit::kDiagLin:
          im = kPi * n;
          break;
        case S4dInit::kDiagInv:
          im = 1 / kPi * N * (N / (1.0 + 2 * n) - 1);
          break;
        case S4dInit::kLegs:
          re = -legs_w[n].real();
          im = -legs_w[n].imag();
          b = legs_b[n];
          p = legs_p[n];
          break;
      }
      if (cfg.mode == KernelMode::kDPLR && cfg.init != S4dInit::kLegs)
        p = cd(rng.Normal() * std::sqrt(0.5), rng.Normal() * std::sqrt(0.5));
      params[o.A_real[a] + n] = static_cast<float>(std::log(std::max(re, 1e-4)));
      params[o.A_imag[a] + n] = static_cast<float>(std::max(im, 1e-4));
      params[o.B[a] + 2 * n] = static_cast<float>(b.real());
      params[o.B[a] + 2 * n + 1] = static_cast<float>(b.imag());
      if (cfg.mode == KernelMode::kDPLR) {
        params[o.P[a] + 2 * n] = static_cast<float>(p.real());
        params[o.P[a] + 2 * n + 1] = static_cast<float>(p.imag());
      }
    }
    const std::size_t nc = static_cast<std::size_t>(R) * H * Nh * 2;
    for (std::size_t i = 0; i < nc; ++i) params[o.C[a] + i] = static_cast<float>(rng.Normal() * std::sqrt(0.5));
  }
  if (!cfg.linear) {
    const double bound = 1 / std::sqrt(static_cast<double>(C * H));
    for (int i = 0; i < 2 * H * C * H; ++i) params[o.W + i] = static_cast<float>(bound * (2 * rng.Uniform() - 1));
    for (int i = 0; i < 2 * H; ++i) params[o.bias + i] = static_cast<float>(bound * (2 * rng.Uniform() - 1));
  }
  state->l_kernel.assign(cfg.dim, 0);  // DPLR: C is rewritten to C~ on the first Forward
}

}  // namespace ssm::s4nd
