// Registration hooks: every subsystem adds its JS-visible functions here.
#pragma once
#include <napi.h>

namespace ssm::binding {

// Calls every Register* function below.
void RegisterAll(Napi::Env env, Napi::Object exports);

}  // namespace ssm::binding
