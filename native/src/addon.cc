// Module entry point of the SSM engine addon. Each subsystem registers its own functions.
#include <napi.h>

#include "binding/register.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::String::New(env, "0.1.0"));
  ssm::binding::RegisterAll(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(ssm_engine, Init)
