#include "ops/gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace ssm {

namespace {

constexpr int64_t kMr = 4;   // rows of C per micro-tile
constexpr int64_t kNr = 16;  // columns of C per micro-tile

// 8 floats as one value (GCC/Clang vector extension): one AVX register, two SSE/NEON registers. Keeps the
// accumulator tile in registers, which the auto-vectoriser did not manage on a float[4][16] array.
typedef float V8 __attribute__((vector_size(32)));

// acc (kMr, kNr) = Ap (K, kMr) . Bp (K, kNr), both packed k-major. Then C tile (rows x cols) = acc + beta * C.
// 4 x 16 register tile (8 AVX accumulators). Inlined into the AVX2 wrapper below, so it is compiled for AVX2+FMA.
__attribute__((always_inline)) inline void MicroKernelBody(int64_t K, const float* __restrict Ap,
                                                           const float* __restrict Bp, float* __restrict C, int64_t ldc,
                                                           int64_t rows, int64_t cols, float beta) {
  static_assert(kMr == 4 && kNr == 16, "the register tile below is written out for 4 x 16");
  V8 c00 = {}, c01 = {}, c10 = {}, c11 = {}, c20 = {}, c21 = {}, c30 = {}, c31 = {};
  for (int64_t k = 0; k < K; ++k) {
    V8 b0, b1;
    std::memcpy(&b0, Bp + k * kNr, sizeof b0);
    std::memcpy(&b1, Bp + k * kNr + 8, sizeof b1);
    const float* a = Ap + k * kMr;
    c00 += a[0] * b0, c01 += a[0] * b1;
    c10 += a[1] * b0, c11 += a[1] * b1;
    c20 += a[2] * b0, c21 += a[2] * b1;
    c30 += a[3] * b0, c31 += a[3] * b1;
  }
  float acc[kMr][kNr];
  std::memcpy(acc[0], &c00, 32), std::memcpy(acc[0] + 8, &c01, 32);
  std::memcpy(acc[1], &c10, 32), std::memcpy(acc[1] + 8, &c11, 32);
  std::memcpy(acc[2], &c20, 32), std::memcpy(acc[2] + 8, &c21, 32);
  std::memcpy(acc[3], &c30, 32), std::memcpy(acc[3] + 8, &c31, 32);
  for (int64_t r = 0; r < rows; ++r) {
    float* c = C + r * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < cols; ++j) c[j] = acc[r][j];
    } else {
      for (int64_t j = 0; j < cols; ++j) c[j] = acc[r][j] + beta * c[j];
    }
  }
}

// Baseline copy (SSE2 on x86-64, NEON on arm64): a plain array tile the auto-vectoriser handles well there
// (the 8-wide register tile above needs 16+ SSE registers and spills; measured 6 vs 2 GFLOP/s).
void MicroKernelBase(int64_t K, const float* __restrict Ap, const float* __restrict Bp, float* __restrict C,
                     int64_t ldc, int64_t rows, int64_t cols, float beta) {
  float acc[kMr][kNr];
  for (int r = 0; r < kMr; ++r)
    for (int j = 0; j < kNr; ++j) acc[r][j] = 0.0f;
  for (int64_t k = 0; k < K; ++k) {
    const float* b = Bp + k * kNr;
    const float* a = Ap + k * kMr;
    for (int r = 0; r < kMr; ++r) {
      const float av = a[r];
      for (int j = 0; j < kNr; ++j) acc[r][j] += av * b[j];
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* c = C + r * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < cols; ++j) c[j] = acc[r][j];
    } else {
      for (int64_t j = 0; j < cols; ++j) c[j] = acc[r][j] + beta * c[j];
    }
  }
}

using MicroKernelFn = void (*)(int64_t, const float*, const float*, float*, int64_t, int64_t, int64_t, float);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// AVX2 + FMA copy, chosen at run time from the CPU's feature bits (the build itself targets baseline x86-64).
__attribute__((target("avx2,fma"))) void MicroKernelAvx2(int64_t K, const float* Ap, const float* Bp, float* C,
                                                         int64_t ldc, int64_t rows, int64_t cols, float beta) {
  MicroKernelBody(K, Ap, Bp, C, ldc, rows, cols, beta);
}

