// opForwardBackward: runs one op on given inputs and back-propagates a given output gradient. Used by the
// gradient-check tests (test/engine/gradcheck.test.ts) to test every op through the same code the graph uses.
#include <napi.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/json.h"
#include "core/thread_pool.h"
#include "graph/s4nd_node.h"
#include "ops/ops.h"
#include "ops/s4nd_time.h"

namespace ssm::binding {

namespace {

std::vector<int> IntList(const Json& a, const char* key, std::vector<int> def) {
  if (!a.has(key)) return def;
  std::vector<int> out;
  for (const Json& v : a.at(key).arr()) out.push_back(static_cast<int>(v.num()));
  return out;
}

// Applies `op` to the input Vars. targets (non-differentiable) for losses are inputs[1].
// `keep` holds per-call state that must outlive the backward pass (the S4ND instance).
Var* RunOp(Tape& t, const std::string& op, std::vector<Var*>& in, const Json& a,
           std::unique_ptr<graph::S4ndInstance>& keep) {
  auto need = [&](std::size_t n) {
    if (in.size() < n) throw std::invalid_argument(op + " needs " + std::to_string(n) + " inputs");
  };
  auto opt = [&](std::size_t i) -> Var* { return in.size() > i ? in[i] : nullptr; };
  if (op == "linear") return need(2), ops::Linear(t, in[0], in[1], opt(2));
  if (op == "matmul") return need(2), ops::MatMul(t, in[0], in[1]);
  if (op == "conv") {
    need(2);
    const int nsp = in[0]->value.rank() - 2;
    return ops::Conv(t, in[0], in[1], opt(2), IntList(a, "stride", std::vector<int>(nsp, 1)),
                     IntList(a, "padding", std::vector<int>(nsp, 0)));
  }
  if (op == "conv_transpose2d") {
    need(2);
    return ops::ConvTranspose2d(t, in[0], in[1], opt(2), static_cast<int>(a.num_or("stride", 1)),
                                static_cast<int>(a.num_or("padding", 0)));
  }
  if (op == "upsample")
    return need(1),
           ops::Upsample(t, in[0], static_cast<int>(a.num_or("scale", 2)), a.str_or("mode", "nearest") != "nearest");
  if (op == "layernorm") {
    need(3);
    return ops::LayerNorm(t, in[0], in[1], in[2], a.bool_or("channels_first", true),
                          static_cast<float>(a.num_or("eps", 1e-5)));
  }
  if (op == "gelu") return need(1), ops::Gelu(t, in[0]);
  if (op == "silu") return need(1), ops::Silu(t, in[0]);
  if (op == "relu") return need(1), ops::Relu(t, in[0]);
  if (op == "sigmoid") return need(1), ops::Sigmoid(t, in[0]);
  if (op == "glu") return need(1), ops::Glu(t, in[0]);
  if (op == "dropout") return need(1), ops::Dropout(t, in[0], static_cast<float>(a.num_or("p", 0.5)));
  if (op == "add") return need(2), ops::Add(t, in[0], in[1]);
  if (op == "mul") return need(2), ops::Mul(t, in[0], in[1]);
  if (op == "concat") return need(1), ops::Concat(t, in, static_cast<int>(a.num_or("dim", 1)));
  if (op == "reshape") {
    need(1);
    std::vector<int64_t> s;
    for (int v : IntList(a, "shape", {})) s.push_back(v);
    return ops::Reshape(t, in[0], Shape::FromVector(s));
  }
  if (op == "permute") return need(1), ops::Permute(t, in[0], IntList(a, "perm", {}));
  if (op == "avg_pool")
    return need(1),
           ops::AvgPool(t, in[0], static_cast<int>(a.num_or("kernel", 2)), static_cast<int>(a.num_or("stride", 2)));
  if (op == "max_pool")
    return need(1),
           ops::MaxPool(t, in[0], static_cast<int>(a.num_or("kernel", 2)), static_cast<int>(a.num_or("stride", 2)));
  if (op == "global_avg_pool") return need(1), ops::GlobalAvgPool(t, in[0]);
  if (op == "cross_entropy")
    return need(2), ops::CrossEntropy(t, in[0], in[1]->value, static_cast<float>(a.num_or("label_smoothing", 0.0)));
  if (op == "bce_with_logits") return need(2), ops::BceWithLogits(t, in[0], in[1]->value);
  if (op == "dice") return need(2), ops::SoftDice(t, in[0], in[1]->value, static_cast<float>(a.num_or("smooth", 1.0)));
  if (op == "l1") return need(2), ops::L1Loss(t, in[0], in[1]->value);
  if (op == "mse") return need(2), ops::MseLoss(t, in[0], in[1]->value);
  if (op == "s4nd") {  // inputs x (B, H, L...), flat params; attrs: the normalised s4nd layer options + rate
    need(2);
    keep = graph::MakeS4ndInstance(a, "(op test)");
    return graph::S4ndApply(t, *keep, in[0], in[1], a.num_or("rate", 1.0));
  }
  if (op == "s4nd_time") {  // inputs x (B, 2C, S...), flat params, times (B) (not differentiated); attrs: d_state
    need(3);
    const std::vector<double> times(in[2]->value.data(), in[2]->value.data() + in[2]->value.numel());
    return ops::S4ndTime(t, in[0], in[1], times, static_cast<int64_t>(a.num_or("d_state", 16)));
  }
  throw std::invalid_argument("unknown op '" + op + "'");
}

bool IsLoss(const std::string& op) {
  return op == "cross_entropy" || op == "bce_with_logits" || op == "dice" || op == "l1" || op == "mse";
}

// opForwardBackward(op, inputs: Float32Array[], shapes: number[][], attrsJson, upstream: Float32Array | null,
//                   options: {training?: boolean, seed?: number})
//   -> {output: Float32Array, shape: number[], grads: (Float32Array | null)[]}
// upstream null: forward only (grads empty). Loss ops never differentiate their targets (input 1).
Napi::Value OpForwardBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    const std::string op = info[0].As<Napi::String>().Utf8Value();
    Napi::Array inputs = info[1].As<Napi::Array>();
    Napi::Array shapes = info[2].As<Napi::Array>();
    const Json attrs = Json::Parse(info[3].As<Napi::String>().Utf8Value());
    const bool backward = info[4].IsTypedArray();
    Tape t;
    t.recording = backward;
    t.training = attrs.bool_or("training", true);
    t.seed = static_cast<uint64_t>(attrs.num_or("seed", 0));
    std::vector<Var*> in;
    for (uint32_t i = 0; i < inputs.Length(); ++i) {
      Napi::Float32Array a = inputs.Get(i).As<Napi::Float32Array>();
      Napi::Array sa = shapes.Get(i).As<Napi::Array>();
      std::vector<int64_t> dims;
      for (uint32_t k = 0; k < sa.Length(); ++k)
        dims.push_back(static_cast<int64_t>(sa.Get(k).As<Napi::Number>().DoubleValue()));
      const Shape s = Shape::FromVector(dims);
      if (static_cast<int64_t>(a.ElementLength()) != s.numel())
        throw std::invalid_argument("input " + std::to_string(i) + " length does not match its shape");
      Tensor tv(s);
      std::memcpy(tv.data(), a.Data(), sizeof(float) * s.numel());
      in.push_back(t.Make(std::move(tv), !(IsLoss(op) && i == 1)));
    }
    std::unique_ptr<graph::S4ndInstance> keep;
    Var* y = RunOp(t, op, in, attrs, keep);
    Napi::Object out = Napi::Object::New(env);
    Napi::Float32Array yo = Napi::Float32Array::New(env, static_cast<std::size_t>(y->value.numel()));
    std::memcpy(yo.Data(), y->value.data(), sizeof(float) * y->value.numel());
    out.Set("output", yo);
    Napi::Array ys = Napi::Array::New(env);
    for (int i = 0; i < y->value.rank(); ++i) ys.Set(static_cast<uint32_t>(i), static_cast<double>(y->value.dim(i)));
    out.Set("shape", ys);
    Napi::Array grads = Napi::Array::New(env);
    if (backward) {
      Napi::Float32Array up = info[4].As<Napi::Float32Array>();
      if (static_cast<int64_t>(up.ElementLength()) != y->value.numel())
        throw std::invalid_argument("upstream gradient length does not match the output");
      Tensor seed(y->value.shape());
      std::memcpy(seed.data(), up.Data(), sizeof(float) * seed.numel());
      if (y->requires_grad) t.Backward(y, &seed);
      for (uint32_t i = 0; i < in.size(); ++i) {
        if (!in[i]->requires_grad) {
          grads.Set(i, env.Null());
          continue;
        }
        Tensor& g = t.Grad(in[i]);
        Napi::Float32Array ga = Napi::Float32Array::New(env, static_cast<std::size_t>(g.numel()));
        std::memcpy(ga.Data(), g.data(), sizeof(float) * g.numel());
        grads.Set(i, ga);
      }
    }
    out.Set("grads", grads);
    return out;
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("opForwardBackward: ") + e.what());
  }
}

