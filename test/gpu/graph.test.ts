// The GPU graph executor against the CPU engine on whole models: gradients of one step (read through the AdamW first
// moment with lr = 0: m = (1 - beta1) g), losses, gradient norms, predictions, and a short training run.
import { describe, expect, test } from 'vitest';

import { Model } from '../../main/engine/model.js';
import type { ModelSpec } from '../../main/engine/spec.js';
import { GpuModel, GpuUnsupportedError, gpuUnsupportedReason } from '../../main/gpu/graph/executor.js';
import { validateSpec } from '../../main/engine/spec.js';
import { batchOf, compareOneStep } from './graph-compare.js';
import { nmse, seeded, testRuntime } from './gpu-test-device.js';

/** Tiny S4ND classifier (the app's classifier template shape, scaled down): patch conv, residual LN + S4ND, pool, head. */
export const TINY_CLASSIFIER: ModelSpec = {
  input: { channels: 1, size: [8, 8] },
  layers: [
    { type: 'conv2d', out: 4, kernel: 2, stride: 2 },
    { type: 'residual', layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: 4 }] },
    {
      type: 'residual',
      layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: 4, channels: 2 }, { type: 'dropout', p: 0.25 }],
    },
    { type: 'global_avg_pool' },
    { type: 'linear', out: 3 },
  ],
  loss: { type: 'cross_entropy', label_smoothing: 0.1 },
  optimizer: { weight_decay: 0.05, clip_grad_norm: 1.0 },
};

/** A small U-Net-like segmenter: every remaining op (conv with padding, pools, upsample, concat, silu, dice). */
const TINY_UNET: ModelSpec = {
  input: { channels: 1, size: [8, 8] },
  layers: [
    { type: 'conv2d', out: 4, kernel: 3, padding: 1 },
    { type: 'gelu' },
    { type: 'save', name: 'skip' },
    { type: 'max_pool', kernel: 2 },
    { type: 'conv2d', out: 4, kernel: 3, padding: 1 },
    { type: 'relu' },
    { type: 'avg_pool', kernel: 2 },
    { type: 'conv_transpose2d', out: 3, kernel: 2, stride: 2 },
    { type: 'upsample', scale: 2, mode: 'bilinear' },
    { type: 'upsample', scale: 2 },
    { type: 'avg_pool', kernel: 2 },
    { type: 'concat', with: 'skip' },
    { type: 'layernorm' },
    { type: 'conv2d', out: 4, kernel: 1 },
    { type: 'glu' },
    { type: 'silu' },
    { type: 'conv2d', out: 1, kernel: 1 },
  ],
  loss: { type: 'dice', smooth: 1 },
  optimizer: { weight_decay: 0.01, clip_grad_norm: 0 },
};