MicroKernelFn PickMicroKernel() {
  __builtin_cpu_init();
  return (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? MicroKernelAvx2 : MicroKernelBase;
}
#else
MicroKernelFn PickMicroKernel() { return MicroKernelBase; }
#endif

const MicroKernelFn kMicroKernel = PickMicroKernel();

}  // namespace

void Gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
          int64_t ldb, float* C, int64_t ldc, float beta) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  const int64_t mp = (M + kMr - 1) / kMr;  // row panels
  const int64_t np = (N + kNr - 1) / kNr;  // column panels
  // Packed A: mp panels of (K, kMr); packed B: np panels of (K, kNr). Zero padding past M / N.
  // One grow-only pair per thread: Gemm runs inside parallel loops (e.g. per image in conv), so per-call buffers would
  // make the memory a step needs depend on how many threads happened to join; these reach their size in warm-up.
  thread_local std::vector<float> apack, bpack;
  if (apack.size() < static_cast<std::size_t>(mp * K * kMr)) apack.resize(static_cast<std::size_t>(mp * K * kMr));
  if (bpack.size() < static_cast<std::size_t>(np * K * kNr)) bpack.resize(static_cast<std::size_t>(np * K * kNr));
  float* Ap = apack.data();
  float* Bp = bpack.data();
  const bool big = M * N * K >= (1 << 16);
  const std::size_t grain_pack = big ? 1 : static_cast<std::size_t>(mp + np);
  GlobalPool().parallel_for(static_cast<std::size_t>(mp), grain_pack, [&](std::size_t b, std::size_t e) {
    for (std::size_t p = b; p < e; ++p) {
      float* dst = Ap + static_cast<int64_t>(p) * K * kMr;
      for (int64_t k = 0; k < K; ++k) {
        for (int64_t r = 0; r < kMr; ++r) {
          const int64_t i = static_cast<int64_t>(p) * kMr + r;
          dst[k * kMr + r] = i < M ? (trans_a ? A[k * lda + i] : A[i * lda + k]) : 0.0f;
        }
      }
    }
  });
  GlobalPool().parallel_for(static_cast<std::size_t>(np), grain_pack, [&](std::size_t b, std::size_t e) {
    for (std::size_t p = b; p < e; ++p) {
      float* dst = Bp + static_cast<int64_t>(p) * K * kNr;
      const int64_t j0 = static_cast<int64_t>(p) * kNr;
      const int64_t cols = std::min(kNr, N - j0);
      for (int64_t k = 0; k < K; ++k) {
        float* d = dst + k * kNr;
        if (!trans_b && cols == kNr) {
          std::memcpy(d, B + k * ldb + j0, sizeof(float) * kNr);
          continue;
        }
        for (int64_t j = 0; j < kNr; ++j) {
          d[j] = j < cols ? (trans_b ? B[(j0 + j) * ldb + k] : B[k * ldb + j0 + j]) : 0.0f;
        }
      }
    }
  });
  // Tiles: iterate column panels in the outer index so neighbouring tasks share a packed B panel.
  const int64_t tiles = mp * np;
  const std::size_t grain = big ? 4 : static_cast<std::size_t>(tiles);
  GlobalPool().parallel_for(static_cast<std::size_t>(tiles), grain, [&](std::size_t b, std::size_t e) {
    for (std::size_t t = b; t < e; ++t) {
      const int64_t jp = static_cast<int64_t>(t) / mp;
      const int64_t ip = static_cast<int64_t>(t) % mp;
      const int64_t i0 = ip * kMr;
      const int64_t j0 = jp * kNr;
      kMicroKernel(K, Ap + ip * K * kMr, Bp + jp * K * kNr, C + i0 * ldc + j0, ldc, std::min(kMr, M - i0),
                   std::min(kNr, N - j0), beta);
    }
  });
}

}  // namespace ssm
