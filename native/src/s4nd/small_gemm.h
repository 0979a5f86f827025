// Small float GEMM used by the direct (Toeplitz) convolution and the linear head. Register-blocked 4x16 micro-kernel
// written with GCC vector extensions; an AVX2+FMA clone is selected at run time (__builtin_cpu_supports), the baseline
// build stays portable (SSE2 on x86-64, NEON on arm64).
#pragma once

#include <cstddef>

namespace ssm::s4nd {

// C(M x N) = [C +] A(M x K) * B(K x N).
// A element (i, k) is a[i * rsa + k * csa] (so a transposed A is rsa = 1, csa = lda); B and C are row-major with
// leading dimensions ldb and ldc.
void Gemm(int M, int N, int K, const float* a, std::ptrdiff_t rsa, std::ptrdiff_t csa, const float* b,
          std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, bool accumulate);

// C(M x N) = [C +] A(M x K) * B(N x K)^T with contiguous rows of length K (dot-product form; for small M, N and
// long K, where the 4x16 micro-kernel of Gemm would not fill).
void GemmABt(int M, int N, int K, const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb, float* c,
             std::ptrdiff_t ldc, bool accumulate);

// out(cols x rows) = in(rows x cols)^T, row-major.
void Transpose(int rows, int cols, const float* in, float* out);

// Name of the selected GEMM variant ("avx2-fma" or "generic").
const char* GemmVariant();

}  // namespace ssm::s4nd
