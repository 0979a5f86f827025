// Per-axis SSM kernel generation for S4ND (README sections 3, 4, 6, 8), forward and backward, in double.
// Kept apart from the convolution: the layer calls GenerateAxisKernel, convolves, and feeds dk back to
// AxisKernelBackward.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

#include "s4nd/s4nd_layer.h"

namespace ssm::s4nd {

// Views of one axis module's parameters inside the flat float buffer (shapes as in ParamLayout).
struct AxisKernelParams {
  const float* inv_dt = nullptr;  // (H, 1)
  const float* A_real = nullptr;  // (1, N/2)
  const float* A_imag = nullptr;  // (1, N/2)
  const float* B = nullptr;       // (1, 1, N/2, 2)
  const float* P = nullptr;       // (1, 1, N/2, 2), DPLR only
  const float* C = nullptr;       // (rows, H, N/2, 2); DPLR: C~
};

struct AxisKernelGrads {  // accumulated (+=); any pointer may be null to skip it
  float* inv_dt = nullptr;
  float* A_real = nullptr;
  float* A_imag = nullptr;
  float* B = nullptr;
  float* P = nullptr;
  float* C = nullptr;
};

struct AxisKernelSpec {
  KernelMode mode = KernelMode::kS4D;
  int H = 0;
  int N = 0;     // d_state (N/2 stored modes)
  int rows = 0;  // 2C if bidirectional else C
  int Lk = 0;    // kernel length
  double rate = 1.0;
  double bandlimit = 0.0;  // <= 0: none
  int64_t l_kernel = 0;    // DPLR: length C~ is tuned to (must be > 0 when generating)
};

// Python round(): half to even.
int64_t RoundHalfEven(double x);

// k: (rows, H, Lk), double.
void GenerateAxisKernel(const AxisKernelSpec& spec, const AxisKernelParams& p, double* k);

// dk: (rows, H, Lk). Accumulates dL/dparam into g.
void AxisKernelBackward(const AxisKernelSpec& spec, const AxisKernelParams& p, const double* dk,
                        const AxisKernelGrads& g);

// DPLR C~ maintenance (README 4.3), in place on the float C (rows, H, N/2, 2), not tracked by autograd.
// Setup (l_kernel == 0): C <- C (I - Abar1^l_max), l_kernel = l_max. Growth: while round(rate*Lk) > l_kernel:
// C <- C (I + Abar1^l_kernel), l_kernel *= 2.
void DplrPrepareC(const AxisKernelSpec& spec, const AxisKernelParams& p, float* C, int l_max, int64_t* l_kernel);

// Intermediate quantities for tests (README section 10), flattened row-major, complex as (re, im) pairs.
struct AxisKernelDerived {
  std::vector<double> dt;              // (H)
  std::vector<double> A;               // S4D: (N/2, 2)
  std::vector<double> dtA;             // S4D: (H, N/2, 2)
  std::vector<double> bandlimit_mask;  // (H, N/2)
  std::vector<double> W;               // S4D: (rows, H, N/2, 2)
  std::vector<double> A_full;          // DPLR: (N, N, 2)
  std::vector<double> Abar;            // DPLR: (H, N, N, 2)
  std::vector<double> Bbar;            // DPLR: (H, N, 2)
  std::vector<double> C_eff;           // DPLR: (rows, H, N, 2)
  int64_t discrete_L = 0;              // DPLR
};
AxisKernelDerived ComputeAxisKernelDerived(const AxisKernelSpec& spec, const AxisKernelParams& p);

}  // namespace ssm::s4nd
