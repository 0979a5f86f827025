// The S4ND module (s4nd/s4nd_layer.h) as an autograd op. One S4ndInstance per layer: it holds the config,
// the non-trainable state and the module's grow-only workspace / saved-for-backward buffers, which is why an
// instance may be applied once per recorded forward (the module's Backward uses the last Forward's saved data).
#pragma once

#include <memory>

#include "autograd/tape.h"
#include "core/json.h"
#include "s4nd/s4nd_layer.h"
#include "s4nd/s4nd_workspace.h"

namespace ssm::graph {

struct S4ndInstance {
  s4nd::S4ndConfig cfg;
  s4nd::S4ndState state;
  s4nd::S4ndWorkspace ws;
  s4nd::S4ndSaved saved;
};

// Reads the normalised s4nd layer options (d_model, l_max, d_state, ...) and validates them with the module.
// Throws std::invalid_argument("s4nd layer <where>: ...").
std::unique_ptr<S4ndInstance> MakeS4ndInstance(const Json& spec, const std::string& where);

// x (B, H, L_0, ..., L_{D-1}), params (ParamCount) flat -> (B, H, L...) (or (B, C*H, L...) when linear, C > 1).
Var* S4ndApply(Tape& t, S4ndInstance& inst, Var* x, Var* params, double rate);

}  // namespace ssm::graph
