// JS binding of the engine core: models (build, train step, predict, checkpoints, parameters), cancel tokens,
// thread settings. The TypeScript side (main/engine/binding.ts) declares this shape once and validates every
// argument; this file converts arguments into plain C++ values, checks only what memory safety needs, and
// runs the heavy calls on the engine thread (engine_worker.h).
#include <napi.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "binding/engine_worker.h"
#include "core/json.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "graph/checkpoint.h"
#include "graph/model.h"

namespace ssm::binding {

void RegisterOpTest(Napi::Env env, Napi::Object exports);  // op_binding.cc

namespace {

// ---- argument helpers ---------------------------------------------------------------------------------------

[[noreturn]] void ThrowType(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }

Shape ShapeArg(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsArray()) ThrowType(env, std::string(what) + " must be an array of dimensions");
  Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > static_cast<uint32_t>(kMaxRank)) ThrowType(env, std::string(what) + " has more than 6 dimensions");
  std::vector<int64_t> dims;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value d = a.Get(i);
    if (!d.IsNumber()) ThrowType(env, std::string(what) + "[" + std::to_string(i) + "] is not a number");
    const double x = d.As<Napi::Number>().DoubleValue();
    if (!(x >= 0 && x <= 1e9) || x != static_cast<double>(static_cast<int64_t>(x))) {
      ThrowType(env, std::string(what) + "[" + std::to_string(i) + "] is not a valid dimension");
    }
    dims.push_back(static_cast<int64_t>(x));
  }
  double total = 1;
  for (int64_t d : dims) total *= static_cast<double>(d);
  if (total > 4e9) ThrowType(env, std::string(what) + " describes more than 4e9 values");
  return Shape::FromVector(dims);
}

// Copies a Float32Array into a pooled tensor of the given shape (lengths must agree).
Tensor TensorArg(Napi::Env env, const Napi::Value& v, const Shape& shape, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowType(env, std::string(what) + " must be a Float32Array");
  }
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (static_cast<int64_t>(a.ElementLength()) != shape.numel()) {
    ThrowType(env, std::string(what) + " has " + std::to_string(a.ElementLength()) + " values but shape " +
                       shape.str() + " needs " + std::to_string(shape.numel()));
  }
  Tensor t(shape);
  if (shape.numel()) std::memcpy(t.data(), a.Data(), sizeof(float) * shape.numel());
  return t;
}

double NumberArg(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) ThrowType(env, std::string(what) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string StringArg(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsString()) ThrowType(env, std::string(what) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Array ShapeToJs(Napi::Env env, const Shape& s) {
  Napi::Array a = Napi::Array::New(env, s.rank);
  for (int i = 0; i < s.rank; ++i) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(s[i])));
  return a;
}

// ---- CancelToken --------------------------------------------------------------------------------------------

class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "CancelToken",
        {InstanceMethod<&CancelToken::Cancel>("cancel"), InstanceAccessor<&CancelToken::IsCancelled>("cancelled")});
  }
  explicit CancelToken(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CancelToken>(info) {}
  std::shared_ptr<std::atomic<bool>> flag = std::make_shared<std::atomic<bool>>(false);

 private:
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    flag->store(true);
    return info.Env().Undefined();
  }
  Napi::Value IsCancelled(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), flag->load()); }
};

struct Constructors {
  Napi::FunctionReference cancel_token;
  Napi::FunctionReference model;
};

// Per-environment constructors (not env instance data, which the S4ND binding may also want to use).
std::mutex g_ctor_mu;
std::map<napi_env, Constructors*> g_ctors;

Constructors* CtorsOf(Napi::Env env) {
  std::lock_guard<std::mutex> lock(g_ctor_mu);
  return g_ctors.at(env);
}

// The flag of an optional CancelToken argument (undefined/null -> a private flag nobody sets).
std::shared_ptr<std::atomic<bool>> CancelArg(Napi::Env env, const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return std::make_shared<std::atomic<bool>>(false);
  Constructors* c = CtorsOf(env);
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(c->cancel_token.Value())) {
    ThrowType(env, "cancel must be a CancelToken from createCancelToken()");
  }
  return CancelToken::Unwrap(v.As<Napi::Object>())->flag;
}

