// The `s4nd_time` layer type: the continuous-time S4D kernel along time (ops/s4nd_time.h), queried at the time t
// each sample carries in a plane of a saved activation.
//
// spec: { type: 's4nd_time', in: 2C, d_state: N, dt_min, dt_max,
//         time: { from: <save name>, channel: k, mean: m, std: s } }
// t_b = mean over space of channel k of the saved tensor, times s, plus m (undoes the input normalisation).
#include "graph/model.h"
#include "ops/common.h"
#include "ops/s4nd_time.h"

namespace ssm::graph {

namespace {

class S4ndTimeLayer : public Layer {
 public:
  Var* storage = nullptr;
  int64_t d_state = 16;
  std::string from;
  int channel = 0;
  double mean = 0.0, std = 1.0;
  Var* Forward(Tape& t, Var* x, RunContext& ctx) override {
    auto it = ctx.saved.find(from);
    if (it == ctx.saved.end()) throw std::invalid_argument("s4nd_time: no saved activation named '" + from + "'");
    const Tensor& src = it->second->value;  // (B, Cs, S...)
    const Shape& ss = src.shape();
    if (ss.rank < 2 || channel < 0 || channel >= ss[1] || ss[0] != x->value.dim(0)) {
      ops::ShapeError("s4nd_time", "saved '" + from + "' " + ss.str() + " has no channel " + std::to_string(channel) +
                                       " for a batch of " + std::to_string(x->value.dim(0)));
    }
    const int64_t B = ss[0], Cs = ss[1], S = src.numel() / (B * Cs);
    std::vector<double> times(B);
    for (int64_t b = 0; b < B; ++b) {
      const float* p = src.data() + (b * Cs + channel) * S;
      double s = 0;
      for (int64_t i = 0; i < S; ++i) s += p[i];
      times[b] = s / static_cast<double>(S) * std + mean;
    }
    return ops::S4ndTime(t, x, storage, times, d_state);
  }
};

}  // namespace

std::unique_ptr<Layer> BuildS4ndTimeLayer(const Json& spec, const std::string& prefix, Model& model, uint64_t seed) {
  auto l = std::make_unique<S4ndTimeLayer>();
  const int64_t in = static_cast<int64_t>(spec.at("in").num());
  l->d_state = static_cast<int64_t>(spec.num_or("d_state", 16));
  if (in % 2 != 0 || in < 2) throw std::invalid_argument("s4nd_time layer " + prefix + ": input channels must be even");
  if (l->d_state < 2 || l->d_state % 2 != 0)
    throw std::invalid_argument("s4nd_time layer " + prefix + ": d_state must be an even number >= 2");
  const Json& time = spec.at("time");
  l->from = time.at("from").str();
  l->channel = static_cast<int>(time.at("channel").num());
  l->mean = time.num_or("mean", 0.0);
  l->std = time.num_or("std", 1.0);
  const ops::S4ndTimeLayout lay = ops::S4ndTimeLayoutOf(in / 2, l->d_state);
  l->storage = model.NewStorage(lay.total);
  ops::S4ndTimeInit(lay, spec.num_or("dt_min", 0.001), spec.num_or("dt_max", 0.1), seed, l->storage->value.data());
  const int64_t C = lay.C, Nh = lay.Nh;
  model.AddParam(prefix + "kernel.inv_dt", l->storage, lay.inv_dt, Shape{C, 1}, optim::Group::kSsm);
  model.AddParam(prefix + "kernel.A_real", l->storage, lay.A_real, Shape{1, Nh}, optim::Group::kSsm);
  model.AddParam(prefix + "kernel.A_imag", l->storage, lay.A_imag, Shape{1, Nh}, optim::Group::kSsm);
  model.AddParam(prefix + "kernel.C", l->storage, lay.Cw, Shape{2, C, Nh, 2}, optim::Group::kNoDecay);
  return l;
}

}  // namespace ssm::graph
