// S4ND layer (official state-spaces/s4 s4nd.py semantics, see /work/shared/reference/s4nd/README.md).
// Interface used by the model graph. Float32 activations and parameters; kernel generation runs in double internally.
//
// Data layouts (row-major, last index fastest):
//   u   (B, H, L_0, ..., L_{D-1})            input, channels first
//   y   (B, C*H, L...)  if linear == true     output channel index c*H + h
//       (B, H, L...)    if linear == false    GELU -> Linear(C*H -> 2H) + bias -> GLU
//   params: one flat float buffer, layout given by ParamLayout() (official state_dict names).
//
// Threading: every call uses ssm::GlobalPool(). Separate layers (separate params/state/workspace/saved) may be used
// from different threads; one layer instance must not be used concurrently.
// Allocation: S4ndWorkspace and S4ndSaved (include s4nd/s4nd_workspace.h to construct them) only grow, and the other
// scratch is thread-local and grow-only: after the first call at a given shape no memory is allocated (measured with a
// malloc uprobe: 0 mallocs per step for S4D and DPLR). The DPLR C~ setup / growth (first call only) does allocate.
// Kernels: per-axis generation in double (s4nd_kernel.h); convolution per axis, FFT or direct (s4nd_conv.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ssm::s4nd {

enum class KernelMode { kS4D, kDPLR };             // 'diag'/'s4d' (ZOH) or 'dplr'/'s4' (bilinear, C~ parameter)
enum class S4dInit { kDiagLin, kDiagInv, kLegs };  // legs is the DPLR (HiPPO-LegS NPLR) init
enum class ConvAlgo { kAuto, kFft, kDirect };      // per-axis convolution algorithm (kAuto: by axis length)

struct S4ndConfig {
  int dim = 2;       // number of spatial axes D (1, 2 or 3)
  int d_model = 0;   // H
  int d_state = 64;  // N (N/2 complex modes stored)
  int channels = 1;  // C, output heads per feature
  bool bidirectional = true;
  KernelMode mode = KernelMode::kS4D;
  S4dInit init = S4dInit::kDiagLin;
  std::vector<int> l_max;  // per axis, size dim
  double bandlimit = 0.0;  // <= 0: no bandlimit mask
  bool linear = true;      // false: GELU -> Linear(C*H, 2H) + bias -> GLU
  double dt_min = 0.001;   // init only
  double dt_max = 0.1;     // init only
  ConvAlgo conv = ConvAlgo::kAuto;
};

// Returns "" if the config is usable, else a precise message.
std::string ValidateConfig(const S4ndConfig& cfg);

struct ParamInfo {
  std::string name;            // e.g. "kernel.0.inv_dt", "kernel.1.C", "D", "output_linear.0.weight"
  std::vector<int64_t> shape;  // official shape; complex tensors have a trailing axis of size 2 (re, im)
  std::size_t offset = 0;      // in floats, into the flat parameter buffer
  std::size_t size = 0;        // number of floats
  bool ssm = false;            // inv_dt, A_real, A_imag, B, P: own lr, zero weight decay
};

// Named parameter tensors in buffer order: D, then per axis a: kernel.a.{inv_dt, A_real, A_imag, B, [P], C},
// then (linear == false) output_linear.0.weight (2H, C*H), output_linear.0.bias (2H).
std::vector<ParamInfo> ParamLayout(const S4ndConfig& cfg);
std::size_t ParamCount(const S4ndConfig& cfg);

// Mutable non-trainable state: DPLR kernel.a.l_kernel (0 = C not yet rewritten to C~). Unused for S4D.
struct S4ndState {
  std::vector<int64_t> l_kernel;  // size dim
};

// Seeded official-style initialisation (diag-lin / diag-inv for S4D, legs for DPLR). Writes all params and state.
void Init(const S4ndConfig& cfg, uint64_t seed, float* params, S4ndState* state);

// Output shape for input (batch, L[0..dim-1]).
std::vector<int64_t> OutputShape(const S4ndConfig& cfg, int batch, const int* L);

class S4ndWorkspace;  // scratch buffers, grow-only (defined in s4nd_workspace.h)
class S4ndSaved;      // what Backward needs from Forward, grow-only (defined in s4nd_workspace.h)

// Forward pass. rate: resolution factor (README section 6). Throws std::invalid_argument if cfg.conv == kDirect and an
// axis is longer than kDirectHardMaxLength (1024), std::runtime_error for a singular DPLR system. For DPLR the first
// call (l_kernel == 0) rewrites C -> C~ in place and the growth rule may rewrite it again (not part of autograd), hence
// params is mutable.
void Forward(const S4ndConfig& cfg, float* params, S4ndState* state, const float* u, int batch, const int* L,
             double rate, float* y, S4ndWorkspace& ws, S4ndSaved& saved);

// Backward pass for the last Forward recorded in `saved`. dy has the shape of y. du (shape of u) is overwritten;
// dparams (same layout as params) is accumulated into.
void Backward(const S4ndConfig& cfg, const float* params, const S4ndState& state, const S4ndSaved& saved,
              const float* dy, float* du, float* dparams, S4ndWorkspace& ws);

}  // namespace ssm::s4nd
