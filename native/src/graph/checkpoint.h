// Model checkpoints as safetensors files (io/safetensors.h).
//
// Tensors:   every named parameter under its own name ("layers.0.weight", "layers.2.layers.1.kernel.0.A_real"),
//            then the AdamW moments as "optim.exp_avg.<name>" and "optim.exp_avg_sq.<name>" (same shapes).
// Metadata:  "format"          "ssm-studio.checkpoint.v1"
//            "spec"            the normalised model spec (JSON text)
//            "seed"            the initialisation seed (decimal)
//            "optimizer.step"  AdamW steps taken (decimal)
//            "state"           JSON object of non-trainable integer state, e.g. {"layers.1.l_kernel": [0, 0]}
// A plain safetensors reader (Python `safetensors`, the HF hub viewer) can open the weights directly.
#pragma once

#include <string>

#include "graph/model.h"

namespace ssm::graph {

void SaveCheckpoint(Model& model, const std::string& path);
// Validates everything (format, names, shapes, state) before changing the model; a failed load leaves the model
// untouched. Throws std::runtime_error("checkpoint '<path>': ...").
void LoadCheckpoint(Model& model, const std::string& path);

}  // namespace ssm::graph
