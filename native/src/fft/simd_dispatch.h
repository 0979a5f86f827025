// Run-time choice of the SIMD clones used by the FFT and the S4ND kernels: AVX2+FMA when the CPU has it, unless the
// environment variable SSM_FORCE_GENERIC_SIMD is set (lets the tests run the portable baseline path too).
#pragma once

#include <cstdlib>

namespace ssm::simd {

inline bool UseAvx2Fma() {
#if defined(__x86_64__) || defined(__i386__)
  if (std::getenv("SSM_FORCE_GENERIC_SIMD") != nullptr) return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace ssm::simd
