#include "s4nd/s4nd_params.h"

#include <cmath>

namespace ssm::s4nd {

std::vector<ParamInfo> ParamLayout(const S4ndConfig& cfg) {
  const int64_t H = cfg.d_model, Nh = cfg.d_state / 2, C = cfg.channels, R = KernelRows(cfg);
  std::vector<ParamInfo> out;
  std::size_t off = 0;
  auto add = [&](std::string name, std::vector<int64_t> shape, bool ssm) {
    ParamInfo p;
    p.name = std::move(name);
    p.shape = std::move(shape);
    p.size = 1;
    for (int64_t d : p.shape) p.size *= static_cast<std::size_t>(d);
    p.offset = off;
    p.ssm = ssm;
    off += p.size;
    out.push_back(std::move(p));
  };
  add("D", {C, H}, false);
  for (int a = 0; a < cfg.dim; ++a) {
    const std::string k = "kernel." + std::to_string(a) + ".";
    add(k + "inv_dt", {H, 1}, true);
    add(k + "A_real", {1, Nh}, true);
    add(k + "A_imag", {1, Nh}, true);
    add(k + "B", {1, 1, Nh, 2}, true);
    if (cfg.mode == KernelMode::kDPLR) add(k + "P", {1, 1, Nh, 2}, true);
    add(k + "C", {R, H, Nh, 2}, false);
  }
  if (!cfg.linear) {
    add("output_linear.0.weight", {2 * H, C * H}, false);
    add("output_linear.0.bias", {2 * H}, false);
  }
  return out;
}

std::size_t ParamCount(const S4ndConfig& cfg) { return ComputeOffsets(cfg).total; }

// Same order as ParamLayout, by arithmetic (no strings: called on every Forward / Backward).
LayerOffsets ComputeOffsets(const S4ndConfig& cfg) {
  const std::size_t H = cfg.d_model, Nh = cfg.d_state / 2, C = cfg.channels, R = KernelRows(cfg);
  LayerOffsets o;
  std::size_t off = 0;
  o.D = off;
  off += C * H;
  for (int a = 0; a < cfg.dim; ++a) {
    o.inv_dt[a] = off;
    off += H;
    o.A_real[a] = off;
    off += Nh;
    o.A_imag[a] = off;
    off += Nh;
    o.B[a] = off;
    off += 2 * Nh;
    if (cfg.mode == KernelMode::kDPLR) {
      o.P[a] = off;
      off += 2 * Nh;
    }
    o.C[a] = off;
    off += R * H * Nh * 2;
  }
  if (!cfg.linear) {
    o.W = off;
    off += 2 * H * C * H;
    o.bias = off;
    off += 2 * H;
  }
  o.total = off;
  return o;
}

AxisKernelParams AxisParamsOf(const S4ndConfig& cfg, const LayerOffsets& o, const float* params, int a) {
  AxisKernelParams p;
  p.inv_dt = params + o.inv_dt[a];
  p.A_real = params + o.A_real[a];
  p.A_imag = params + o.A_imag[a];
  p.B = params + o.B[a];
  p.P = cfg.mode == KernelMode::kDPLR ? params + o.P[a] : nullptr;
  p.C = params + o.C[a];
  return p;
}

AxisKernelGrads AxisGradsOf(const S4ndConfig& cfg, const LayerOffsets& o, float* d, int a) {
  AxisKernelGrads g;
  g.inv_dt = d + o.inv_dt[a];
  g.A_real = d + o.A_real[a];
  g.A_imag = d + o.A_imag[a];
  g.B = d + o.B[a];
  g.P = cfg.mode == KernelMode::kDPLR ? d + o.P[a] : nullptr;
  g.C = d + o.C[a];
  return g;
}

std::string ValidateConfig(const S4ndConfig& cfg) {
  if (cfg.dim < 1 || cfg.dim > 3) return "s4nd: dim must be 1, 2 or 3, got " + std::to_string(cfg.dim);
  if (cfg.d_model < 1) return "s4nd: d_model must be >= 1, got " + std::to_string(cfg.d_model);
  if (cfg.d_state < 2 || cfg.d_state % 2 != 0)
    return "s4nd: d_state must be an even number >= 2, got " + std::to_string(cfg.d_state);
  if (cfg.channels < 1) return "s4nd: channels must be >= 1, got " + std::to_string(cfg.channels);
  if (static_cast<int>(cfg.l_max.size()) != cfg.dim)
    return "s4nd: l_max must have one entry per axis (dim = " + std::to_string(cfg.dim) + "), got " +
           std::to_string(cfg.l_max.size());
  for (int a = 0; a < cfg.dim; ++a)
    if (cfg.l_max[a] < 1)
      return "s4nd: l_max[" + std::to_string(a) + "] must be >= 1, got " + std::to_string(cfg.l_max[a]);
  if (!(cfg.dt_min > 0) || !(cfg.dt_max >= cfg.dt_min)) return "s4nd: need 0 < dt_min <= dt_max";
  if (!std::isfinite(cfg.bandlimit)) return "s4nd: bandlimit must be finite (<= 0 disables it)";
  return "";
}

std::vector<int64_t> OutputShape(const S4ndConfig& cfg, int batch, const int* L) {
  std::vector<int64_t> s{batch, static_cast<int64_t>(cfg.linear ? cfg.channels * cfg.d_model : cfg.d_model)};
  for (int a = 0; a < cfg.dim; ++a) s.push_back(L[a]);
  return s;
}

}  // namespace ssm::s4nd
