// s4nd_time: a bidirectional diagonal (S4D) SSM along time, queried at a fractional time t per sample.
//
// The two input frames are samples of a signal at tau = 0 and tau = 1. With the continuous-time impulse responses
//   K+_c(tau) = 2 Re sum_n C+_{c,n} exp(dt_c A_n tau),   K-_c(tau) = 2 Re sum_n C-_{c,n} exp(dt_c A_n tau)
// (S4D parameterisation: dt_c = exp(inv_dt_c), A_n = -exp(A_real_n) - i A_imag_n; B is folded into C, as it only
// scales each mode), the output at time t is
//   y_c = K+_c(t) * u0_c + K-_c(1 - t) * u1_c
// (forward kernel for the earlier frame, backward kernel for the later one: S4ND's bidirectional row layout).
// Any t is a time step dt_c * t of the same kernel. t gets no gradient.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tape.h"

namespace ssm::ops {

// Flat parameter layout of one s4nd_time layer with C output channels and state size N (N/2 stored modes).
struct S4ndTimeLayout {
  int64_t C = 0, Nh = 0;
  int64_t inv_dt = 0;  // (C, 1)
  int64_t A_real = 0;  // (1, Nh)
  int64_t A_imag = 0;  // (1, Nh)
  int64_t Cw = 0;      // (2, C, Nh, 2): row 0 forward (u0), row 1 backward (u1); last dim (re, im)
  int64_t total = 0;
};
S4ndTimeLayout S4ndTimeLayoutOf(int64_t channels, int64_t d_state);

// S4D-Lin init: inv_dt ~ U[log dt_min, log dt_max], A_real = log 1/2, A_imag = max(pi n, 1e-4), C complex normal
// with real and imaginary parts N(0, 1/2) (the engine's S4ND conventions).
void S4ndTimeInit(const S4ndTimeLayout& l, double dt_min, double dt_max, uint64_t seed, float* params);

// x (B, 2C, S...): channels [0, C) the frame at tau = 0, [C, 2C) the frame at tau = 1; params (layout total);
// times: B query times. -> (B, C, S...).
Var* S4ndTime(Tape& t, Var* x, Var* params, const std::vector<double>& times, int64_t d_state);

}  // namespace ssm::ops
