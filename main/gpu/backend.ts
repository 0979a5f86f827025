// What the WebGPU backend supports (ggml discipline: a backend declares its ops; the engine falls back to the CPU
// for anything not listed). Each entry names the kernel module and whether a backward kernel exists. Every op here
// has a test in test/gpu/ comparing it with a float64 reference (and its backward with finite differences or the
// official S4ND reference gradients).

export interface GpuOpInfo {
  /** Op name as the engine graph will call it. */
  name: string;
  /** main/gpu/ops/<module>.ts */
  module: 'basic' | 'matmul' | 'fft' | 's4nd' | 'nn' | 'dplr' | 's4nd-time';
  backward: boolean;
  notes?: string;
}

export const GPU_OPS: readonly GpuOpInfo[] = [
  { name: 'add', module: 'basic', backward: true },
  { name: 'mul', module: 'basic', backward: true },
  { name: 'scale', module: 'basic', backward: false, notes: 'backward is scale by the same factor' },
  {
    name: 'matmul',
    module: 'matmul',
    backward: true,
    notes: 'batched, +bias (per column or per row), transA/transB, accumulate',
  },
  { name: 'gelu', module: 'basic', backward: true, notes: 'exact erf' },
  { name: 'silu', module: 'basic', backward: true },
  { name: 'relu', module: 'basic', backward: true },
  { name: 'sigmoid', module: 'basic', backward: true },
  { name: 'bce_with_logits', module: 'basic', backward: true, notes: 'mean over elements; fused fwd+bwd' },
  { name: 'glu', module: 'basic', backward: true, notes: 'split axis: (outer, 2, half)' },
  {
    name: 'layer_norm',
    module: 'basic',
    backward: true,
    notes: '(outer, C, inner) view: channels-last or channels-first',
  },
  {
    name: 'softmax_cross_entropy',
    module: 'basic',
    backward: true,
    notes: 'label smoothing; mean over rows; fused fwd+bwd',
  },
  { name: 'mse_loss', module: 'basic', backward: true },
  { name: 'l1_loss', module: 'basic', backward: true },
  {
    name: 'global_avg_pool',
    module: 'basic',
    backward: true,
    notes: '(outer, S, inner) view: channels-first or -last',
  },
  { name: 'reduce_axis', module: 'basic', backward: true, notes: 'backward is broadcast_axis' },
  { name: 'sum_all', module: 'basic', backward: false },
  { name: 'adamw', module: 'basic', backward: false, notes: 'in-place optimiser update' },
  {
    name: 'fft',
    module: 'fft',
    backward: true,
    notes: 'complex, any axis, any length <= 1024; backward = inverse scaled',
  },
  { name: 'rfft', module: 'fft', backward: false, notes: 'via a complex transform; irfft provided' },
  { name: 's4d_kernel', module: 's4nd', backward: true, notes: 'ZOH Vandermonde, bandlimit mask, rate' },
  { name: 's4nd_conv', module: 's4nd', backward: true, notes: 'bidirectional separable FFT conv + D skip, 1-3 axes' },
  { name: 'conv2d', module: 'nn', backward: true, notes: 'im2col + tiled matmul; stride, zero padding, bias' },
  { name: 'conv3d', module: 'nn', backward: true, notes: 'im2col + tiled matmul' },
  { name: 'avg_pool', module: 'nn', backward: true, notes: '2-D, no padding' },
  { name: 'max_pool', module: 'nn', backward: true, notes: '2-D, gradient to the first maximum (as the CPU)' },
  { name: 'upsample', module: 'nn', backward: true, notes: 'nearest, bilinear align_corners=false' },
  { name: 'concat', module: 'nn', backward: true, notes: 'channels (U-Net skips)' },
  { name: 'dropout', module: 'nn', backward: true, notes: "the CPU engine's HashUniform mask, bit-identical" },
  { name: 'dice', module: 'nn', backward: true, notes: 'soft Dice on probabilities, fused fwd+bwd' },
  { name: 'clip_grad_norm', module: 'nn', backward: false, notes: 'sum of squares per tensor, applied inside AdamW' },
  { name: 'conv_transpose2d', module: 'nn', backward: true, notes: 'adjoint conv: W^T x + col2im; bias per channel' },
  {
    name: 'dplr_kernel',
    module: 'dplr',
    backward: true,
    notes: 'ops/dplr.ts: generating function at the M-th roots of unity from C~ (the C -> C~ setup stays on the CPU)',
  },
  {
    name: 's4nd_time',
    module: 's4nd-time',
    backward: true,
    notes: 'continuous-time S4D kernel along time at the t read from a saved plane; gathers, no atomics',
  },
];

/** True when the op runs on the GPU (forward; and backward too when `needBackward`). */
export function gpuSupports(name: string, needBackward = false): boolean {
  const op = GPU_OPS.find((o) => o.name === name);
  if (!op) return false;
  return !needBackward || op.backward;
}
