#include "s4nd/small_cmatrix.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "fft/simd_dispatch.h"

#pragma GCC diagnostic ignored "-Wpsabi"  // 32-byte vectors stay inside inlined code

namespace ssm::s4nd {

using cd = std::complex<double>;

namespace {
inline cd Mul(cd a, cd b) {
  return {a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()};
}
inline cd MulCj(cd a, cd b) {  // conj(a) * b
  return {a.real() * b.real() + a.imag() * b.imag(), a.real() * b.imag() - a.imag() * b.real()};
}
}  // namespace

namespace {

// Planar (split re / im) complex GEMM C = A B, n x n row-major: the inner j loop has no reduction and vectorises;
// an AVX2+FMA clone is selected at run time.
typedef double v4d __attribute__((vector_size(32)));

// Register-blocked 4x4 tiles (8 vector accumulators: re and im of 4 rows x 4 columns), scalar edges.
inline __attribute__((always_inline)) void PlanarGemmBody(int n, const double* __restrict ar,
                                                          const double* __restrict ai, const double* __restrict br,
                                                          const double* __restrict bi, double* __restrict cr,
                                                          double* __restrict ci) {
  const int n4 = n - n % 4;
  const std::size_t N = static_cast<std::size_t>(n);
  for (int i0 = 0; i0 < n4; i0 += 4) {
    for (int j0 = 0; j0 < n4; j0 += 4) {
      v4d r0 = {}, r1 = {}, r2 = {}, r3 = {}, m0 = {}, m1 = {}, m2 = {}, m3 = {};
      for (int k = 0; k < n; ++k) {
        v4d bre, bim;
        std::memcpy(&bre, br + k * N + j0, sizeof(bre));
        std::memcpy(&bim, bi + k * N + j0, sizeof(bim));
        const double* a0r = ar + i0 * N + k;
        const double* a0i = ai + i0 * N + k;
        r0 += a0r[0] * bre;
        r0 -= a0i[0] * bim;  // two FMAs
        m0 += a0r[0] * bim;
        m0 += a0i[0] * bre;  // two FMAs
        r1 += a0r[N] * bre;
        r1 -= a0i[N] * bim;  // two FMAs
        m1 += a0r[N] * bim;
        m1 += a0i[N] * bre;  // two FMAs
        r2 += a0r[2 * N] * bre;
        r2 -= a0i[2 * N] * bim;  // two FMAs
        m2 += a0r[2 * N] * bim;
        m2 += a0i[2 * N] * bre;  // two FMAs
        r3 += a0r[3 * N] * bre;
        r3 -= a0i[3 * N] * bim;  // two FMAs
        m3 += a0r[3 * N] * bim;
        m3 += a0i[3 * N] * bre;  // two FMAs
      }
      std::memcpy(cr + i0 * N + j0, &r0, sizeof(r0));
      std::memcpy(ci + i0 * N + j0, &m0, sizeof(m0));
      std::memcpy(cr + (i0 + 1) * N + j0, &r1, sizeof(r1));
      std::memcpy(ci + (i0 + 1) * N + j0, &m1, sizeof(m1));
      std::memcpy(cr + (i0 + 2) * N + j0, &r2, sizeof(r2));
      std::memcpy(ci + (i0 + 2) * N + j0, &m2, sizeof(m2));
      std::memcpy(cr + (i0 + 3) * N + j0, &r3, sizeof(r3));
      std::memcpy(ci + (i0 + 3) * N + j0, &m3, sizeof(m3));
    }
  }
  // Edges: columns n4..n of the blocked rows, then the remaining rows.
  auto scalar = [&](int i_begin, int i_end, int j_begin) {
    for (int i = i_begin; i < i_end; ++i)
      for (int j = j_begin; j < n; ++j) {
        double sr = 0, si = 0;
        for (int k = 0; k < n; ++k) {
          const double xr = ar[i * N + k], xi = ai[i * N + k], yr = br[k * N + j], yi = bi[k * N + j];
          sr += xr * yr - xi * yi;
          si += xr * yi + xi * yr;
        }
        cr[i * N + j] = sr;
        ci[i * N + j] = si;
      }
  };
  if (n4 < n) scalar(0, n4, n4);
  scalar(n4, n, 0);
}

void PlanarGemmGeneric(int n, const double* ar, const double* ai, const double* br, const double* bi, double* cr,
                       double* ci) {
  PlanarGemmBody(n, ar, ai, br, bi, cr, ci);
}
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) void PlanarGemmAvx2(int n, const double* ar, const double* ai, const double* br,
                                                        const double* bi, double* cr, double* ci) {
  PlanarGemmBody(n, ar, ai, br, bi, cr, ci);
}
#endif
using PlanarGemmFn = void (*)(int, const double*, const double*, const double*, const double*, double*, double*);
PlanarGemmFn SelectPlanarGemm() {
#if defined(__x86_64__) || defined(__i386__)
  if (simd::UseAvx2Fma()) return PlanarGemmAvx2;
#endif
  return PlanarGemmGeneric;
}

double* PlanarScratch(std::size_t n) {
  thread_local std::vector<double> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

enum class Op { kN, kH };  // use the matrix as is, or its conjugate transpose

void Pack(const CMatrix& x, Op op, double* re, double* im) {
  const int n = x.n;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const cd v = op == Op::kN ? x(i, j) : std::conj(x(j, i));
      re[static_cast<std::size_t>(i) * n + j] = v.real();
      im[static_cast<std::size_t>(i) * n + j] = v.imag();
    }
}

void Product(const CMatrix& x, Op ox, const CMatrix& y, Op oy, CMatrix* out) {
  static const PlanarGemmFn gemm = SelectPlanarGemm();
  const int n = x.n;
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  double* buf = PlanarScratch(6 * nn);
  Pack(x, ox, buf, buf + nn);
  Pack(y, oy, buf + 2 * nn, buf + 3 * nn);
  gemm(n, buf, buf + nn, buf + 2 * nn, buf + 3 * nn, buf + 4 * nn, buf + 5 * nn);
  if (out->n != n || out->a.size() != static_cast<std::size_t>(n) * n) out->Resize(n);
  for (std::size_t i = 0; i < nn; ++i) out->a[i] = cd(buf[4 * nn + i], buf[5 * nn + i]);
}

}  // namespace

