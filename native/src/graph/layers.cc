// Layer types of the model graph (everything except s4nd, which is in s4nd_node.cc).
#include <cmath>

#include "core/rng.h"
#include "graph/model.h"
#include "ops/ops.h"

namespace ssm::graph {

namespace {

int Int(const Json& spec, const char* key, int def) { return static_cast<int>(spec.num_or(key, def)); }

// PyTorch's default for conv/linear: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void InitUniform(Var* v, int64_t fan_in, Rng& rng) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  float* p = v->value.data();
  for (int64_t i = 0; i < v->value.numel(); ++i) p[i] = rng.uniform(-bound, bound);
}

class Sequential : public Layer {
 public:
  std::vector<std::unique_ptr<Layer>> layers;
  Var* Forward(Tape& t, Var* x, RunContext& ctx) override {
    for (auto& l : layers) x = l->Forward(t, x, ctx);
    return x;
  }
};

class Residual : public Layer {
 public:
  Sequential body;
  Var* Forward(Tape& t, Var* x, RunContext& ctx) override { return ops::Add(t, x, body.Forward(t, x, ctx)); }
};

class Conv : public Layer {
 public:
  Var* w = nullptr;
  Var* b = nullptr;
  std::vector<int> stride, padding;
  Var* Forward(Tape& t, Var* x, RunContext&) override { return ops::Conv(t, x, w, b, stride, padding); }
};

class ConvTranspose : public Layer {
 public:
  Var* w = nullptr;
  Var* b = nullptr;
  int stride = 2, padding = 0;
  Var* Forward(Tape& t, Var* x, RunContext&) override { return ops::ConvTranspose2d(t, x, w, b, stride, padding); }
};

class Linear : public Layer {
 public:
  Var* w = nullptr;
  Var* b = nullptr;
  Var* Forward(Tape& t, Var* x, RunContext&) override { return ops::Linear(t, x, w, b); }
};

class LayerNorm : public Layer {
 public:
  Var* gamma = nullptr;
  Var* beta = nullptr;
  float eps = 1e-5f;
  Var* Forward(Tape& t, Var* x, RunContext&) override { return ops::LayerNorm(t, x, gamma, beta, true, eps); }
};

class Activation : public Layer {
 public:
  std::string kind;
  explicit Activation(std::string k) : kind(std::move(k)) {}
  Var* Forward(Tape& t, Var* x, RunContext&) override {
    if (kind == "gelu") return ops::Gelu(t, x);
    if (kind == "silu") return ops::Silu(t, x);
    if (kind == "relu") return ops::Relu(t, x);
    if (kind == "sigmoid") return ops::Sigmoid(t, x);
    return ops::Glu(t, x);
  }
};

class Dropout : public Layer {
 public:
  float p = 0.0f;
  Var* Forward(Tape& t, Var* x, RunContext&) override { return ops::Dropout(t, x, p); }
};

class Pool : public Layer {
 public:
  bool is_max = false;
  int kernel = 2, stride = 2;
  Var* Forward(Tape& t, Var* x, RunContext&) override {
    return is_max ? ops::MaxPool(t, x, kernel, stride) : ops::AvgPool(t, x, kernel, stride);
  }
};

class GlobalAvgPool : public Layer {
 public:
  Var* Forward(Tape& t, Var* x, RunContext&) override { return ops::GlobalAvgPool(t, x); }
};

class Flatten : public Layer {
 public:
  Var* Forward(Tape& t, Var* x, RunContext&) override {
    const int64_t B = x->value.dim(0);
    return ops::Reshape(t, x, Shape{B, x->value.numel() / B});
  }
};

class Upsample : public Layer {
 public:
  int scale = 2;
  std::string mode = "nearest";  // nearest (2-D or 3-D), bilinear (2-D only) or trilinear (3-D only)
  Var* Forward(Tape& t, Var* x, RunContext&) override {
    const int want = mode == "bilinear" ? 4 : mode == "trilinear" ? 5 : 0;
    if (want && x->value.rank() != want)
      throw std::invalid_argument("upsample: mode '" + mode + "' does not take input " + x->value.shape().str());
    return ops::Upsample(t, x, scale, mode != "nearest");
  }
};

class Save : public Layer {
 public:
  std::string name;
  Var* Forward(Tape&, Var* x, RunContext& ctx) override {
    ctx.saved[name] = x;
    return x;
  }
};

class ConcatSaved : public Layer {
 public:
  std::string with;
  Var* Forward(Tape& t, Var* x, RunContext& ctx) override {
    auto it = ctx.saved.find(with);
    if (it == ctx.saved.end()) throw std::invalid_argument("concat: no saved activation named '" + with + "'");
    return ops::Concat(t, {x, it->second}, 1);
  }
};

std::unique_ptr<Sequential> BuildSequential(const Json& layers, const std::string& prefix, Model& model,
                                            uint64_t seed) {
  auto seq = std::make_unique<Sequential>();
  const auto& arr = layers.arr();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    seq->layers.push_back(BuildLayer(arr[i], prefix + std::to_string(i) + ".", model, seed * 1000003ull + i + 1));
  }
  return seq;
}

}  // namespace

