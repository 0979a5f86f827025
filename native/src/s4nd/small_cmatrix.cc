#include "s4nd/small_cmatrix.h"

#include <cmath>
#include <stdexcept>

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

void MatMul(const CMatrix& x, const CMatrix& y, CMatrix* out) {
  const int n = x.n;
  CMatrix r(n);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) {
      const cd a = x(i, k);
      for (int j = 0; j < n; ++j) r(i, j) += Mul(a, y(k, j));
    }
  *out = std::move(r);
}

void MatMulHN(const CMatrix& x, const CMatrix& y, CMatrix* out) {
  const int n = x.n;
  CMatrix r(n);
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < n; ++i) {
      const cd a = x(k, i);  // (x^H)(i, k) = conj(x(k, i))
      for (int j = 0; j < n; ++j) r(i, j) += MulCj(a, y(k, j));
    }
  *out = std::move(r);
}

void MatMulNH(const CMatrix& x, const CMatrix& y, CMatrix* out) {
  const int n = x.n;
  CMatrix r(n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      cd acc = 0;
      for (int k = 0; k < n; ++k) acc += MulCj(y(j, k), x(i, k));
      r(i, j) = acc;
    }
  *out = std::move(r);
}

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

void Inverse(const CMatrix& x, CMatrix* out) {
  const int n = x.n;
  CMatrix a = x;
  CMatrix inv(n);
  for (int i = 0; i < n; ++i) inv(i, i) = 1.0;
  for (int col = 0; col < n; ++col) {
    int piv = col;
    double best = std::abs(a(col, col));
    for (int r = col + 1; r < n; ++r)
      if (std::abs(a(r, col)) > best) {
        best = std::abs(a(r, col));
        piv = r;
      }
    if (!(best > 0)) throw std::runtime_error("s4nd: singular matrix in DPLR kernel (check A_real/inv_dt/P)");
    if (piv != col)
      for (int j = 0; j < n; ++j) {
        std::swap(a(col, j), a(piv, j));
        std::swap(inv(col, j), inv(piv, j));
      }
    const cd d = 1.0 / a(col, col);
    for (int j = 0; j < n; ++j) {
      a(col, j) = Mul(a(col, j), d);
      inv(col, j) = Mul(inv(col, j), d);
    }
    for (int r = 0; r < n; ++r) {
      if (r == col) continue;
      const cd f = a(r, col);
      if (f == cd(0)) continue;
      for (int j = 0; j < n; ++j) {
        a(r, j) -= Mul(f, a(col, j));
        inv(r, j) -= Mul(f, inv(col, j));
      }
    }
  }
  *out = std::move(inv);
}

// Forward: acc_0 = I; at bit j: if set, acc_{j+1} = acc_j s_j; s_{j+1} = s_j s_j (only while bits remain).
void MatPowerForward(const CMatrix& x, int64_t e, PowerTape* t) {
  const int n = x.n;
  t->e = e;
  t->squares.clear();
  t->accs.clear();
  CMatrix acc(n);
  for (int i = 0; i < n; ++i) acc(i, i) = 1.0;
  CMatrix s = x;
  int64_t rem = e;
  while (rem > 0) {
    t->squares.push_back(s);
    t->accs.push_back(acc);
    if (rem & 1) MatMul(acc, s, &acc);
    rem >>= 1;
    if (rem > 0) MatMul(s, s, &s);
  }
  t->result = std::move(acc);
}

void MatPowerBackward(const PowerTape& t, const CMatrix& g_result, CMatrix* g_x) {
  const int n = g_result.n;
  const int steps = static_cast<int>(t.squares.size());
  CMatrix g_acc = g_result;
  CMatrix g_s(n);  // gradient w.r.t. squares[j + 1] while walking back
  CMatrix tmp1, tmp2;
  for (int j = steps - 1; j >= 0; --j) {
    const CMatrix& s = t.squares[j];
    CMatrix g_sj(n);
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
      g_acc = std::move(tmp2);
    }
    g_s = std::move(g_sj);
  }
  for (std::size_t i = 0; i < g_x->a.size(); ++i) g_x->a[i] += g_s.a[i];
}

}  // namespace ssm::s4nd
