#include "graph/model.h"

#include <cmath>
#include <cstring>

#include "ops/ops.h"

namespace ssm::graph {

std::unique_ptr<Layer> BuildRoot(const Json& layers, Model& model, uint64_t seed);  // layers.cc

namespace {

// Clears the tape however the call ends (normal return, shape error, cancellation).
struct TapeGuard {
  Tape& t;
  ~TapeGuard() {
    t.Clear();
    t.cancel = nullptr;
  }
};

}  // namespace

Model::Model(const Json& spec, uint64_t seed) : spec_(spec), spec_text_(spec.Dump()), seed_(seed) {
  root_ = BuildRoot(spec.at("layers"), *this, seed);
  if (spec.has("loss")) {
    const Json& l = spec.at("loss");
    loss_.type = l.at("type").str();
    loss_.label_smoothing = static_cast<float>(l.num_or("label_smoothing", 0.0));
    loss_.smooth = static_cast<float>(l.num_or("smooth", 1.0));
  }
  optim::AdamWConfig cfg;
  if (spec.has("optimizer")) {
    const Json& o = spec.at("optimizer");
    cfg.weight_decay = static_cast<float>(o.num_or("weight_decay", cfg.weight_decay));
    cfg.eps = static_cast<float>(o.num_or("eps", cfg.eps));
    if (o.has("betas")) {
      cfg.beta1 = static_cast<float>(o.at("betas").arr().at(0).num());
      cfg.beta2 = static_cast<float>(o.at("betas").arr().at(1).num());
    }
    clip_grad_norm_ = static_cast<float>(o.num_or("clip_grad_norm", 0.0));
  }
  adamw_ = std::make_unique<optim::AdamW>(cfg);
  for (auto& s : storages_) s->grad = Tensor::Zeros(s->value.shape());
  m_.reserve(storages_.size());
  v_.reserve(storages_.size());
  for (auto& s : storages_) {
    m_.push_back(Tensor::Zeros(Shape{s->value.numel()}));
    v_.push_back(Tensor::Zeros(Shape{s->value.numel()}));
  }
  for (const Param& p : params_) {
    std::size_t k = 0;
    while (storages_[k].get() != p.storage) ++k;
    slices_.push_back(
        optim::Slice{p.data(), p.grad(), m_[k].data() + p.offset, v_[k].data() + p.offset, p.numel(), p.group});
  }
}

Model::~Model() = default;

Var* Model::NewStorage(int64_t numel) {
  storages_.push_back(std::make_unique<Var>());
  Var* v = storages_.back().get();
  v->value = Tensor::Zeros(Shape{numel});
  v->requires_grad = true;
  return v;
}

void Model::AddParam(const std::string& name, Var* storage, std::size_t offset, const Shape& shape,
                     optim::Group group) {
  params_.push_back(Param{name, storage, offset, shape, group});
}

const Param* Model::FindParam(const std::string& name) const {
  for (const Param& p : params_)
    if (p.name == name) return &p;
  return nullptr;
}

int64_t Model::ParamCount() const {
  int64_t n = 0;
  for (const Param& p : params_) n += p.numel();
  return n;
}

Var* Model::Forward(Tape& t, const Tensor& x, double rate) {
  RunContext ctx;
  ctx.rate = rate;
  Var* xv = t.Make(x, false);
  return root_->Forward(t, xv, ctx);
}

Var* Model::Loss(Tape& t, Var* out, const Tensor& targets) {
  const std::string& type = loss_.type;
  if (type == "cross_entropy") return ops::CrossEntropy(t, out, targets, loss_.label_smoothing);
  if (type == "bce_with_logits") return ops::BceWithLogits(t, out, targets);
  if (type == "dice") return ops::SoftDice(t, ops::Sigmoid(t, out), targets, loss_.smooth);
  if (type == "l1") return ops::L1Loss(t, out, targets);
  if (type == "mse") return ops::MseLoss(t, out, targets);
  throw std::invalid_argument("unknown loss type '" + type + "'");
}

StepResult Model::TrainStep(const Tensor& x, const Tensor& targets, float lr, float ssm_lr, double rate,
                            const std::atomic<bool>* cancel) {
  TapeGuard guard{tape_};
  tape_.Clear();
  tape_.recording = true;
  tape_.training = true;
  tape_.cancel = cancel;
  tape_.seed = seed_ * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(adamw_->step());
  for (auto& s : storages_) s->grad.zero();
  Var* out = Forward(tape_, x, rate);
  Var* loss = Loss(tape_, out, targets);
  tape_.Backward(loss);
  tape_.CheckCancelled();  // last chance: after this point the update runs to completion
  StepResult r;
  r.loss = loss->value.data()[0];
  if (!std::isfinite(r.loss))
    throw std::runtime_error("loss is not finite (" + std::to_string(r.loss) + "); parameters were not updated");
  r.grad_norm = optim::GlobalGradNorm(slices_);
  if (clip_grad_norm_ > 0.0f && r.grad_norm > clip_grad_norm_) {
    std::vector<float*> grads;
    std::vector<int64_t> sizes;
    for (auto& s : storages_) grads.push_back(s->grad.data()), sizes.push_back(s->grad.numel());
    optim::ClipGradients(grads, sizes, r.grad_norm, clip_grad_norm_);
  }
  adamw_->Step(slices_, lr, ssm_lr);
  r.step = adamw_->step();
  return r;
}

Tensor Model::Predict(const Tensor& x, double rate, const std::atomic<bool>* cancel) {
  TapeGuard guard{tape_};
  tape_.Clear();
  tape_.recording = false;
  tape_.training = false;
  tape_.cancel = cancel;
  return Forward(tape_, x, rate)->value;
}

double Model::EvalLoss(const Tensor& x, const Tensor& targets, double rate, const std::atomic<bool>* cancel) {
  TapeGuard guard{tape_};
  tape_.Clear();
  tape_.recording = false;
  tape_.training = false;
  tape_.cancel = cancel;
  return Loss(tape_, Forward(tape_, x, rate), targets)->value.data()[0];
}

}  // namespace ssm::graph

namespace ssm::graph {

float* Model::moment1(const Param& p) {
  for (std::size_t k = 0; k < storages_.size(); ++k)
    if (storages_[k].get() == p.storage) return m_[k].data() + p.offset;
  return nullptr;
}

float* Model::moment2(const Param& p) {
  for (std::size_t k = 0; k < storages_.size(); ++k)
    if (storages_[k].get() == p.storage) return v_[k].data() + p.offset;
  return nullptr;
}

}  // namespace ssm::graph