void MatMul(const CMatrix& x, const CMatrix& y, CMatrix* out) { Product(x, Op::kN, y, Op::kN, out); }
void MatMulHN(const CMatrix& x, const CMatrix& y, CMatrix* out) { Product(x, Op::kH, y, Op::kN, out); }
void MatMulNH(const CMatrix& x, const CMatrix& y, CMatrix* out) { Product(x, Op::kN, y, Op::kH, out); }

void MatVec(const CMatrix& x, const cd* v, cd* out) {
  const int n = x.n;
  for (int i = 0; i < n; ++i) {
    cd acc = 0;
    for (int k = 0; k < n; ++k) acc += Mul(x(i, k), v[k]);
    out[i] = acc;
  }
}

void MatHVec(const CMatrix& x, const cd* v, cd* out) {
  const int n = x.n;
  for (int i = 0; i < n; ++i) out[i] = 0;
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < n; ++i) out[i] += MulCj(x(k, i), v[k]);
}

void RowTimesMat(const cd* v, const CMatrix& x, cd* out) {
  const int n = x.n;
  for (int j = 0; j < n; ++j) out[j] = 0;
  for (int k = 0; k < n; ++k)
    for (int j = 0; j < n; ++j) out[j] += Mul(v[k], x(k, j));
}

// Gauss-Jordan with partial pivoting on the planar augmented matrix [x | I] (rows of length 2n).
void Inverse(const CMatrix& x, CMatrix* out) {
  const int n = x.n, w = 2 * n;
  const std::size_t nw = static_cast<std::size_t>(n) * w;
  double* re = PlanarScratch(2 * nw);
  double* im = re + nw;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < w; ++j) {
      const cd v = j < n ? x(i, j) : cd(j - n == i ? 1.0 : 0.0, 0.0);
      re[static_cast<std::size_t>(i) * w + j] = v.real();
      im[static_cast<std::size_t>(i) * w + j] = v.imag();
    }
  for (int col = 0; col < n; ++col) {
    int piv = col;
    double best = std::hypot(re[static_cast<std::size_t>(col) * w + col], im[static_cast<std::size_t>(col) * w + col]);
    for (int r = col + 1; r < n; ++r) {
      const double m = std::hypot(re[static_cast<std::size_t>(r) * w + col], im[static_cast<std::size_t>(r) * w + col]);
      if (m > best) {
        best = m;
        piv = r;
      }
    }
    if (!(best > 0)) throw std::runtime_error("s4nd: singular matrix in DPLR kernel (check A_real/inv_dt/P)");
    if (piv != col)
      for (int j = 0; j < w; ++j) {
        std::swap(re[static_cast<std::size_t>(col) * w + j], re[static_cast<std::size_t>(piv) * w + j]);
        std::swap(im[static_cast<std::size_t>(col) * w + j], im[static_cast<std::size_t>(piv) * w + j]);
      }
    double* pr = re + static_cast<std::size_t>(col) * w;
    double* pi = im + static_cast<std::size_t>(col) * w;
    const cd d = 1.0 / cd(pr[col], pi[col]);
    for (int j = 0; j < w; ++j) {
      const double a = pr[j], b = pi[j];
      pr[j] = a * d.real() - b * d.imag();
      pi[j] = a * d.imag() + b * d.real();
    }
    for (int r = 0; r < n; ++r) {
      if (r == col) continue;
      double* rr = re + static_cast<std::size_t>(r) * w;
      double* ri = im + static_cast<std::size_t>(r) * w;
      const double fr = rr[col], fi = ri[col];
      if (fr == 0 && fi == 0) continue;
      for (int j = 0; j < w; ++j) {
        rr[j] -= fr * pr[j] - fi * pi[j];
        ri[j] -= fr * pi[j] + fi * pr[j];
      }
    }
  }
  if (out->n != n || out->a.size() != static_cast<std::size_t>(n) * n) out->Resize(n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      (*out)(i, j) = cd(re[static_cast<std::size_t>(i) * w + n + j], im[static_cast<std::size_t>(i) * w + n + j]);
}

