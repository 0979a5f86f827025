#include "binding/engine_worker.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "autograd/tape.h"

namespace ssm::binding {

namespace {

// A single FIFO worker thread, created on first use and never destroyed (it idles on a condition variable;
// joining it from a static destructor at process exit could wait on a running step).
class EngineThread {
 public:
  static EngineThread& Get() {
    static EngineThread* t = new EngineThread();
    return *t;
  }
  void Post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  EngineThread() : thread_([this] { Loop(); }) { thread_.detach(); }
  void Loop() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty(); });
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::thread thread_;
};

std::atomic<int> g_pending{0};

struct Pending {
  std::unique_ptr<AsyncJob> job;
  Napi::Promise::Deferred deferred;
  Napi::ThreadSafeFunction tsfn;
  bool ok = false;
  bool cancelled = false;
  std::string error;
};

void Settle(Napi::Env env, Napi::Function, Pending* p) {
  std::unique_ptr<Pending> owner(p);
  g_pending.fetch_sub(1);
  if (env == nullptr) return;  // environment shutting down
  Napi::HandleScope scope(env);
  if (p->ok) {
    try {
      p->deferred.Resolve(p->job->done ? p->job->done(env) : env.Undefined());
    } catch (const Napi::Error& e) {
      p->deferred.Reject(e.Value());
    } catch (const std::exception& e) {
      p->deferred.Reject(Napi::Error::New(env, p->job->what + ": " + e.what()).Value());
    }
  } else {
    Napi::Error err =
        Napi::Error::New(env, p->cancelled ? p->job->what + " cancelled" : p->job->what + ": " + p->error);
    err.Set("code", Napi::String::New(env, p->cancelled ? "ERR_CANCELLED" : "ERR_ENGINE"));
    p->deferred.Reject(err.Value());
  }
  if (p->job->finally) p->job->finally();
}

}  // namespace

Napi::Promise RunAsync(Napi::Env env, std::unique_ptr<AsyncJob> job) {
  auto* p = new Pending{std::move(job), Napi::Promise::Deferred::New(env), {}, false, false, {}};
  p->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "ssm-engine-job", 0, 1);
  Napi::Promise promise = p->deferred.Promise();
  g_pending.fetch_add(1);
  EngineThread::Get().Post([p] {
    try {
      p->job->work();
      p->ok = true;
    } catch (const Cancelled&) {
      p->cancelled = true;
    } catch (const std::exception& e) {
      p->error = e.what();
    } catch (...) {
      p->error = "unknown native error";
    }
    Napi::ThreadSafeFunction tsfn = p->tsfn;
    tsfn.BlockingCall(p, Settle);
    tsfn.Release();
  });
  return promise;
}

int PendingJobs() { return g_pending.load(); }

}  // namespace ssm::binding
