// Helpers shared by the layer files: per-axis parameter views into the flat buffer.
#pragma once

#include "s4nd/s4nd_kernel.h"
#include "s4nd/s4nd_layer.h"

namespace ssm::s4nd {

struct LayerOffsets {
  std::size_t D = 0;
  std::size_t inv_dt[3] = {0, 0, 0}, A_real[3] = {0, 0, 0}, A_imag[3] = {0, 0, 0}, B[3] = {0, 0, 0}, P[3] = {0, 0, 0},
              C[3] = {0, 0, 0};
  std::size_t W = 0, bias = 0;
  std::size_t total = 0;
};

LayerOffsets ComputeOffsets(const S4ndConfig& cfg);
inline int KernelRows(const S4ndConfig& cfg) { return cfg.bidirectional ? 2 * cfg.channels : cfg.channels; }
AxisKernelParams AxisParamsOf(const S4ndConfig& cfg, const LayerOffsets& o, const float* params, int axis);
AxisKernelGrads AxisGradsOf(const S4ndConfig& cfg, const LayerOffsets& o, float* dparams, int axis);

}  // namespace ssm::s4nd
