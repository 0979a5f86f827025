// JS binding of the FFT and the S4ND layer (shape declared once in main/engine/s4nd-native.ts).
// Baton style: JS-side arguments are validated by TypeScript and converted here into plain C++ structs on the JS
// thread; the heavy work runs in Napi::AsyncWorker::Execute (libuv worker thread, never touching JS) and errors are
// thrown from OnError as rejected promises.
#include <napi.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "fft/fft.h"
#include "s4nd/s4nd_conv.h"
#include "s4nd/s4nd_kernel.h"
#include "s4nd/s4nd_layer.h"
#include "s4nd/s4nd_params.h"
#include "s4nd/s4nd_workspace.h"
#include "s4nd/small_gemm.h"

namespace ssm::binding {

namespace {

using s4nd::S4ndConfig;

std::string GetString(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("s4nd: spec.") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}
double GetNumber(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("s4nd: ") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}
bool GetBool(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string("s4nd: spec.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}
std::vector<int> GetIntArray(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, std::string("s4nd: ") + what + " must be an array of integers");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(env, std::string("s4nd: ") + what + " must hold integers");
    out[i] = e.As<Napi::Number>().Int32Value();
  }
  return out;
}
template <typename T>
std::vector<T> GetTyped(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, std::string("s4nd: ") + what + " must be a typed array");
  Napi::TypedArrayOf<T> a = v.As<Napi::TypedArrayOf<T>>();
  return std::vector<T>(a.Data(), a.Data() + a.ElementLength());
}
template <typename T>
Napi::TypedArrayOf<T> ToTyped(Napi::Env env, const T* data, std::size_t n) {
  auto a = Napi::TypedArrayOf<T>::New(env, n);
  if (n) std::memcpy(a.Data(), data, n * sizeof(T));
  return a;
}

S4ndConfig ParseSpec(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, "s4nd: spec must be an object");
  Napi::Object o = v.As<Napi::Object>();
  S4ndConfig c;
  c.dim = static_cast<int>(GetNumber(o, "dim"));
  c.d_model = static_cast<int>(GetNumber(o, "d_model"));
  c.d_state = static_cast<int>(GetNumber(o, "d_state"));
  c.channels = static_cast<int>(GetNumber(o, "channels"));
  c.bidirectional = GetBool(o, "bidirectional");
  const std::string mode = GetString(o, "mode");
  if (mode == "s4d")
    c.mode = s4nd::KernelMode::kS4D;
  else if (mode == "dplr")
    c.mode = s4nd::KernelMode::kDPLR;
  else
    throw Napi::TypeError::New(env, "s4nd: spec.mode must be 's4d' or 'dplr', got '" + mode + "'");
  const std::string init = GetString(o, "init");
  if (init == "diag-lin")
    c.init = s4nd::S4dInit::kDiagLin;
  else if (init == "diag-inv")
    c.init = s4nd::S4dInit::kDiagInv;
  else if (init == "legs")
    c.init = s4nd::S4dInit::kLegs;
  else
    throw Napi::TypeError::New(env, "s4nd: spec.init must be 'diag-lin', 'diag-inv' or 'legs', got '" + init + "'");
  c.l_max = GetIntArray(env, o.Get("l_max"), "spec.l_max");
  c.bandlimit = GetNumber(o, "bandlimit");
  c.linear = GetBool(o, "linear");
  c.dt_min = GetNumber(o, "dt_min");
  c.dt_max = GetNumber(o, "dt_max");
  const std::string conv = GetString(o, "conv");
  if (conv == "auto")
    c.conv = s4nd::ConvAlgo::kAuto;
  else if (conv == "fft")
    c.conv = s4nd::ConvAlgo::kFft;
  else if (conv == "direct")
    c.conv = s4nd::ConvAlgo::kDirect;
  else
    throw Napi::TypeError::New(env, "s4nd: spec.conv must be 'auto', 'fft' or 'direct', got '" + conv + "'");
  const std::string err = s4nd::ValidateConfig(c);
  if (!err.empty()) throw Napi::RangeError::New(env, err);
  return c;
}

