#include <napi.h>

namespace ssm::binding {

void RegisterEngine(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace ssm::binding
