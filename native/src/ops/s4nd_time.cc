// s4nd_time forward and backward (see s4nd_time.h). The kernels K+/- are (B, C) numbers, computed in double.
#include "ops/s4nd_time.h"

#include <cmath>
#include <complex>
#include <memory>

#include "core/rng.h"
#include "ops/common.h"

namespace ssm::ops {

namespace {

using cd = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

// Mode n of channel c at time tau: dt_c * A_n (complex) and exp(dt_c * A_n * tau).
struct ModeEval {
  double dt;
  cd A;
  cd E;
};

ModeEval Mode(const S4ndTimeLayout& l, const float* p, int64_t c, int64_t n, double tau) {
  ModeEval m;
  m.dt = std::exp(static_cast<double>(p[l.inv_dt + c]));
  m.A = cd(-std::exp(static_cast<double>(p[l.A_real + n])), -static_cast<double>(p[l.A_imag + n]));
  m.E = std::exp(m.dt * m.A * tau);
  return m;
}

cd Coef(const S4ndTimeLayout& l, const float* p, int64_t row, int64_t c, int64_t n) {
  const int64_t i = l.Cw + ((row * l.C + c) * l.Nh + n) * 2;
  return cd(p[i], p[i + 1]);
}

}  // namespace

S4ndTimeLayout S4ndTimeLayoutOf(int64_t channels, int64_t d_state) {
  S4ndTimeLayout l;
  l.C = channels;
  l.Nh = d_state / 2;
  int64_t off = 0;
  l.inv_dt = off;
  off += l.C;
  l.A_real = off;
  off += l.Nh;
  l.A_imag = off;
  off += l.Nh;
  l.Cw = off;
  off += 2 * l.C * l.Nh * 2;
  l.total = off;
  return l;
}

void S4ndTimeInit(const S4ndTimeLayout& l, double dt_min, double dt_max, uint64_t seed, float* params) {
  Rng rng(seed);
  const double lo = std::log(dt_min), hi = std::log(dt_max);
  for (int64_t c = 0; c < l.C; ++c) params[l.inv_dt + c] = static_cast<float>(lo + (hi - lo) * rng.uniform());
  for (int64_t n = 0; n < l.Nh; ++n) {
    params[l.A_real + n] = static_cast<float>(std::log(0.5));
    params[l.A_imag + n] = static_cast<float>(std::max(kPi * static_cast<double>(n), 1e-4));
  }
  const float s = static_cast<float>(std::sqrt(0.5));
  for (int64_t i = 0; i < 2 * l.C * l.Nh * 2; ++i) params[l.Cw + i] = rng.normal() * s;
}

Var* S4ndTime(Tape& t, Var* x, Var* params, const std::vector<double>& times, int64_t d_state) {
  const Shape& xs = x->value.shape();
  if (xs.rank < 3 || xs[1] % 2 != 0) {
    ShapeError("s4nd_time", "expected input (B, 2C, spatial...) with an even channel count, got " + xs.str());
  }
  if (d_state < 2 || d_state % 2 != 0) ShapeError("s4nd_time", "d_state must be an even number >= 2");
  const int64_t B = xs[0], C = xs[1] / 2, S = x->value.numel() / (B * 2 * C);
  const S4ndTimeLayout l = S4ndTimeLayoutOf(C, d_state);
  if (params->value.numel() != l.total) {
    ShapeError("s4nd_time", "parameter buffer has " + std::to_string(params->value.numel()) +
                                " floats, the layer needs " + std::to_string(l.total));
  }
  if (static_cast<int64_t>(times.size()) != B) ShapeError("s4nd_time", "need one time per batch sample");
  for (double tv : times) {
    if (!std::isfinite(tv)) ShapeError("s4nd_time", "query time is not finite");
  }
  const float* p = params->value.data();
  // K+ (B, C) at tau = t_b, K- (B, C) at tau = 1 - t_b.
  auto kp = std::make_shared<std::vector<double>>(B * C), km = std::make_shared<std::vector<double>>(B * C);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t c = 0; c < C; ++c) {
      double sp = 0, sm = 0;
      for (int64_t n = 0; n < l.Nh; ++n) {
        sp += 2 * (Coef(l, p, 0, c, n) * Mode(l, p, c, n, times[b]).E).real();
        sm += 2 * (Coef(l, p, 1, c, n) * Mode(l, p, c, n, 1.0 - times[b]).E).real();
      }
      (*kp)[b * C + c] = sp;
      (*km)[b * C + c] = sm;
    }
  }
  Shape ys = xs;
  ys.d[1] = C;
  Tensor y(ys);
  const float* xp = x->value.data();
  float* yp = y.data();
  ParallelFor(B * C, 1, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / C, c = i % C;
      const float a0 = static_cast<float>((*kp)[i]), a1 = static_cast<float>((*km)[i]);
      const float* u0 = xp + (b * 2 * C + c) * S;
      const float* u1 = xp + (b * 2 * C + C + c) * S;
      float* o = yp + i * S;
      for (int64_t s = 0; s < S; ++s) o[s] = a0 * u0[s] + a1 * u1[s];
    }
  });
  Var* yv = MakeOut(t, std::move(y), {x, params});
  if (yv->requires_grad) {
    t.Record([&t, x, params, yv, l, kp, km, times, B, C, S] {
      const float* gy = yv->grad.data();
      const float* xp = x->value.data();
      // dL/dK+ and dL/dK- (B, C): sums over space of gy * u0, gy * u1.
      std::vector<double> gkp(B * C), gkm(B * C);
      float* gx = x->requires_grad ? t.Grad(x).data() : nullptr;
      ParallelFor(B * C, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          const int64_t b = i / C, c = i % C;
          const float* u0 = xp + (b * 2 * C + c) * S;
          const float* u1 = xp + (b * 2 * C + C + c) * S;
          const float* g = gy + i * S;
          double s0 = 0, s1 = 0;
          for (int64_t s = 0; s < S; ++s) {
            s0 += static_cast<double>(g[s]) * u0[s];
            s1 += static_cast<double>(g[s]) * u1[s];
          }
          gkp[i] = s0;
          gkm[i] = s1;
          if (gx) {
            const float a0 = static_cast<float>((*kp)[i]), a1 = static_cast<float>((*km)[i]);
            float* g0 = gx + (b * 2 * C + c) * S;
            float* g1 = gx + (b * 2 * C + C + c) * S;
            for (int64_t s = 0; s < S; ++s) {
              g0[s] += a0 * g[s];
              g1[s] += a1 * g[s];
            }
          }
        }
      });
      if (!params->requires_grad) return;
      const float* p = params->value.data();
      float* gp = t.Grad(params).data();
      // K(tau) = 2 Re sum_n C_n E_n, E_n = exp(dt A_n tau), G_n = C_n E_n:
      //   dK/dC = (2 Re E, -2 Im E); dK/dA_real_n = -2 exp(A_real_n) dt tau Re G_n; dK/dA_imag_n = 2 dt tau Im G_n;
      //   dK/dinv_dt = 2 dt tau Re sum_n G_n A_n.
      std::vector<double> g_dt(C, 0.0), g_ar(l.Nh, 0.0), g_ai(l.Nh, 0.0), g_c(2 * C * l.Nh * 2, 0.0);
      for (int64_t b = 0; b < B; ++b) {
        for (int row = 0; row < 2; ++row) {
          const double tau = row == 0 ? times[b] : 1.0 - times[b];
          for (int64_t c = 0; c < C; ++c) {
            const double gk = row == 0 ? gkp[b * C + c] : gkm[b * C + c];
            for (int64_t n = 0; n < l.Nh; ++n) {
              const ModeEval m = Mode(l, p, c, n, tau);
              const cd G = Coef(l, p, row, c, n) * m.E;
              const int64_t ci = ((row * C + c) * l.Nh + n) * 2;
              g_c[ci] += gk * 2 * m.E.real();
              g_c[ci + 1] += -gk * 2 * m.E.imag();
              g_ar[n] += gk * 2 * m.A.real() * m.dt * tau * G.real();  // dA/dA_real = Re A (= -exp(A_real))
              g_ai[n] += gk * 2 * m.dt * tau * G.imag();
              g_dt[c] += gk * 2 * m.dt * tau * (G * m.A).real();
            }
          }
        }
      }
      for (int64_t c = 0; c < C; ++c) gp[l.inv_dt + c] += static_cast<float>(g_dt[c]);
      for (int64_t n = 0; n < l.Nh; ++n) {
        gp[l.A_real + n] += static_cast<float>(g_ar[n]);
        gp[l.A_imag + n] += static_cast<float>(g_ai[n]);
      }
      for (int64_t i = 0; i < 2 * C * l.Nh * 2; ++i) gp[l.Cw + i] += static_cast<float>(g_c[i]);
    });
  }
  return yv;
}

}  // namespace ssm::ops