// ---- NativeModel --------------------------------------------------------------------------------------------

// The model is shared with queued jobs, so dispose() while a step runs frees it only after the step.
struct ModelHandle {
  std::unique_ptr<graph::Model> model;
  int pending = 0;  // queued or running async calls (JS thread only)
};

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeModel",
        {InstanceMethod<&NativeModel::TrainStep>("trainStep"), InstanceMethod<&NativeModel::Predict>("predict"),
         InstanceMethod<&NativeModel::EvalLoss>("evalLoss"), InstanceMethod<&NativeModel::Save>("save"),
         InstanceMethod<&NativeModel::Load>("load"), InstanceMethod<&NativeModel::Params>("params"),
         InstanceMethod<&NativeModel::GetParam>("getParam"), InstanceMethod<&NativeModel::SetParam>("setParam"),
         InstanceMethod<&NativeModel::ParamCount>("paramCount"),
         InstanceMethod<&NativeModel::OptimizerStep>("optimizerStep"),
         InstanceMethod<&NativeModel::Dispose>("dispose")});
  }

  // new NativeModel(specJson: string, seed: number)
  explicit NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {
    Napi::Env env = info.Env();
    const std::string text = StringArg(env, info[0], "spec");
    const double seed = NumberArg(env, info[1], "seed");
    if (!(seed >= 0 && seed <= 9007199254740991.0) || seed != static_cast<double>(static_cast<uint64_t>(seed))) {
      ThrowType(env, "seed must be a non-negative integer");
    }
    handle_ = std::make_shared<ModelHandle>();
    try {
      handle_->model = std::make_unique<graph::Model>(Json::Parse(text), static_cast<uint64_t>(seed));
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("createModel: ") + e.what());
    }
  }

 private:
  graph::Model& Live(Napi::Env env, const char* what, bool allow_busy = false) {
    if (!handle_ || !handle_->model) throw Napi::Error::New(env, std::string(what) + ": the model was disposed");
    if (!allow_busy && handle_->pending > 0) {
      throw Napi::Error::New(env, std::string(what) + ": the model is busy (" + std::to_string(handle_->pending) +
                                      " async call(s) running); await them first");
    }
    return *handle_->model;
  }

  Napi::Value Queue(Napi::Env env, std::unique_ptr<AsyncJob> job) {
    auto handle = handle_;
    ++handle->pending;
    job->finally = [handle] { --handle->pending; };
    return RunAsync(env, std::move(job));
  }

  // trainStep(x, xShape, targets, targetShape, lr, ssmLr, rate, cancel?) -> Promise<{loss, gradNorm, step}>
  Napi::Value TrainStep(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env, "trainStep", true);
    const Shape xs = ShapeArg(env, info[1], "xShape");
    Tensor x = TensorArg(env, info[0], xs, "x");
    const Shape ts = ShapeArg(env, info[3], "targetShape");
    Tensor targets = TensorArg(env, info[2], ts, "targets");
    const float lr = static_cast<float>(NumberArg(env, info[4], "lr"));
    const float ssm_lr = static_cast<float>(NumberArg(env, info[5], "ssmLr"));
    const double rate = NumberArg(env, info[6], "rate");
    auto cancel = CancelArg(env, info[7]);
    auto handle = handle_;
    auto result = std::make_shared<graph::StepResult>();
    auto job = std::make_unique<AsyncJob>();
    job->what = "trainStep";
    job->work = [handle, x, targets, lr, ssm_lr, rate, cancel, result] {
      if (cancel->load()) throw Cancelled();
      *result = handle->model->TrainStep(x, targets, lr, ssm_lr, rate, cancel.get());
    };
    job->done = [result](Napi::Env env) -> Napi::Value {
      Napi::Object o = Napi::Object::New(env);
      o.Set("loss", result->loss);
      o.Set("gradNorm", result->grad_norm);
      o.Set("step", static_cast<double>(result->step));
      return o;
    };
    return Queue(env, std::move(job));
  }

  // predict(x, xShape, rate, cancel?) -> Promise<{data: Float32Array, shape: number[]}>
  Napi::Value Predict(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env, "predict", true);
    const Shape xs = ShapeArg(env, info[1], "xShape");
    Tensor x = TensorArg(env, info[0], xs, "x");
    const double rate = NumberArg(env, info[2], "rate");
    auto cancel = CancelArg(env, info[3]);
    auto handle = handle_;
    auto out = std::make_shared<Tensor>();
    auto job = std::make_unique<AsyncJob>();
    job->what = "predict";
    job->work = [handle, x, rate, cancel, out] {
      if (cancel->load()) throw Cancelled();
      *out = handle->model->Predict(x, rate, cancel.get());
    };
    job->done = [out](Napi::Env env) -> Napi::Value {
      Napi::Float32Array data = Napi::Float32Array::New(env, static_cast<std::size_t>(out->numel()));
      if (out->numel()) std::memcpy(data.Data(), out->data(), sizeof(float) * out->numel());
      Napi::Object o = Napi::Object::New(env);
      o.Set("data", data);
      o.Set("shape", ShapeToJs(env, out->shape()));
      out->reset();
      return o;
    };
    return Queue(env, std::move(job));
  }

  // evalLoss(x, xShape, targets, targetShape, rate, cancel?) -> Promise<number>
  Napi::Value EvalLoss(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env, "evalLoss", true);
    const Shape xs = ShapeArg(env, info[1], "xShape");
    Tensor x = TensorArg(env, info[0], xs, "x");
    const Shape ts = ShapeArg(env, info[3], "targetShape");
    Tensor targets = TensorArg(env, info[2], ts, "targets");
    const double rate = NumberArg(env, info[4], "rate");
    auto cancel = CancelArg(env, info[5]);
    auto handle = handle_;
    auto loss = std::make_shared<double>(0.0);
    auto job = std::make_unique<AsyncJob>();
    job->what = "evalLoss";
    job->work = [handle, x, targets, rate, cancel, loss] {
      *loss = handle->model->EvalLoss(x, targets, rate, cancel.get());
    };
    job->done = [loss](Napi::Env env) -> Napi::Value { return Napi::Number::New(env, *loss); };
    return Queue(env, std::move(job));
  }

  // save(path) -> Promise<void>
  Napi::Value Save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env, "save", true);
    const std::string path = StringArg(env, info[0], "path");
    auto handle = handle_;
    auto job = std::make_unique<AsyncJob>();
    job->what = "save";
    job->work = [handle, path] { graph::SaveCheckpoint(*handle->model, path); };
    return Queue(env, std::move(job));
  }

  // load(path) -> Promise<void>
  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Live(env, "load", true);
    const std::string path = StringArg(env, info[0], "path");
    auto handle = handle_;
    auto job = std::make_unique<AsyncJob>();
    job->what = "load";
    job->work = [handle, path] { graph::LoadCheckpoint(*handle->model, path); };
    return Queue(env, std::move(job));
  }

  // params() -> {name, shape, group}[]
  Napi::Value Params(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    graph::Model& m = Live(env, "params", true);
    Napi::Array out = Napi::Array::New(env, m.params().size());
    uint32_t i = 0;
    for (const graph::Param& p : m.params()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", p.name);
      o.Set("shape", ShapeToJs(env, p.shape));
      o.Set("group", optim::GroupName(p.group));
      out.Set(i++, o);
    }
    return out;
  }

  const graph::Param& ParamByName(Napi::Env env, graph::Model& m, const std::string& name, const char* what) {
    const graph::Param* p = m.FindParam(name);
    if (!p) {
      std::string msg = std::string(what) + ": unknown parameter '" + name + "'; the model has ";
      std::size_t k = 0;
      for (const graph::Param& q : m.params()) {
        if (k == 6) {
          msg += ", ... (" + std::to_string(m.params().size()) + " in all)";
          break;
        }
        msg += (k++ ? ", '" : "'") + q.name + "'";
      }
      throw Napi::Error::New(env, msg);
    }
    return *p;
  }

  // getParam(name) -> Float32Array (a copy)
  Napi::Value GetParam(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    graph::Model& m = Live(env, "getParam");
    const graph::Param& p = ParamByName(env, m, StringArg(env, info[0], "name"), "getParam");
    Napi::Float32Array a = Napi::Float32Array::New(env, static_cast<std::size_t>(p.numel()));
    std::memcpy(a.Data(), p.data(), sizeof(float) * p.numel());
    return a;
  }

  // setParam(name, values: Float32Array)
  Napi::Value SetParam(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    graph::Model& m = Live(env, "setParam");
    const graph::Param& p = ParamByName(env, m, StringArg(env, info[0], "name"), "setParam");
    Tensor v = TensorArg(env, info[1], p.shape, ("setParam '" + p.name + "' values").c_str());
    std::memcpy(p.data(), v.data(), sizeof(float) * p.numel());
    return env.Undefined();
  }

  Napi::Value ParamCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(Live(info.Env(), "paramCount", true).ParamCount()));
  }

  Napi::Value OptimizerStep(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(),
                             static_cast<double>(Live(info.Env(), "optimizerStep", true).optimizer().step()));
  }

  // dispose(): frees the model now, or after the queued calls finish.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (handle_) {
      if (handle_->pending == 0) handle_->model.reset();
      handle_.reset();
    }
    return info.Env().Undefined();
  }

  std::shared_ptr<ModelHandle> handle_;
};

