// Row-major single-precision GEMM: C (M, N) = op(A) (M, K) * op(B) (K, N) + beta * C.
// op(A) = A or A^T (A stored (K, M) when trans_a). Blocked and packed, parallel over the global pool.
// On x86-64 the micro-kernel is compiled twice (baseline SSE2 and AVX2+FMA) and picked once at load time from
// the CPU's feature bits; other targets (arm64: NEON is baseline) use the baseline build.
#pragma once

#include <cstdint>

namespace ssm {

void Gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
          int64_t ldb, float* C, int64_t ldc, float beta);

}  // namespace ssm
