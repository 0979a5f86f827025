#include "binding/register.h"

namespace ssm::binding {

// Each Register* is defined in its subsystem's binding file.
void RegisterEngine(Napi::Env env, Napi::Object exports);  // binding/engine_binding.cc (tensors, ops, graph)
void RegisterS4nd(Napi::Env env, Napi::Object exports);    // binding/s4nd_binding.cc (S4ND layer, FFT, reference)

void RegisterAll(Napi::Env env, Napi::Object exports) {
  RegisterEngine(env, exports);
  RegisterS4nd(env, exports);
}

}  // namespace ssm::binding