void CheckSize(Napi::Env env, std::size_t got, std::size_t want, const char* what) {
  if (got != want)
    throw Napi::RangeError::New(env, std::string("s4nd: ") + what + " has " + std::to_string(got) +
                                         " elements, expected " + std::to_string(want));
}

// ---- s4ndParamLayout(spec) [sync] ----
Napi::Value ParamLayoutJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const S4ndConfig cfg = ParseSpec(env, info[0]);
  const auto layout = s4nd::ParamLayout(cfg);
  Napi::Array arr = Napi::Array::New(env, layout.size());
  for (std::size_t i = 0; i < layout.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", layout[i].name);
    Napi::Array shape = Napi::Array::New(env, layout[i].shape.size());
    for (std::size_t j = 0; j < layout[i].shape.size(); ++j) shape.Set(j, static_cast<double>(layout[i].shape[j]));
    o.Set("shape", shape);
    o.Set("offset", static_cast<double>(layout[i].offset));
    o.Set("size", static_cast<double>(layout[i].size));
    o.Set("ssm", layout[i].ssm);
    arr.Set(i, o);
  }
  return arr;
}

// ---- s4ndInit(spec, seed) [sync] ----
Napi::Value InitJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const S4ndConfig cfg = ParseSpec(env, info[0]);
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "s4nd: seed must be a number");
  const uint64_t seed = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
  std::vector<float> params(s4nd::ParamCount(cfg));
  s4nd::S4ndState state;
  s4nd::Init(cfg, seed, params.data(), &state);
  Napi::Object out = Napi::Object::New(env);
  out.Set("params", ToTyped<float>(env, params.data(), params.size()));
  Napi::Array lk = Napi::Array::New(env, state.l_kernel.size());
  for (std::size_t i = 0; i < state.l_kernel.size(); ++i) lk.Set(i, static_cast<double>(state.l_kernel[i]));
  out.Set("lKernel", lk);
  return out;
}

// ---- s4ndRun(spec, params, lKernel, u, batch, dims, rate, dy | null) [async] ----
class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, S4ndConfig cfg, std::vector<float> params, std::vector<int64_t> l_kernel,
            std::vector<float> u, int batch, std::vector<int> dims, double rate, std::vector<float> dy, bool backward)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        cfg_(std::move(cfg)),
        params_(std::move(params)),
        u_(std::move(u)),
        batch_(batch),
        dims_(std::move(dims)),
        rate_(rate),
        dy_(std::move(dy)),
        backward_(backward) {
    state_.l_kernel = std::move(l_kernel);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      const auto shape = s4nd::OutputShape(cfg_, batch_, dims_.data());
      std::size_t ny = 1;
      for (int64_t d : shape) ny *= static_cast<std::size_t>(d);
      y_.assign(ny, 0.f);
      s4nd::S4ndWorkspace ws;
      s4nd::S4ndSaved saved;
      s4nd::Forward(cfg_, params_.data(), &state_, u_.data(), batch_, dims_.data(), rate_, y_.data(), ws, saved);
      if (backward_) {
        du_.assign(u_.size(), 0.f);
        dparams_.assign(params_.size(), 0.f);
        s4nd::Backward(cfg_, params_.data(), state_, saved, dy_.data(), du_.data(), dparams_.data(), ws);
      }
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("y", ToTyped<float>(env, y_.data(), y_.size()));
    out.Set("params", ToTyped<float>(env, params_.data(), params_.size()));
    Napi::Array lk = Napi::Array::New(env, state_.l_kernel.size());
    for (std::size_t i = 0; i < state_.l_kernel.size(); ++i) lk.Set(i, static_cast<double>(state_.l_kernel[i]));
    out.Set("lKernel", lk);
    if (backward_) {
      out.Set("du", ToTyped<float>(env, du_.data(), du_.size()));
      out.Set("dparams", ToTyped<float>(env, dparams_.data(), dparams_.size()));
    }
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  S4ndConfig cfg_;
  std::vector<float> params_;
  s4nd::S4ndState state_;
  std::vector<float> u_;
  int batch_;
  std::vector<int> dims_;
  double rate_;
  std::vector<float> dy_;
  bool backward_;
  std::vector<float> y_, du_, dparams_;
};

