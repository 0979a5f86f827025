// Differentiable ops. Each constructor checks shapes, computes its output with a CPU kernel, and (when the tape
// records and an input needs a gradient) records the one closure that accumulates the input gradients.
// Layouts are channels-first unless stated: images (B, C, H, W), volumes (B, C, D, H, W).
// Shape errors throw std::invalid_argument naming the op and the shapes; the TypeScript spec validator is
// expected to have rejected bad models before any op runs.
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/tape.h"

namespace ssm::ops {

// ---- dense -------------------------------------------------------------------------------------------------
// x (N..., in), w (out, in), b (out) or null -> (N..., out)
Var* Linear(Tape& t, Var* x, Var* w, Var* b);
// a (M, K), b (K, N) -> (M, N)
Var* MatMul(Tape& t, Var* a, Var* b);

// ---- convolution / resampling ------------------------------------------------------------------------------
// 2-D: x (B, C, H, W), w (O, C, kh, kw); 3-D: x (B, C, D, H, W), w (O, C, kd, kh, kw). b (O) or null.
// stride/padding have one entry per spatial dim (2 or 3). Zero padding.
Var* Conv(Tape& t, Var* x, Var* w, Var* b, const std::vector<int>& stride, const std::vector<int>& padding);
// Transposed 2-D conv (PyTorch ConvTranspose2d): x (B, C, H, W), w (C, O, k, k), b (O) or null
// -> (B, O, (H-1)*stride - 2*padding + k, (W-1)*stride - 2*padding + k). Learned upsampling for U-Net decoders.
Var* ConvTranspose2d(Tape& t, Var* x, Var* w, Var* b, int stride, int padding);
// x (B, C, H, W) -> (B, C, H*scale, W*scale). bilinear uses align_corners=false (PyTorch's default).
Var* Upsample2d(Tape& t, Var* x, int scale, bool bilinear);
// x (B, C, D, H, W) -> (B, C, D*scale, H*scale, W*scale). trilinear: align_corners=false taps as Upsample2d's.
Var* Upsample3d(Tape& t, Var* x, int scale, bool trilinear);
// Dispatch on rank: (B, C, H, W) -> Upsample2d, (B, C, D, H, W) -> Upsample3d (linear = bilinear / trilinear).
Var* Upsample(Tape& t, Var* x, int scale, bool linear);

// ---- normalisation / activations ---------------------------------------------------------------------------
// channels_first: x (B, C, S...) normalised over C; else x (N..., C) normalised over the last dim.
// gamma, beta (C).
Var* LayerNorm(Tape& t, Var* x, Var* gamma, Var* beta, bool channels_first, float eps);
Var* Gelu(Tape& t, Var* x);  // exact: 0.5 x (1 + erf(x / sqrt 2))
Var* Silu(Tape& t, Var* x);
Var* Relu(Tape& t, Var* x);
Var* Sigmoid(Tape& t, Var* x);
// x (B, 2C, S...) -> (B, C, S...): first half * sigmoid(second half), split on dim 1.
Var* Glu(Tape& t, Var* x);
// Identity when !t.training or p == 0; else zeroes with probability p (seeded by t.NextSeed()) and scales by 1/(1-p).
Var* Dropout(Tape& t, Var* x, float p);

// ---- elementwise / structure -------------------------------------------------------------------------------
Var* Add(Tape& t, Var* a, Var* b);  // same shape (residual connections)
Var* Mul(Tape& t, Var* a, Var* b);  // same shape
Var* Concat(Tape& t, const std::vector<Var*>& xs, int dim);
Var* Reshape(Tape& t, Var* x, const Shape& shape);
Var* Permute(Tape& t, Var* x, const std::vector<int>& perm);

// ---- pooling ------------------------------------------------------------------------------------------------
// x (B, C, H, W) -> (B, C, (H-k)/s+1, (W-k)/s+1), no padding.
Var* AvgPool2d(Tape& t, Var* x, int kernel, int stride);
Var* MaxPool2d(Tape& t, Var* x, int kernel, int stride);
// x (B, C, D, H, W) -> (B, C, (D-k)/s+1, (H-k)/s+1, (W-k)/s+1), no padding, cubic kernel k.
Var* AvgPool3d(Tape& t, Var* x, int kernel, int stride);
Var* MaxPool3d(Tape& t, Var* x, int kernel, int stride);
// Dispatch on rank (4 -> 2-D, 5 -> 3-D); the graph's avg_pool / max_pool layers use these.
Var* AvgPool(Tape& t, Var* x, int kernel, int stride);
Var* MaxPool(Tape& t, Var* x, int kernel, int stride);
// x (B, C, S...) -> (B, C)
Var* GlobalAvgPool(Tape& t, Var* x);

// ---- losses (scalar output, mean reduction) ----------------------------------------------------------------
// logits (N, K), labels (N) holding class indices 0..K-1 as floats.
Var* CrossEntropy(Tape& t, Var* logits, const Tensor& labels, float label_smoothing);
// logits and targets same shape, targets in [0, 1].
Var* BceWithLogits(Tape& t, Var* logits, const Tensor& targets);
// probs (B, ...) in [0,1], targets same shape: mean over B of 1 - (2 sum(p t) + s) / (sum p + sum t + s).
Var* SoftDice(Tape& t, Var* probs, const Tensor& targets, float smooth);
Var* L1Loss(Tape& t, Var* pred, const Tensor& targets);
Var* MseLoss(Tape& t, Var* pred, const Tensor& targets);

// Runs fn(begin, end) over [0, n) on the global pool in chunks of at least `grain` elements.
void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// One scratch buffer of `per_worker` floats for each pool thread, taken from the tensor pool once per call (not per
// ParallelFor task), so how many buffers a step needs does not depend on how many threads happened to join a loop.
class WorkerScratch {
 public:
  explicit WorkerScratch(int64_t per_worker);
  // The calling thread's buffer (valid inside a ParallelFor body of the same call).
  float* get();

 private:
  int64_t per_worker_;
  Tensor buf_;  // (threads, per_worker)
};

}  // namespace ssm::ops