// poolSelfTest() -> {caught: string, threadsAfter: number}: a parallel_for whose chunks throw (on the pool
// threads as well as the caller) must rethrow on the caller, and the pool must still run work in parallel after.
Napi::Value PoolSelfTest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string caught;
  try {
    GlobalPool().parallel_for(1 << 12, 1, [](std::size_t b, std::size_t) {
      if (b > 0) throw std::runtime_error("chunk failed");
    });
  } catch (const std::exception& e) {
    caught = e.what();
  }
  std::mutex mu;
  std::set<std::thread::id> ids;
  GlobalPool().parallel_for(1 << 12, 1, [&](std::size_t, std::size_t) {
    volatile double x = 0;
    for (int i = 0; i < 3000000; ++i) x = x + i;  // ~3 ms per chunk: long enough for every worker to wake
    std::lock_guard<std::mutex> lock(mu);
    ids.insert(std::this_thread::get_id());
  });
  Napi::Object o = Napi::Object::New(env);
  o.Set("caught", caught);
  o.Set("threadsAfter", static_cast<double>(ids.size()));
  return o;
}

}  // namespace

void RegisterOpTest(Napi::Env env, Napi::Object exports) {
  exports.Set("opForwardBackward", Napi::Function::New(env, OpForwardBackward, "opForwardBackward"));
  exports.Set("poolSelfTest", Napi::Function::New(env, PoolSelfTest, "poolSelfTest"));
}

}  // namespace ssm::binding