std::vector<int64_t> GetLKernel(Napi::Env env, Napi::Value v, int dim) {
  std::vector<int> lk = GetIntArray(env, v, "lKernel");
  if (static_cast<int>(lk.size()) != dim) throw Napi::RangeError::New(env, "s4nd: lKernel needs one entry per axis");
  return std::vector<int64_t>(lk.begin(), lk.end());
}

Napi::Value RunJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  S4ndConfig cfg = ParseSpec(env, info[0]);
  std::vector<float> params = GetTyped<float>(env, info[1], "params");
  CheckSize(env, params.size(), s4nd::ParamCount(cfg), "params");
  std::vector<int64_t> lk = GetLKernel(env, info[2], cfg.dim);
  std::vector<float> u = GetTyped<float>(env, info[3], "u");
  if (!info[4].IsNumber()) throw Napi::TypeError::New(env, "s4nd: batch must be a number");
  const int batch = info[4].As<Napi::Number>().Int32Value();
  std::vector<int> dims = GetIntArray(env, info[5], "dims");
  if (static_cast<int>(dims.size()) != cfg.dim) throw Napi::RangeError::New(env, "s4nd: dims needs one entry per axis");
  std::size_t nu = static_cast<std::size_t>(batch) * cfg.d_model;
  for (int d : dims) {
    if (d < 1) throw Napi::RangeError::New(env, "s4nd: every spatial length must be >= 1");
    nu *= d;
  }
  CheckSize(env, u.size(), nu, "u");
  if (!info[6].IsNumber()) throw Napi::TypeError::New(env, "s4nd: rate must be a number");
  const double rate = info[6].As<Napi::Number>().DoubleValue();
  if (!(rate > 0)) throw Napi::RangeError::New(env, "s4nd: rate must be > 0");
  std::vector<float> dy;
  const bool backward = !info[7].IsNull() && !info[7].IsUndefined();
  if (backward) {
    dy = GetTyped<float>(env, info[7], "dy");
    const auto shape = s4nd::OutputShape(cfg, batch, dims.data());
    std::size_t ny = 1;
    for (int64_t d : shape) ny *= static_cast<std::size_t>(d);
    CheckSize(env, dy.size(), ny, "dy");
  }
  auto* w = new RunWorker(env, std::move(cfg), std::move(params), std::move(lk), std::move(u), batch, std::move(dims),
                          rate, std::move(dy), backward);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- s4ndKernels(spec, params, lKernel, rate, Lk[], Gk[] ) [async]: per-axis kernels, grads, derived ----
