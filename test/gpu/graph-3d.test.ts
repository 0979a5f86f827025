// The 3-D U-Nets of the zoo (s4nd-unet3d, conv-unet3d: conv3d, S4ND over (D, H, W), 3-D max pooling, trilinear
// upsampling, skip concat) on the GPU graph executor against the CPU engine: every parameter gradient of one step
// (read through the AdamW first moment with lr = 0), the loss, and predictions at the training size and at another
// size (S4ND rate). Helpers shared with test/gpu/graph.test.ts (graph-compare.ts).
import { describe, expect, test } from 'vitest';

import { Model } from '../../main/engine/model.js';
import { GpuModel } from '../../main/gpu/graph/executor.js';
import { ZOO } from '../../main/models/zoo.js';
import { compareOneStep } from './graph-compare.js';
import { nmse, seeded, testRuntime } from './gpu-test-device.js';

const UNET3D = ZOO['s4nd-unet3d'].build({ channels: 1, size: [8, 8, 8], outputs: 2, width: 4, dState: 4 });
const CONV_UNET3D = ZOO['conv-unet3d'].build({ channels: 1, size: [8, 8, 8], outputs: 2, width: 3 });

describe('3-D U-Nets: GPU graph executor vs the CPU engine', () => {
  test('s4nd-unet3d: loss and every parameter gradient of one step (max-pool 3-D, trilinear, S4ND 3-D)', async () => {
    const r = await compareOneStep(UNET3D, 11);
    console.log(
      `s4nd-unet3d one step: loss cpu ${r.loss[0]} gpu ${r.loss[1]}; |g| cpu ${r.norm[0]} gpu ${r.norm[1]}; worst grad NMSE ${r.worst.toExponential(2)}`,
    );
    expect(Math.abs((r.loss[1] ?? 0) - (r.loss[0] ?? 0)) / Math.abs(r.loss[0] ?? 1)).toBeLessThan(1e-5);
    expect(Math.abs((r.norm[1] ?? 0) - (r.norm[0] ?? 0)) / Math.abs(r.norm[0] ?? 1)).toBeLessThan(1e-5);
  });

  test('conv-unet3d: loss and every parameter gradient of one step', async () => {
    const r = await compareOneStep(CONV_UNET3D, 12);
    console.log(
      `conv-unet3d one step: loss cpu ${r.loss[0]} gpu ${r.loss[1]}; worst grad NMSE ${r.worst.toExponential(2)}`,
    );
    expect(Math.abs((r.loss[1] ?? 0) - (r.loss[0] ?? 0)) / Math.abs(r.loss[0] ?? 1)).toBeLessThan(1e-5);
  });

  test('s4nd-unet3d predictions match at 8³ and at 4³ (rate 2)', async () => {
    const rt = await testRuntime();
    const cpu = Model.create(UNET3D, 13);
    const gpu = await GpuModel.fromCpu(rt, cpu);
    const x8 = Float32Array.from(seeded(5, 2 * 512));
    const pc = await cpu.predict(x8, [2, 1, 8, 8, 8]);
    const pg = await gpu.predict(x8, [2, 1, 8, 8, 8]);
    expect(pg.shape).toEqual([2, 2, 8, 8, 8]);
    expect(pg.shape).toEqual(pc.shape);
    const e8 = nmse(pg.data, pc.data);
    const x4 = Float32Array.from(seeded(6, 2 * 4 ** 3));
    const qc = await cpu.predict(x4, [2, 1, 4, 4, 4], { rate: 2 });
    const qg = await gpu.predict(x4, [2, 1, 4, 4, 4], { rate: 2 });
    expect(qg.shape).toEqual([2, 2, 4, 4, 4]);
    const e4 = nmse(qg.data, qc.data);
    console.log(`s4nd-unet3d predict NMSE 8³ ${e8.toExponential(2)}, 4³ ${e4.toExponential(2)}`);
    expect(e8).toBeLessThan(1e-10);
    expect(e4).toBeLessThan(1e-10);
    cpu.dispose();
    gpu.dispose();
  });
});
