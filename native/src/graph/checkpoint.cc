#include "graph/checkpoint.h"

#include <cstring>
#include <stdexcept>

#include "io/safetensors.h"

namespace ssm::graph {

namespace {

constexpr const char* kFormat = "ssm-studio.checkpoint.v1";

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("checkpoint '" + path + "': " + what);
}

}  // namespace

void SaveCheckpoint(Model& model, const std::string& path) {
  std::vector<io::TensorEntry> entries;
  for (const Param& p : model.params()) entries.push_back({p.name, p.shape.ToVector(), p.data()});
  for (const Param& p : model.params())
    entries.push_back({"optim.exp_avg." + p.name, p.shape.ToVector(), model.moment1(p)});
  for (const Param& p : model.params())
    entries.push_back({"optim.exp_avg_sq." + p.name, p.shape.ToVector(), model.moment2(p)});
  Json state = Json::Object();
  for (const auto& s : model.states()) {
    Json a = Json::Array();
    for (int64_t v : *s.second) a.push(Json::Number(static_cast<double>(v)));
    state.set(s.first, a);
  }
  std::map<std::string, std::string> meta;
  meta["format"] = kFormat;
  meta["spec"] = model.spec_text();
  meta["seed"] = std::to_string(model.seed());
  meta["optimizer.step"] = std::to_string(model.optimizer().step());
  meta["state"] = state.Dump();
  io::WriteSafetensors(path, entries, meta);
}

void LoadCheckpoint(Model& model, const std::string& path) {
  const io::SafetensorsFile file = io::ReadSafetensors(path);
  auto meta = [&](const char* key) -> const std::string& {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) Fail(path, std::string("missing __metadata__ key '") + key + "'");
    return it->second;
  };
  if (meta("format") != kFormat) Fail(path, "format '" + meta("format") + "' is not " + kFormat);
  // Every expected tensor must be present with the right shape; nothing else may be there.
  std::map<std::string, const Param*> expected;
  for (const Param& p : model.params()) {
    expected[p.name] = &p;
    expected["optim.exp_avg." + p.name] = &p;
    expected["optim.exp_avg_sq." + p.name] = &p;
  }
  for (const auto& kv : file.tensors) {
    auto it = expected.find(kv.first);
    if (it == expected.end()) Fail(path, "unexpected tensor '" + kv.first + "' (not a parameter of this model)");
    const Shape want = it->second->shape;
    if (kv.second.shape != want.ToVector()) {
      Fail(path, "tensor '" + kv.first + "' has shape " + Shape::FromVector(kv.second.shape).str() +
                     " but the model expects " + want.str());
    }
  }
  for (const auto& kv : expected) {
    if (!file.tensors.count(kv.first)) Fail(path, "missing tensor '" + kv.first + "'");
  }
  const std::string& step_text = meta("optimizer.step");
  char* end = nullptr;
  const long long step = std::strtoll(step_text.c_str(), &end, 10);
  if (end == step_text.c_str() || *end != '\0' || step < 0)
    Fail(path, "optimizer.step '" + step_text + "' is not a count");
  Json state;
  try {
    state = Json::Parse(meta("state"));
  } catch (const std::exception& e) {
    Fail(path, std::string("state is not valid JSON (") + e.what() + ")");
  }
  for (const auto& s : model.states()) {
    if (!state.has(s.first) || !state.at(s.first).is_array() || state.at(s.first).arr().size() != s.second->size()) {
      Fail(path, "state '" + s.first + "' is missing or has the wrong length");
    }
  }
  // All checks passed: copy.
  for (const Param& p : model.params()) {
    const std::size_t bytes = sizeof(float) * static_cast<std::size_t>(p.numel());
    std::memcpy(p.data(), file.f32(file.tensors.at(p.name)), bytes);
    std::memcpy(model.moment1(p), file.f32(file.tensors.at("optim.exp_avg." + p.name)), bytes);
    std::memcpy(model.moment2(p), file.f32(file.tensors.at("optim.exp_avg_sq." + p.name)), bytes);
  }
  for (const auto& s : model.states()) {
    const auto& arr = state.at(s.first).arr();
    for (std::size_t i = 0; i < arr.size(); ++i) (*s.second)[i] = static_cast<int64_t>(arr[i].num());
  }
  model.optimizer().set_step(step);
}

}  // namespace ssm::graph