describe('GPU graph executor vs the CPU engine', () => {
  test('S4ND classifier: loss, grad norm and every parameter gradient of one step (incl. seeded dropout)', async () => {
    const r = await compareOneStep(TINY_CLASSIFIER, 3);
    console.log(
      `classifier one step: loss cpu ${r.loss[0]} gpu ${r.loss[1]}; |g| cpu ${r.norm[0]} gpu ${r.norm[1]}; worst grad NMSE ${r.worst.toExponential(2)}`,
    );
    expect(Math.abs((r.loss[1] ?? 0) - (r.loss[0] ?? 0)) / Math.abs(r.loss[0] ?? 1)).toBeLessThan(1e-5);
    expect(Math.abs((r.norm[1] ?? 0) - (r.norm[0] ?? 0)) / Math.abs(r.norm[0] ?? 1)).toBeLessThan(1e-5);
  });

  test('U-Net-style segmenter (conv padding, max/avg pool, conv_transpose2d, nearest/bilinear upsample, concat, glu, dice)', async () => {
    const r = await compareOneStep(TINY_UNET, 5);
    console.log(`unet one step: loss cpu ${r.loss[0]} gpu ${r.loss[1]}; worst grad NMSE ${r.worst.toExponential(2)}`);
    expect(Math.abs((r.loss[1] ?? 0) - (r.loss[0] ?? 0)) / Math.abs(r.loss[0] ?? 1)).toBeLessThan(1e-5);
  });

  test('unidirectional S4ND on 1-D and 3-D inputs (linear head, channels 2), L1 and MSE losses', async () => {
    const seq: ModelSpec = {
      input: { channels: 3, size: [12] },
      layers: [
        { type: 's4nd', d_state: 4, bidirectional: false, linear: true, channels: 2 },
        { type: 'gelu' },
        { type: 's4nd', d_state: 6, bidirectional: false },
      ],
      loss: { type: 'l1' },
    };
    const r1 = await compareOneStep(seq, 7);
    const vol: ModelSpec = {
      input: { channels: 2, size: [3, 4, 4] },
      layers: [
        { type: 'conv3d', out: 2, kernel: 1 },
        { type: 's4nd', d_state: 4, bidirectional: false },
      ],
      loss: { type: 'mse' },
    };
    const r2 = await compareOneStep(vol, 8);
    console.log(
      `unidirectional 1-D / 3-D: worst grad NMSE ${r1.worst.toExponential(2)} / ${r2.worst.toExponential(2)}`,
    );
    for (const r of [r1, r2])
      expect(Math.abs((r.loss[1] ?? 0) - (r.loss[0] ?? 0)) / Math.abs(r.loss[0] ?? 1)).toBeLessThan(1e-5);
  });

  test('a training step is one submission, reads back 8 bytes, and allocates nothing after warm-up', async () => {
    const rt = await testRuntime();
    const cpu = Model.create(TINY_CLASSIFIER, 4);
    const gpu = await GpuModel.fromCpu(rt, cpu);
    const b = batchOf(TINY_CLASSIFIER, 2, 4);
    await gpu.trainStep(b, { lr: 1e-3 });
    await gpu.trainStep(b, { lr: 1e-3 });
    const before = { ...rt.stats };
    await gpu.trainStep(b, { lr: 1e-3 });
    expect(rt.stats.buffersCreated - before.buffersCreated).toBe(0);
    expect(rt.stats.pipelinesCompiled - before.pipelinesCompiled).toBe(0);
    expect(rt.stats.bytesRead - before.bytesRead).toBe(8);
    // the step's batch + the readback's copy
    expect(rt.stats.submits - before.submits).toBe(2);
    expect(rt.stats.bindGroupsCreated - before.bindGroupsCreated).toBe(0);
    cpu.dispose();
    gpu.dispose();
  });

  test('predict and evalLoss match the CPU engine (evaluation mode, other resolution with rate)', async () => {
    const rt = await testRuntime();
    const cpu = Model.create(TINY_CLASSIFIER, 9);
    const gpu = await GpuModel.fromCpu(rt, cpu);
    const b = batchOf(TINY_CLASSIFIER, 3, 9);
    const pc = await cpu.predict(b.x, b.shape);
    const pg = await gpu.predict(b.x, b.shape);
    expect(pg.shape).toEqual(pc.shape);
    expect(nmse(pg.data, pc.data)).toBeLessThan(1e-12);
    // 16x16 input at rate 0.5 (S4ND resolution change)
    const x16 = Float32Array.from(seeded(4, 3 * 256));
    const qc = await cpu.predict(x16, [3, 1, 16, 16], { rate: 0.5 });
    const qg = await gpu.predict(x16, [3, 1, 16, 16], { rate: 0.5 });
    expect(nmse(qg.data, qc.data)).toBeLessThan(1e-12);
    const lc = await cpu.evalLoss(b);
    const lg = await gpu.evalLoss(b);
    expect(Math.abs(lg - lc) / lc).toBeLessThan(1e-6);
    cpu.dispose();
    gpu.dispose();
  });

  test('DPLR S4ND (kernels generated on the GPU from C~): one step vs the CPU, from a fresh model', async () => {
    const dplr: ModelSpec = {
      input: { channels: 1, size: [8, 8] },
      layers: [
        { type: 'conv2d', out: 4, kernel: 2, stride: 2 },
        { type: 'residual', layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: 4, mode: 'dplr' }] },
        { type: 'global_avg_pool' },
        { type: 'linear', out: 3 },
      ],
      optimizer: { clip_grad_norm: 1 },
    };
    // DPLR kernel parameters: NMSE < 1e-8 (≈ 1e-4 relative RMS, the reference README's float32 gradient tolerance).
    // The GPU evaluates the generating function in float32 where the CPU uses float64; at the init's small dt
    // (1e-3..1e-1) the Cauchy terms near omega = 1 cancel, measured up to 3e-10 for inv_dt / A_imag (1e-12 at dt >= 0.1).
    const r = await compareOneStep(dplr, 6, (name) => (/\.kernel\.\d\./.test(name) ? 1e-8 : 1e-10));
    console.log(`dplr one step: loss cpu ${r.loss[0]} gpu ${r.loss[1]}; worst grad NMSE ${r.worst.toExponential(2)}`);
    expect(Math.abs((r.loss[1] ?? 0) - (r.loss[0] ?? 0)) / Math.abs(r.loss[0] ?? 1)).toBeLessThan(1e-5);
  });

  test('unsupported layers are named before any GPU work', async () => {
    const rt = await testRuntime();
    const uni: ModelSpec = {
      input: { channels: 2, size: [4, 4] },
      layers: [{ type: 's4nd', d_state: 4, mode: 'dplr', bidirectional: false }, { type: 'global_avg_pool' }],
    };
    expect(gpuUnsupportedReason(validateSpec(uni).spec)).toMatch(
      /^unsupported on webgpu: s4nd mode 'dplr' with bidirectional=false \(at layers\[0\]\)$/,
    );
    const cpu = Model.create(uni, 1);
    await expect(GpuModel.fromCpu(rt, cpu)).rejects.toBeInstanceOf(GpuUnsupportedError);
    cpu.dispose();
    const nested: ModelSpec = {
      input: { channels: 2, size: [4, 4] },
      layers: [{ type: 'residual', layers: [{ type: 's4nd', d_state: 4, mode: 'dplr', bidirectional: false }] }],
      loss: { type: 'mse' },
    };
    expect(gpuUnsupportedReason(validateSpec(nested).spec)).toMatch(/\(at layers\[0\]\.layers\[0\]\)$/);
  });
});
