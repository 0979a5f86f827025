// linear=false output head of S4ND (README section 9): exact-erf GELU -> Linear(CH -> 2H) + bias -> GLU.
#pragma once

#include <cstddef>

#include "s4nd/s4nd_workspace.h"

namespace ssm::s4nd {

// ypre (B, CH, S) -> out (B, H, S). Saves v = W GELU(ypre) + bias (B, 2H, S) in saved.v.
void HeadForward(int B, int CH, int H, std::size_t S, const float* ypre, const float* W, const float* bias, float* out,
                 S4ndWorkspace& ws, S4ndSaved& saved);

// dout (B, H, S) -> dypre (B, CH, S) (overwritten); dW (2H, CH) and dbias (2H) accumulated.
void HeadBackward(int B, int CH, int H, std::size_t S, const float* ypre, const float* v, const float* W,
                  const float* dout, float* dW, float* dbias, float* dypre, S4ndWorkspace& ws);

}  // namespace ssm::s4nd