// Forward: acc_0 = I; at bit j: if set, acc_{j+1} = acc_j s_j; s_{j+1} = s_j s_j (only while bits remain).
// Copies x into out reusing out's storage (no allocation once out has the size).
static void Assign(const CMatrix& x, CMatrix* out) {
  out->n = x.n;
  out->a.resize(x.a.size());
  std::copy(x.a.begin(), x.a.end(), out->a.begin());
}

void MatPowerForward(const CMatrix& x, int64_t e, PowerTape* t) {
  const int n = x.n;
  t->e = e;
  int steps = 0;
  for (int64_t rem = e; rem > 0; rem >>= 1) ++steps;
  if (static_cast<int>(t->squares.size()) < steps) {
    t->squares.resize(steps);
    t->accs.resize(steps);
  }
  t->steps = steps;
  CMatrix& acc = t->result;
  if (acc.n != n || acc.a.size() != static_cast<std::size_t>(n) * n) acc.Resize(n);
  acc.Zero();
  for (int i = 0; i < n; ++i) acc(i, i) = 1.0;
  int64_t rem = e;
  for (int j = 0; j < steps; ++j) {
    if (j == 0) {
      Assign(x, &t->squares[0]);
    } else {
      MatMul(t->squares[j - 1], t->squares[j - 1], &t->squares[j]);
    }
    Assign(acc, &t->accs[j]);
    if (rem & 1) MatMul(t->accs[j], t->squares[j], &acc);
    rem >>= 1;
  }
}

void MatPowerBackward(const PowerTape& t, const CMatrix& g_result, CMatrix* g_x) {
  const int n = g_result.n;
  const int steps = t.steps;
  // Thread-local work matrices, reused across calls.
  thread_local CMatrix g_acc, g_s, g_sj, tmp1, tmp2;
  Assign(g_result, &g_acc);
  if (g_s.n != n || g_s.a.size() != static_cast<std::size_t>(n) * n) g_s.Resize(n);
  g_s.Zero();  // gradient w.r.t. squares[j + 1] while walking back
  for (int j = steps - 1; j >= 0; --j) {
    const CMatrix& s = t.squares[j];
    if (g_sj.n != n || g_sj.a.size() != static_cast<std::size_t>(n) * n) g_sj.Resize(n);
    g_sj.Zero();
    // s_{j+1} = s_j s_j (exists when j < steps - 1)
    if (j < steps - 1) {
      MatMulNH(g_s, s, &tmp1);
      MatMulHN(s, g_s, &tmp2);
      for (std::size_t i = 0; i < g_sj.a.size(); ++i) g_sj.a[i] += tmp1.a[i] + tmp2.a[i];
    }
    if ((t.e >> j) & 1) {
      // acc_{j+1} = acc_j s_j
      MatMulHN(t.accs[j], g_acc, &tmp1);
      for (std::size_t i = 0; i < g_sj.a.size(); ++i) g_sj.a[i] += tmp1.a[i];
      MatMulNH(g_acc, s, &tmp2);
      std::swap(g_acc, tmp2);
    }
    std::swap(g_s, g_sj);
  }
  for (std::size_t i = 0; i < g_x->a.size(); ++i) g_x->a[i] += g_s.a[i];
}

}  // namespace ssm::s4nd
