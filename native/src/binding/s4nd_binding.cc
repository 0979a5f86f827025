#include <napi.h>

namespace ssm::binding {

void RegisterS4nd(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace ssm::binding