Napi::Value CreateCancelToken(const Napi::CallbackInfo& info) { return CtorsOf(info.Env())->cancel_token.New({}); }

Napi::Value SetThreadsJs(const Napi::CallbackInfo& info) {
  const double n = NumberArg(info.Env(), info[0], "threads");
  if (PendingJobs() > 0) {
    throw Napi::Error::New(
        info.Env(), "setThreads: " + std::to_string(PendingJobs()) + " engine call(s) are running; await them first");
  }
  SetThreads(static_cast<int>(n));
  return info.Env().Undefined();
}

// Frees the idle buffers of the tensor pool (e.g. after training at a large resolution).
Napi::Value TrimPool(const Napi::CallbackInfo& info) {
  if (PendingJobs() > 0) {
    throw Napi::Error::New(
        info.Env(), "trimPool: " + std::to_string(PendingJobs()) + " engine call(s) are running; await them first");
  }
  BufferPool::Get().Trim();
  return info.Env().Undefined();
}

Napi::Value PoolStats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("allocations", static_cast<double>(BufferPool::Get().allocations()));
  o.Set("bytesHeld", static_cast<double>(BufferPool::Get().bytes_held()));
  o.Set("threads", GlobalPool().threads());
  return o;
}

}  // namespace

void RegisterEngine(Napi::Env env, Napi::Object exports) {
  auto* c = new Constructors();
  Napi::Function token = CancelToken::Define(env);
  Napi::Function model = NativeModel::Define(env);
  c->cancel_token = Napi::Persistent(token);
  c->model = Napi::Persistent(model);
  {
    std::lock_guard<std::mutex> lock(g_ctor_mu);
    g_ctors[env] = c;
  }
  env.AddCleanupHook([c, e = static_cast<napi_env>(env)] {
    std::lock_guard<std::mutex> lock(g_ctor_mu);
    g_ctors.erase(e);
    delete c;
  });
  exports.Set("NativeModel", model);
  exports.Set("CancelToken", token);
  exports.Set("createCancelToken", Napi::Function::New(env, CreateCancelToken, "createCancelToken"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreadsJs, "setThreads"));
  exports.Set("poolStats", Napi::Function::New(env, PoolStats, "poolStats"));
  exports.Set("trimPool", Napi::Function::New(env, TrimPool, "trimPool"));
  RegisterOpTest(env, exports);
}

}  // namespace ssm::binding
