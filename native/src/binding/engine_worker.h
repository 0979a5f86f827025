// The engine's own thread: every async engine call (train step, predict, save, load) runs here, in order,
// off the JS thread and off the libuv pool (as onnxruntime-node does). Results come back to JS through a
// thread-safe function and settle the call's Promise.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>

namespace ssm::binding {

// One async call. `work` runs on the engine thread and must not touch JS; it throws to fail the call.
// `done` runs on the JS thread after `work` succeeded and makes the resolution value.
struct AsyncJob {
  std::string what;  // "trainStep", used in error messages
  std::function<void()> work;
  std::function<Napi::Value(Napi::Env)> done;
  std::function<void()> finally;  // JS thread, after resolve/reject (e.g. clear busy flag)
};

// Queues the job and returns its Promise. Rejections are Errors with a `code`: "ERR_CANCELLED" when the
// cancel flag stopped it (message "<what> cancelled"), "ERR_ENGINE" for anything else.
Napi::Promise RunAsync(Napi::Env env, std::unique_ptr<AsyncJob> job);

// Async calls queued or running, over all models (used to refuse resizing the thread pool under a running job).
int PendingJobs();

}  // namespace ssm::binding
