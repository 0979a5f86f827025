// The `s4nd` layer type: wraps the S4ND module (native/src/s4nd/s4nd_layer.h) as one autograd node.
// Input (B, H, L_0, ..., L_{D-1}) -> output (B, H, L...) (or (B, C*H, L...) when linear with C > 1).
// All the layer's named tensors live in one flat parameter storage in the module's ParamLayout order; SSM
// tensors (flagged `ssm`) go to the optimizer's ssm group.
#include <memory>

#include "graph/model.h"
#include "ops/common.h"

#if __has_include("s4nd/s4nd_workspace.h")
#include "s4nd/s4nd_layer.h"
#include "s4nd/s4nd_workspace.h"

namespace ssm::graph {

namespace {

s4nd::S4ndConfig ConfigFromSpec(const Json& spec) {
  s4nd::S4ndConfig cfg;
  for (const Json& l : spec.at("l_max").arr()) cfg.l_max.push_back(static_cast<int>(l.num()));
  cfg.dim = static_cast<int>(cfg.l_max.size());
  cfg.d_model = static_cast<int>(spec.at("d_model").num());
  cfg.d_state = static_cast<int>(spec.num_or("d_state", 64));
  cfg.channels = static_cast<int>(spec.num_or("channels", 1));
  cfg.bidirectional = spec.bool_or("bidirectional", true);
  const std::string mode = spec.str_or("mode", "s4d");
  cfg.mode = mode == "dplr" ? s4nd::KernelMode::kDPLR : s4nd::KernelMode::kS4D;
  const std::string init = spec.str_or("init", mode == "dplr" ? "legs" : "diag-lin");
  cfg.init = init == "legs" ? s4nd::S4dInit::kLegs : (init == "diag-inv" ? s4nd::S4dInit::kDiagInv : s4nd::S4dInit::kDiagLin);
  cfg.bandlimit = spec.num_or("bandlimit", 0.0);
  cfg.linear = spec.bool_or("linear", false);
  cfg.dt_min = spec.num_or("dt_min", 0.001);
  cfg.dt_max = spec.num_or("dt_max", 0.1);
  const std::string conv = spec.str_or("conv", "auto");
  cfg.conv = conv == "fft" ? s4nd::ConvAlgo::kFft : (conv == "direct" ? s4nd::ConvAlgo::kDirect : s4nd::ConvAlgo::kAuto);
  return cfg;
}

class S4ndNode : public Layer {
 public:
  s4nd::S4ndConfig cfg;
  Var* storage = nullptr;
  s4nd::S4ndState state;
  std::unique_ptr<s4nd::S4ndWorkspace> ws = std::make_unique<s4nd::S4ndWorkspace>();
  std::unique_ptr<s4nd::S4ndSaved> saved = std::make_unique<s4nd::S4ndSaved>();

  Var* Forward(Tape& t, Var* x, RunContext& ctx) override {
    const Shape& xs = x->value.shape();
    if (xs.rank != cfg.dim + 2 || xs[1] != cfg.d_model) {
      ops::ShapeError("s4nd", "expected input (B, " + std::to_string(cfg.d_model) + ", " + std::to_string(cfg.dim) +
                                  " spatial dims), got " + xs.str());
    }
    int L[3] = {1, 1, 1};
    for (int a = 0; a < cfg.dim; ++a) L[a] = static_cast<int>(xs[2 + a]);
    const int B = static_cast<int>(xs[0]);
    const Shape ys = Shape::FromVector(s4nd::OutputShape(cfg, B, L));
    Tensor y(ys);  // (B, H or C*H, L...)
    const double rate = ctx.rate;
    s4nd::Forward(cfg, storage->value.data(), &state, x->value.data(), B, L, rate, y.data(), *ws, *saved);
    Var* yv = ops::MakeOut(t, std::move(y), {x, storage});
    if (yv->requires_grad) {
      t.Record([this, &t, x, yv] {
        Tensor du(x->value.shape());  // (B, H, L...), overwritten by the module
        s4nd::Backward(cfg, storage->value.data(), state, *saved, yv->grad.data(), du.data(), t.Grad(storage).data(), *ws);
        if (x->requires_grad) {
          float* gx = t.Grad(x).data();
          const float* d = du.data();
          for (int64_t i = 0; i < du.numel(); ++i) gx[i] += d[i];
        }
      });
    }
    return yv;
  }
};

}  // namespace

std::unique_ptr<Layer> BuildS4ndLayer(const Json& spec, const std::string& prefix, Model& model, uint64_t seed) {
  auto node = std::make_unique<S4ndNode>();
  node->cfg = ConfigFromSpec(spec);
  const std::string err = s4nd::ValidateConfig(node->cfg);
  if (!err.empty()) throw std::invalid_argument("s4nd layer " + prefix + ": " + err);
  const std::size_t count = s4nd::ParamCount(node->cfg);
  node->storage = model.NewStorage(static_cast<int64_t>(count));
  s4nd::Init(node->cfg, seed, node->storage->value.data(), &node->state);
  for (const s4nd::ParamInfo& info : s4nd::ParamLayout(node->cfg)) {
    const bool bias_like = info.name.size() >= 5 && info.name.compare(info.name.size() - 5, 5, ".bias") == 0;
    const optim::Group g = info.ssm ? optim::Group::kSsm : (bias_like ? optim::Group::kNoDecay : optim::Group::kDecay);
    model.AddParam(prefix + info.name, node->storage, info.offset, Shape::FromVector(info.shape), g);
  }
  model.AddState(prefix + "l_kernel", &node->state.l_kernel);
  return node;
}

}  // namespace ssm::graph

#else  // the S4ND module is not in this checkout yet

namespace ssm::graph {
std::unique_ptr<Layer> BuildS4ndLayer(const Json&, const std::string& prefix, Model&, uint64_t) {
  throw std::invalid_argument("s4nd layer " + prefix + ": the S4ND module is not part of this build");
}
}  // namespace ssm::graph

#endif
