#include "s4nd/small_gemm.h"

#include <cstring>

#include "fft/simd_dispatch.h"

#pragma GCC diagnostic ignored "-Wpsabi"  // 32-byte vectors never cross a non-inlined call boundary

namespace ssm::s4nd {

namespace {

typedef float v8f __attribute__((vector_size(32)));

inline __attribute__((always_inline)) v8f Load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline __attribute__((always_inline)) void Store8(float* p, v8f v) { std::memcpy(p, &v, sizeof(v)); }

inline __attribute__((always_inline)) void GemmBody(int M, int N, int K, const float* a, std::ptrdiff_t rsa,
                                                    std::ptrdiff_t csa, const float* b, std::ptrdiff_t ldb, float* c,
                                                    std::ptrdiff_t ldc, bool accumulate) {
  const int M4 = M - M % 4, N16 = N - N % 16;
  for (int i = 0; i < M4; i += 4) {
    const float* a0 = a + i * rsa;
    const float* a1 = a0 + rsa;
    const float* a2 = a1 + rsa;
    const float* a3 = a2 + rsa;
    for (int j = 0; j < N16; j += 16) {
      v8f c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {};
      const float* bp = b + j;
      for (int k = 0; k < K; ++k, bp += ldb) {
        const v8f b0 = Load8(bp), b1 = Load8(bp + 8);
        const std::ptrdiff_t ka = k * csa;
        const float x0 = a0[ka], x1 = a1[ka], x2 = a2[ka], x3 = a3[ka];
        c00 += x0 * b0;
        c01 += x0 * b1;
        c10 += x1 * b0;
        c11 += x1 * b1;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c30 += x3 * b0;
        c31 += x3 * b1;
      }
      float* cp = c + i * ldc + j;
      if (accumulate) {
        c00 += Load8(cp);
        c01 += Load8(cp + 8);
        c10 += Load8(cp + ldc);
        c11 += Load8(cp + ldc + 8);
        c20 += Load8(cp + 2 * ldc);
        c21 += Load8(cp + 2 * ldc + 8);
        c30 += Load8(cp + 3 * ldc);
        c31 += Load8(cp + 3 * ldc + 8);
      }
      Store8(cp, c00);
      Store8(cp + 8, c01);
      Store8(cp + ldc, c10);
      Store8(cp + ldc + 8, c11);
      Store8(cp + 2 * ldc, c20);
      Store8(cp + 2 * ldc + 8, c21);
      Store8(cp + 3 * ldc, c30);
      Store8(cp + 3 * ldc + 8, c31);
    }
  }
  // Edges: remaining rows (all columns) and remaining columns of the blocked rows.
  auto scalar = [&](int i0, int i1, int j0, int j1) {
    for (int i = i0; i < i1; ++i) {
      float* cr = c + i * ldc;
      if (!accumulate)
        for (int j = j0; j < j1; ++j) cr[j] = 0;
      for (int k = 0; k < K; ++k) {
        const float x = a[i * rsa + k * csa];
        const float* br = b + k * ldb;
        for (int j = j0; j < j1; ++j) cr[j] += x * br[j];
      }
    }
  };
  if (N16 < N) scalar(0, M4, N16, N);
  if (M4 < M) scalar(M4, M, 0, N);
}

inline __attribute__((always_inline)) void GemmABtBody(int M, int N, int K, const float* a, std::ptrdiff_t lda,
                                                       const float* b, std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc,
                                                       bool accumulate) {
  const int K8 = K - K % 8;
  for (int i = 0; i < M; ++i) {
    const float* ar = a + i * lda;
    for (int j = 0; j < N; ++j) {
      const float* br = b + j * ldb;
      v8f acc0 = {}, acc1 = {};
      int k = 0;
      for (; k + 16 <= K8; k += 16) {
        acc0 += Load8(ar + k) * Load8(br + k);
        acc1 += Load8(ar + k + 8) * Load8(br + k + 8);
      }
      for (; k < K8; k += 8) acc0 += Load8(ar + k) * Load8(br + k);
      acc0 += acc1;
      float sum = ((acc0[0] + acc0[1]) + (acc0[2] + acc0[3])) + ((acc0[4] + acc0[5]) + (acc0[6] + acc0[7]));
      for (; k < K; ++k) sum += ar[k] * br[k];
      float* cp = c + i * ldc + j;
      *cp = accumulate ? *cp + sum : sum;
    }
  }
}

void GemmABtGeneric(int M, int N, int K, const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb,
                    float* c, std::ptrdiff_t ldc, bool accumulate) {
  GemmABtBody(M, N, K, a, lda, b, ldb, c, ldc, accumulate);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) void GemmABtAvx2(int M, int N, int K, const float* a, std::ptrdiff_t lda,
                                                     const float* b, std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc,
                                                     bool accumulate) {
  GemmABtBody(M, N, K, a, lda, b, ldb, c, ldc, accumulate);
}
#endif

void GemmGeneric(int M, int N, int K, const float* a, std::ptrdiff_t rsa, std::ptrdiff_t csa, const float* b,
                 std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, bool accumulate) {
  GemmBody(M, N, K, a, rsa, csa, b, ldb, c, ldc, accumulate);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) void GemmAvx2(int M, int N, int K, const float* a, std::ptrdiff_t rsa,
                                                  std::ptrdiff_t csa, const float* b, std::ptrdiff_t ldb, float* c,
                                                  std::ptrdiff_t ldc, bool accumulate) {
  GemmBody(M, N, K, a, rsa, csa, b, ldb, c, ldc, accumulate);
}
#endif

using GemmFn = void (*)(int, int, int, const float*, std::ptrdiff_t, std::ptrdiff_t, const float*, std::ptrdiff_t,
                        float*, std::ptrdiff_t, bool);

using GemmABtFn = void (*)(int, int, int, const float*, std::ptrdiff_t, const float*, std::ptrdiff_t, float*,
                           std::ptrdiff_t, bool);

struct Dispatch {
  GemmFn fn = GemmGeneric;
  GemmABtFn abt = GemmABtGeneric;
  const char* name = "generic";
  Dispatch() {
#if defined(__x86_64__) || defined(__i386__)
    if (simd::UseAvx2Fma()) {
      fn = GemmAvx2;
      abt = GemmABtAvx2;
      name = "avx2-fma";
    }
#endif
  }
};

const Dispatch& GetDispatch() {
  static const Dispatch d;
  return d;
}

}  // namespace

void Gemm(int M, int N, int K, const float* a, std::ptrdiff_t rsa, std::ptrdiff_t csa, const float* b,
          std::ptrdiff_t ldb, float* c, std::ptrdiff_t ldc, bool accumulate) {
  GetDispatch().fn(M, N, K, a, rsa, csa, b, ldb, c, ldc, accumulate);
}

void GemmABt(int M, int N, int K, const float* a, std::ptrdiff_t lda, const float* b, std::ptrdiff_t ldb, float* c,
             std::ptrdiff_t ldc, bool accumulate) {
  GetDispatch().abt(M, N, K, a, lda, b, ldb, c, ldc, accumulate);
}

void Transpose(int rows, int cols, const float* in, float* out) {
  constexpr int kB = 16;
  for (int i0 = 0; i0 < rows; i0 += kB)
    for (int j0 = 0; j0 < cols; j0 += kB) {
      const int i1 = i0 + kB < rows ? i0 + kB : rows, j1 = j0 + kB < cols ? j0 + kB : cols;
      for (int i = i0; i < i1; ++i)
        for (int j = j0; j < j1; ++j)
          out[static_cast<std::size_t>(j) * rows + i] = in[static_cast<std::size_t>(i) * cols + j];
    }
}

const char* GemmVariant() { return GetDispatch().name; }

}  // namespace ssm::s4nd
