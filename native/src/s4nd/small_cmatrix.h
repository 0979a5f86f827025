// Small dense complex<double> matrices (N x N, row-major) for the DPLR kernel: products, inverse, integer power with
// a tape for its backward pass. Gradient convention: G = dL/dRe + i dL/dIm; for Y = X Z, G_X = G_Y Z^H, G_Z = X^H G_Y.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace ssm::s4nd {

struct CMatrix {
  int n = 0;
  std::vector<std::complex<double>> a;
  CMatrix() = default;
  explicit CMatrix(int size) { Resize(size); }
  void Resize(int size) {
    n = size;
    a.assign(static_cast<std::size_t>(size) * size, 0.0);
  }
  void Zero() { a.assign(a.size(), 0.0); }
  std::complex<double>& operator()(int i, int j) { return a[static_cast<std::size_t>(i) * n + j]; }
  const std::complex<double>& operator()(int i, int j) const { return a[static_cast<std::size_t>(i) * n + j]; }
};

void MatMul(const CMatrix& x, const CMatrix& y, CMatrix* out);                                 // x y
void MatMulHN(const CMatrix& x, const CMatrix& y, CMatrix* out);                               // x^H y
void MatMulNH(const CMatrix& x, const CMatrix& y, CMatrix* out);                               // x y^H
void MatVec(const CMatrix& x, const std::complex<double>* v, std::complex<double>* out);       // x v
void MatHVec(const CMatrix& x, const std::complex<double>* v, std::complex<double>* out);      // x^H v
void RowTimesMat(const std::complex<double>* v, const CMatrix& x, std::complex<double>* out);  // v x (v a row)
// Gauss-Jordan with partial pivoting. Throws std::runtime_error if singular.
void Inverse(const CMatrix& x, CMatrix* out);

// x^e by binary exponentiation, recording what the backward pass needs.
struct PowerTape {
  int64_t e = 0;
  int steps = 0;                 // number of binary digits of e; squares / accs may hold more (reused storage)
  std::vector<CMatrix> squares;  // x^(2^j)
  std::vector<CMatrix> accs;     // partial product before step j
  CMatrix result;
};
void MatPowerForward(const CMatrix& x, int64_t e, PowerTape* tape);
// Accumulates G_x += d(result)/dx applied to g_result.
void MatPowerBackward(const PowerTape& tape, const CMatrix& g_result, CMatrix* g_x);

}  // namespace ssm::s4nd