class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, S4ndConfig cfg, std::vector<float> params, std::vector<int64_t> lk, double rate,
               std::vector<int> Lk, std::vector<std::vector<double>> gk)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        cfg_(std::move(cfg)),
        params_(std::move(params)),
        lk_(std::move(lk)),
        rate_(rate),
        Lk_(std::move(Lk)),
        gk_(std::move(gk)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      const auto off = s4nd::ComputeOffsets(cfg_);
      dparams_.assign(params_.size(), 0.f);
      for (int a = 0; a < cfg_.dim; ++a) {
        s4nd::AxisKernelSpec s;
        s.mode = cfg_.mode;
        s.H = cfg_.d_model;
        s.N = cfg_.d_state;
        s.rows = s4nd::KernelRows(cfg_);
        s.Lk = Lk_[a];
        s.rate = rate_;
        s.bandlimit = cfg_.bandlimit;
        s.l_kernel = lk_[a];
        const auto p = s4nd::AxisParamsOf(cfg_, off, params_.data(), a);
        k_.emplace_back(static_cast<std::size_t>(s.rows) * s.H * s.Lk);
        s4nd::GenerateAxisKernel(s, p, k_.back().data());
        if (!gk_[a].empty())
          s4nd::AxisKernelBackward(s, p, gk_[a].data(), s4nd::AxisGradsOf(cfg_, off, dparams_.data(), a));
        derived_.push_back(s4nd::ComputeAxisKernelDerived(s, p));
      }
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    Napi::Array ks = Napi::Array::New(env, k_.size());
    Napi::Array ds = Napi::Array::New(env, derived_.size());
    for (std::size_t a = 0; a < k_.size(); ++a) {
      ks.Set(a, ToTyped<double>(env, k_[a].data(), k_[a].size()));
      const auto& d = derived_[a];
      Napi::Object o = Napi::Object::New(env);
      auto put = [&](const char* name, const std::vector<double>& v) {
        if (!v.empty()) o.Set(name, ToTyped<double>(env, v.data(), v.size()));
      };
      put("dt", d.dt);
      put("A", d.A);
      put("dtA", d.dtA);
      put("bandlimit_mask", d.bandlimit_mask);
      put("W", d.W);
      put("A_full", d.A_full);
      put("Abar", d.Abar);
      put("Bbar", d.Bbar);
      put("C_eff", d.C_eff);
      if (cfg_.mode == s4nd::KernelMode::kDPLR) o.Set("discrete_L", static_cast<double>(d.discrete_L));
      ds.Set(a, o);
    }
    out.Set("kernels", ks);
    out.Set("derived", ds);
    out.Set("dparams", ToTyped<float>(env, dparams_.data(), dparams_.size()));
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  S4ndConfig cfg_;
  std::vector<float> params_;
  std::vector<int64_t> lk_;
  double rate_;
  std::vector<int> Lk_;
  std::vector<std::vector<double>> gk_;
  std::vector<std::vector<double>> k_;
  std::vector<s4nd::AxisKernelDerived> derived_;
  std::vector<float> dparams_;
};

Napi::Value KernelsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  S4ndConfig cfg = ParseSpec(env, info[0]);
  std::vector<float> params = GetTyped<float>(env, info[1], "params");
  CheckSize(env, params.size(), s4nd::ParamCount(cfg), "params");
  std::vector<int64_t> lk = GetLKernel(env, info[2], cfg.dim);
  if (!info[3].IsNumber()) throw Napi::TypeError::New(env, "s4nd: rate must be a number");
  const double rate = info[3].As<Napi::Number>().DoubleValue();
  std::vector<int> Lk = GetIntArray(env, info[4], "Lk");
  if (static_cast<int>(Lk.size()) != cfg.dim) throw Napi::RangeError::New(env, "s4nd: Lk needs one entry per axis");
  if (!info[5].IsArray()) throw Napi::TypeError::New(env, "s4nd: gk must be an array of Float64Array (or empty)");
  Napi::Array ga = info[5].As<Napi::Array>();
  std::vector<std::vector<double>> gk(cfg.dim);
  const int rows = s4nd::KernelRows(cfg);
  for (int a = 0; a < cfg.dim; ++a) {
    if (cfg.mode == s4nd::KernelMode::kDPLR && lk[a] <= 0)
      throw Napi::RangeError::New(env, "s4nd: DPLR kernels need lKernel > 0 (C must already be C~)");
    if (a < static_cast<int>(ga.Length())) {
      gk[a] = GetTyped<double>(env, ga.Get(a), "gk[a]");
      CheckSize(env, gk[a].size(), static_cast<std::size_t>(rows) * cfg.d_model * Lk[a], "gk[a]");
    }
  }
  auto* w = new KernelWorker(env, std::move(cfg), std::move(params), std::move(lk), rate, std::move(Lk), std::move(gk));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- s4ndBench(spec, batch, dims, warmup, iters, threads) [async] ----
