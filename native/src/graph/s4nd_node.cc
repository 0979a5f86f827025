// The `s4nd` layer type: wraps the S4ND module (native/src/s4nd/s4nd_layer.h) as one autograd node.
// All the layer's named tensors live in one flat parameter storage in the module's ParamLayout order; tensors
// the module flags `ssm` (inv_dt, A_real, A_imag, B, P) go to the optimizer's ssm group.
#include "graph/s4nd_node.h"

#include "graph/model.h"
#include "ops/common.h"

namespace ssm::graph {

std::unique_ptr<S4ndInstance> MakeS4ndInstance(const Json& spec, const std::string& where) {
  auto inst = std::make_unique<S4ndInstance>();
  s4nd::S4ndConfig& cfg = inst->cfg;
  for (const Json& l : spec.at("l_max").arr()) cfg.l_max.push_back(static_cast<int>(l.num()));
  cfg.dim = static_cast<int>(cfg.l_max.size());
  cfg.d_model = static_cast<int>(spec.at("d_model").num());
  cfg.d_state = static_cast<int>(spec.num_or("d_state", 64));
  cfg.channels = static_cast<int>(spec.num_or("channels", 1));
  cfg.bidirectional = spec.bool_or("bidirectional", true);
  const std::string mode = spec.str_or("mode", "s4d");
  cfg.mode = mode == "dplr" ? s4nd::KernelMode::kDPLR : s4nd::KernelMode::kS4D;
  const std::string init = spec.str_or("init", mode == "dplr" ? "legs" : "diag-lin");
  cfg.init =
      init == "legs" ? s4nd::S4dInit::kLegs : (init == "diag-inv" ? s4nd::S4dInit::kDiagInv : s4nd::S4dInit::kDiagLin);
  cfg.bandlimit = spec.num_or("bandlimit", 0.0);
  cfg.linear = spec.bool_or("linear", false);
  cfg.dt_min = spec.num_or("dt_min", 0.001);
  cfg.dt_max = spec.num_or("dt_max", 0.1);
  const std::string conv = spec.str_or("conv", "auto");
  cfg.conv =
      conv == "fft" ? s4nd::ConvAlgo::kFft : (conv == "direct" ? s4nd::ConvAlgo::kDirect : s4nd::ConvAlgo::kAuto);
  const std::string err = s4nd::ValidateConfig(cfg);
  if (!err.empty()) throw std::invalid_argument("s4nd layer " + where + ": " + err);
  inst->state.l_kernel.assign(cfg.dim, 0);
  return inst;
}

Var* S4ndApply(Tape& t, S4ndInstance& inst, Var* x, Var* params, double rate) {
  const s4nd::S4ndConfig& cfg = inst.cfg;
  const Shape& xs = x->value.shape();
  if (xs.rank != cfg.dim + 2 || xs[1] != cfg.d_model) {
    ops::ShapeError("s4nd", "expected input (B, " + std::to_string(cfg.d_model) + ") followed by " +
                                std::to_string(cfg.dim) + " spatial dims, got " + xs.str());
  }
  if (params->value.numel() != static_cast<int64_t>(s4nd::ParamCount(cfg))) {
    ops::ShapeError("s4nd", "parameter buffer has " + std::to_string(params->value.numel()) +
                                " floats, the layer needs " + std::to_string(s4nd::ParamCount(cfg)));
  }
  if (!(rate > 0.0)) ops::ShapeError("s4nd", "rate must be positive");
  int L[3] = {1, 1, 1};
  for (int a = 0; a < cfg.dim; ++a) L[a] = static_cast<int>(xs[2 + a]);
  const int B = static_cast<int>(xs[0]);
  t.CheckCancelled();
  Tensor y(Shape::FromVector(s4nd::OutputShape(cfg, B, L)));  // (B, H or C*H, L...)
  s4nd::Forward(cfg, params->value.data(), &inst.state, x->value.data(), B, L, rate, y.data(), inst.ws, inst.saved);
  Var* yv = ops::MakeOut(t, std::move(y), {x, params});
  if (yv->requires_grad) {
    S4ndInstance* ip = &inst;
    t.Record([ip, &t, x, params, yv] {
      Tensor du(x->value.shape());  // (B, H, L...), overwritten by the module
      // Parameter gradients accumulate straight into the storage's gradient.
      s4nd::Backward(ip->cfg, params->value.data(), ip->state, ip->saved, yv->grad.data(), du.data(),
                     t.Grad(params).data(), ip->ws);
      if (x->requires_grad) {
        float* gx = t.Grad(x).data();
        const float* d = du.data();
        for (int64_t i = 0; i < du.numel(); ++i) gx[i] += d[i];
      }
    });
  }
  return yv;
}

namespace {

class S4ndLayer : public Layer {
 public:
  std::unique_ptr<S4ndInstance> inst;
  Var* storage = nullptr;
  Var* Forward(Tape& t, Var* x, RunContext& ctx) override { return S4ndApply(t, *inst, x, storage, ctx.rate); }
};

}  // namespace

std::unique_ptr<Layer> BuildS4ndLayer(const Json& spec, const std::string& prefix, Model& model, uint64_t seed) {
  auto layer = std::make_unique<S4ndLayer>();
  layer->inst = MakeS4ndInstance(spec, prefix);
  const s4nd::S4ndConfig& cfg = layer->inst->cfg;
  layer->storage = model.NewStorage(static_cast<int64_t>(s4nd::ParamCount(cfg)));
  s4nd::Init(cfg, seed, layer->storage->value.data(), &layer->inst->state);
  for (const s4nd::ParamInfo& info : s4nd::ParamLayout(cfg)) {
    const bool bias_like = info.name.size() >= 5 && info.name.compare(info.name.size() - 5, 5, ".bias") == 0;
    const optim::Group g = info.ssm ? optim::Group::kSsm : (bias_like ? optim::Group::kNoDecay : optim::Group::kDecay);
    model.AddParam(prefix + info.name, layer->storage, info.offset, Shape::FromVector(info.shape), g);
  }
  model.AddState(prefix + "l_kernel", &layer->inst->state.l_kernel);
  return layer;
}

}  // namespace ssm::graph
