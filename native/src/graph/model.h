// The model graph: built once from a validated JSON spec (see main/engine/spec.ts for the format), it owns the
// parameters, the optimizer state and one autograd tape, and runs training steps and inference passes.
//
// Activations are channels-first: (B, C, H, W) images, (B, C, D, H, W) volumes, (B, C) after pooling.
// Parameters live in "storages" (one Var each); a named parameter is a slice of a storage. Ordinary layers
// have one storage per tensor; an S4ND layer has one flat storage holding all its named tensors (the layout
// the S4ND module defines), so its kernel code can read and accumulate into one buffer.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tape.h"
#include "core/json.h"
#include "optim/adamw.h"

namespace ssm::graph {

struct Param {
  std::string name;  // "layers.2.layers.0.weight", "layers.3.kernel.0.inv_dt"
  Var* storage = nullptr;
  std::size_t offset = 0;  // floats into storage
  Shape shape;
  optim::Group group = optim::Group::kDecay;
  float* data() const { return storage->value.data() + offset; }
  float* grad() const { return storage->grad.data() + offset; }
  int64_t numel() const { return shape.numel(); }
};

// Per-call context passed down the layer tree.
struct RunContext {
  double rate = 1.0;                  // S4ND resolution factor
  std::map<std::string, Var*> saved;  // "save" layer outputs, read by "concat"
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual Var* Forward(Tape& t, Var* x, RunContext& ctx) = 0;
};

struct LossSpec {
  std::string type = "cross_entropy";  // cross_entropy | bce_with_logits | dice | l1 | mse
  float label_smoothing = 0.0f;
  float smooth = 1.0f;  // dice
};

struct StepResult {
  double loss = 0.0;
  double grad_norm = 0.0;  // before clipping
  int64_t step = 0;        // optimizer steps taken so far, including this one
};

class Model {
 public:
  // spec: the normalised spec (all defaults filled in by the TypeScript validator). Throws std::invalid_argument.
  Model(const Json& spec, uint64_t seed);
  ~Model();

  // x: input batch, channels-first. targets: labels (N) for cross_entropy, else the output's shape.
  StepResult TrainStep(const Tensor& x, const Tensor& targets, float lr, float ssm_lr, double rate,
                       const std::atomic<bool>* cancel);
  Tensor Predict(const Tensor& x, double rate, const std::atomic<bool>* cancel);
  // Loss only (no update), used by tests and validation.
  double EvalLoss(const Tensor& x, const Tensor& targets, double rate, const std::atomic<bool>* cancel);

  const std::vector<Param>& params() const { return params_; }
  const Param* FindParam(const std::string& name) const;
  int64_t ParamCount() const;
  const Json& spec() const { return spec_; }
  const std::string& spec_text() const { return spec_text_; }
  optim::AdamW& optimizer() { return *adamw_; }
  // AdamW moments of a parameter (for checkpoints): pointers to numel() floats each.
  float* moment1(const Param& p);
  float* moment2(const Param& p);
  uint64_t seed() const { return seed_; }

  // Used by the builder.
  Var* NewStorage(int64_t numel);
  void AddParam(const std::string& name, Var* storage, std::size_t offset, const Shape& shape, optim::Group group);
  // Non-trainable integer state saved in checkpoints (S4ND DPLR l_kernel).
  void AddState(const std::string& name, std::vector<int64_t>* state) { states_.emplace_back(name, state); }
  const std::vector<std::pair<std::string, std::vector<int64_t>*>>& states() const { return states_; }

 private:
  Var* Forward(Tape& t, const Tensor& x, double rate);
  Var* Loss(Tape& t, Var* out, const Tensor& targets);

  Json spec_;
  std::string spec_text_;
  uint64_t seed_;
  std::vector<std::unique_ptr<Var>> storages_;
  std::vector<Param> params_;
  std::vector<std::pair<std::string, std::vector<int64_t>*>> states_;
  std::unique_ptr<Layer> root_;
  LossSpec loss_;
  float clip_grad_norm_ = 0.0f;
  std::unique_ptr<optim::AdamW> adamw_;
  std::vector<Tensor> m_, v_;         // AdamW moments, one flat tensor per storage
  std::vector<optim::Slice> slices_;  // one per named parameter, pointing into storages and m_/v_
  Tape tape_;
};

// Builds one layer (and its children) from its spec; `prefix` is the parameter-name prefix ("layers.3.").
std::unique_ptr<Layer> BuildLayer(const Json& spec, const std::string& prefix, Model& model, uint64_t seed);
// Builds the S4ND layer (graph/s4nd_node.cc).
std::unique_ptr<Layer> BuildS4ndLayer(const Json& spec, const std::string& prefix, Model& model, uint64_t seed);
// Builds the s4nd_time layer (graph/s4nd_time_node.cc).
std::unique_ptr<Layer> BuildS4ndTimeLayer(const Json& spec, const std::string& prefix, Model& model, uint64_t seed);

}  // namespace ssm::graph