std::unique_ptr<Layer> BuildLayer(const Json& spec, const std::string& prefix, Model& model, uint64_t seed) {
  const std::string type = spec.at("type").str();
  Rng rng(seed);
  if (type == "conv2d" || type == "conv3d") {
    const int nsp = type == "conv2d" ? 2 : 3;
    auto l = std::make_unique<Conv>();
    const int64_t in = static_cast<int64_t>(spec.at("in").num());
    const int64_t out = static_cast<int64_t>(spec.at("out").num());
    const int64_t k = Int(spec, "kernel", 3);
    l->stride.assign(nsp, Int(spec, "stride", 1));
    l->padding.assign(nsp, Int(spec, "padding", 0));
    const Shape ws = nsp == 2 ? Shape{out, in, k, k} : Shape{out, in, k, k, k};
    l->w = model.NewStorage(ws.numel());
    l->w->value = l->w->value.view(ws);
    const int64_t fan_in = ws.numel() / out;
    InitUniform(l->w, fan_in, rng);
    model.AddParam(prefix + "weight", l->w, 0, ws, optim::Group::kDecay);
    if (spec.bool_or("bias", true)) {
      l->b = model.NewStorage(out);
      InitUniform(l->b, fan_in, rng);
      model.AddParam(prefix + "bias", l->b, 0, Shape{out}, optim::Group::kNoDecay);
    }
    return l;
  }
  if (type == "conv_transpose2d") {
    auto l = std::make_unique<ConvTranspose>();
    const int64_t in = static_cast<int64_t>(spec.at("in").num());
    const int64_t out = static_cast<int64_t>(spec.at("out").num());
    const int64_t k = Int(spec, "kernel", 2);
    l->stride = Int(spec, "stride", 2);
    l->padding = Int(spec, "padding", 0);
    const Shape ws{in, out, k, k};  // PyTorch layout (in, out, k, k); fan_in = out * k * k as PyTorch computes it
    l->w = model.NewStorage(ws.numel());
    l->w->value = l->w->value.view(ws);
    InitUniform(l->w, out * k * k, rng);
    model.AddParam(prefix + "weight", l->w, 0, ws, optim::Group::kDecay);
    if (spec.bool_or("bias", true)) {
      l->b = model.NewStorage(out);
      InitUniform(l->b, out * k * k, rng);
      model.AddParam(prefix + "bias", l->b, 0, Shape{out}, optim::Group::kNoDecay);
    }
    return l;
  }
  if (type == "linear") {
    auto l = std::make_unique<Linear>();
    const int64_t in = static_cast<int64_t>(spec.at("in").num());
    const int64_t out = static_cast<int64_t>(spec.at("out").num());
    l->w = model.NewStorage(out * in);
    l->w->value = l->w->value.view(Shape{out, in});
    InitUniform(l->w, in, rng);
    model.AddParam(prefix + "weight", l->w, 0, Shape{out, in}, optim::Group::kDecay);
    if (spec.bool_or("bias", true)) {
      l->b = model.NewStorage(out);
      InitUniform(l->b, in, rng);
      model.AddParam(prefix + "bias", l->b, 0, Shape{out}, optim::Group::kNoDecay);
    }
    return l;
  }
  if (type == "layernorm") {
    auto l = std::make_unique<LayerNorm>();
    const int64_t c = static_cast<int64_t>(spec.at("channels").num());
    l->eps = static_cast<float>(spec.num_or("eps", 1e-5));
    l->gamma = model.NewStorage(c);
    l->gamma->value.fill(1.0f);
    l->beta = model.NewStorage(c);
    l->beta->value.fill(0.0f);
    model.AddParam(prefix + "weight", l->gamma, 0, Shape{c}, optim::Group::kNoDecay);
    model.AddParam(prefix + "bias", l->beta, 0, Shape{c}, optim::Group::kNoDecay);
    return l;
  }
  if (type == "gelu" || type == "silu" || type == "relu" || type == "sigmoid" || type == "glu") {
    return std::make_unique<Activation>(type);
  }
  if (type == "dropout") {
    auto l = std::make_unique<Dropout>();
    l->p = static_cast<float>(spec.num_or("p", 0.1));
    return l;
  }
  if (type == "avg_pool" || type == "max_pool") {
    auto l = std::make_unique<Pool>();
    l->is_max = type == "max_pool";
    l->kernel = Int(spec, "kernel", 2);
    l->stride = Int(spec, "stride", l->kernel);
    return l;
  }
  if (type == "global_avg_pool") return std::make_unique<GlobalAvgPool>();
  if (type == "flatten") return std::make_unique<Flatten>();
  if (type == "upsample") {
    auto l = std::make_unique<Upsample>();
    l->scale = Int(spec, "scale", 2);
    l->mode = spec.str_or("mode", "nearest");
    if (l->mode != "nearest" && l->mode != "bilinear" && l->mode != "trilinear")
      throw std::invalid_argument("upsample: unknown mode '" + l->mode + "' at " + prefix);
    return l;
  }
  if (type == "residual") {
    auto l = std::make_unique<Residual>();
    l->body.layers = std::move(BuildSequential(spec.at("layers"), prefix + "layers.", model, seed)->layers);
    return l;
  }
  if (type == "save") {
    auto l = std::make_unique<Save>();
    l->name = spec.at("name").str();
    return l;
  }
  if (type == "concat") {
    auto l = std::make_unique<ConcatSaved>();
    l->with = spec.at("with").str();
    return l;
  }
  if (type == "s4nd") return BuildS4ndLayer(spec, prefix, model, seed);
  if (type == "s4nd_time") return BuildS4ndTimeLayer(spec, prefix, model, seed);
  throw std::invalid_argument("unknown layer type '" + type + "' at " + prefix);
}

std::unique_ptr<Layer> BuildRoot(const Json& layers, Model& model, uint64_t seed) {
  return BuildSequential(layers, "layers.", model, seed);
}

}  // namespace ssm::graph