class BenchWorker : public Napi::AsyncWorker {
 public:
  BenchWorker(Napi::Env env, S4ndConfig cfg, int batch, std::vector<int> dims, int warmup, int iters, int threads)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        cfg_(std::move(cfg)),
        batch_(batch),
        dims_(std::move(dims)),
        warmup_(warmup),
        iters_(iters),
        threads_(threads) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      ssm::SetThreads(threads_);
      std::vector<float> params(s4nd::ParamCount(cfg_)), dparams(params.size());
      s4nd::S4ndState state;
      s4nd::Init(cfg_, 1234, params.data(), &state);
      std::size_t nu = static_cast<std::size_t>(batch_) * cfg_.d_model;
      for (int d : dims_) nu *= d;
      const auto shape = s4nd::OutputShape(cfg_, batch_, dims_.data());
      std::size_t ny = 1;
      for (int64_t d : shape) ny *= static_cast<std::size_t>(d);
      std::vector<float> u(nu), du(nu), y(ny), g(ny);
      uint32_t s = 12345;
      auto rnd = [&] {
        s = s * 1664525u + 1013904223u;
        return static_cast<float>(s >> 8) / 16777216.0f - 0.5f;
      };
      for (auto& x : u) x = rnd();
      for (auto& x : g) x = rnd();
      s4nd::S4ndWorkspace ws;
      s4nd::S4ndSaved saved;
      using clk = std::chrono::steady_clock;
      for (int i = 0; i < warmup_; ++i) {
        s4nd::Forward(cfg_, params.data(), &state, u.data(), batch_, dims_.data(), 1.0, y.data(), ws, saved);
        s4nd::Backward(cfg_, params.data(), state, saved, g.data(), du.data(), dparams.data(), ws);
      }
      fwd_.reserve(iters_);  // so that the timed loop itself allocates nothing
      fwd_bwd_.reserve(iters_);
      grow_after_warmup_ = s4nd::GrowEvents();
      ws_bytes_warm_ = ws.CapacityBytes() + saved.CapacityBytes();
      for (int i = 0; i < iters_; ++i) {
        const auto t0 = clk::now();
        s4nd::Forward(cfg_, params.data(), &state, u.data(), batch_, dims_.data(), 1.0, y.data(), ws, saved);
        const auto t1 = clk::now();
        s4nd::Backward(cfg_, params.data(), state, saved, g.data(), du.data(), dparams.data(), ws);
        const auto t2 = clk::now();
        fwd_.push_back(std::chrono::duration<double>(t1 - t0).count());
        fwd_bwd_.push_back(std::chrono::duration<double>(t2 - t0).count());
      }
      grow_end_ = s4nd::GrowEvents();
      ws_bytes_end_ = ws.CapacityBytes() + saved.CapacityBytes();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("fwd", ToTyped<double>(env, fwd_.data(), fwd_.size()));
    out.Set("fwdBwd", ToTyped<double>(env, fwd_bwd_.data(), fwd_bwd_.size()));
    out.Set("growEventsAfterWarmup", static_cast<double>(grow_after_warmup_));
    out.Set("growEventsEnd", static_cast<double>(grow_end_));
    out.Set("workspaceBytesAfterWarmup", static_cast<double>(ws_bytes_warm_));
    out.Set("workspaceBytesEnd", static_cast<double>(ws_bytes_end_));
    out.Set("gemm", s4nd::GemmVariant());
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  S4ndConfig cfg_;
  int batch_;
  std::vector<int> dims_;
  int warmup_, iters_, threads_;
  std::vector<double> fwd_, fwd_bwd_;
  uint64_t grow_after_warmup_ = 0, grow_end_ = 0;
  std::size_t ws_bytes_warm_ = 0, ws_bytes_end_ = 0;
};

Napi::Value BenchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  S4ndConfig cfg = ParseSpec(env, info[0]);
  const int batch = info[1].As<Napi::Number>().Int32Value();
  std::vector<int> dims = GetIntArray(env, info[2], "dims");
  if (static_cast<int>(dims.size()) != cfg.dim) throw Napi::RangeError::New(env, "s4nd: dims needs one entry per axis");
  const int warmup = info[3].As<Napi::Number>().Int32Value();
  const int iters = info[4].As<Napi::Number>().Int32Value();
  const int threads = info[5].As<Napi::Number>().Int32Value();
  auto* w = new BenchWorker(env, std::move(cfg), batch, std::move(dims), warmup, iters, threads);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// ---- fftReal(x: Float64Array, dims: number[], inverse: boolean, float32?: boolean) [sync]: N-D real FFT ----
