#include "binding/register.h"

namespace ssm::binding {

void RegisterAll(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace ssm::binding