// forward: x has prod(dims) reals -> interleaved complex (dims with last -> last/2+1); inverse: the reverse,
// unnormalised. float32 = true runs the float plans (the SIMD path used by the layer) on x rounded to float.
template <typename T>
std::vector<double> RealNd(const std::vector<int>& dims, const std::vector<double>& x, bool inverse, std::size_t n,
                           std::size_t nc) {
  std::vector<T> in(x.begin(), x.end());
  std::vector<T> out(inverse ? n : 2 * nc);
  if (!inverse) {
    fft::RealForwardNd<T>(dims, in.data(), reinterpret_cast<fft::Cx<T>*>(out.data()));
  } else {
    fft::RealInverseNd<T>(dims, reinterpret_cast<const fft::Cx<T>*>(in.data()), out.data());
  }
  return std::vector<double>(out.begin(), out.end());
}

Napi::Value FftRealJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<double> x = GetTyped<double>(env, info[0], "x");
  std::vector<int> dims = GetIntArray(env, info[1], "dims");
  if (dims.empty()) throw Napi::RangeError::New(env, "fft: dims must not be empty");
  const bool inverse = info[2].ToBoolean().Value();
  const bool f32 = info.Length() > 3 && info[3].ToBoolean().Value();
  std::size_t n = 1;
  for (int d : dims) {
    if (d < 1) throw Napi::RangeError::New(env, "fft: every length must be >= 1");
    n *= d;
  }
  const std::size_t nc = n / dims.back() * (dims.back() / 2 + 1);
  CheckSize(env, x.size(), inverse ? 2 * nc : n, "x");
  const std::vector<double> out =
      f32 ? RealNd<float>(dims, x, inverse, n, nc) : RealNd<double>(dims, x, inverse, n, nc);
  return ToTyped<double>(env, out.data(), out.size());
}

// ---- fftComplex(x: Float64Array interleaved, inverse) [sync] ----
Napi::Value FftComplexJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<double> x = GetTyped<double>(env, info[0], "x");
  if (x.size() % 2 != 0 || x.empty()) throw Napi::RangeError::New(env, "fft: x must hold interleaved (re, im) pairs");
  const int n = static_cast<int>(x.size() / 2);
  std::vector<double> out(x.size());
  fft::GetComplexPlan<double>(n).Execute(reinterpret_cast<const fft::Cx<double>*>(x.data()),
                                         reinterpret_cast<fft::Cx<double>*>(out.data()), info[1].ToBoolean().Value());
  return ToTyped<double>(env, out.data(), out.size());
}

// ---- setThreads(n) [sync], info() [sync] ----
Napi::Value SetThreadsJs(const Napi::CallbackInfo& info) {
  ssm::SetThreads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}
Napi::Value InfoJs(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("gemm", s4nd::GemmVariant());
  o.Set("threads", ssm::GlobalPool().threads());
  o.Set("directMaxLength", s4nd::kDirectMaxLength);
  o.Set("growEvents", static_cast<double>(s4nd::GrowEvents()));
  return o;
}

}  // namespace

void RegisterS4nd(Napi::Env env, Napi::Object exports) {
  Napi::Object s = Napi::Object::New(env);
  s.Set("paramLayout", Napi::Function::New(env, ParamLayoutJs, "paramLayout"));
  s.Set("init", Napi::Function::New(env, InitJs, "init"));
  s.Set("run", Napi::Function::New(env, RunJs, "run"));
  s.Set("kernels", Napi::Function::New(env, KernelsJs, "kernels"));
  s.Set("bench", Napi::Function::New(env, BenchJs, "bench"));
  s.Set("fftReal", Napi::Function::New(env, FftRealJs, "fftReal"));
  s.Set("fftComplex", Napi::Function::New(env, FftComplexJs, "fftComplex"));
  s.Set("setThreads", Napi::Function::New(env, SetThreadsJs, "setThreads"));
  s.Set("info", Napi::Function::New(env, InfoJs, "info"));
  exports.Set("s4nd", s);
}

}  // namespace ssm::binding
