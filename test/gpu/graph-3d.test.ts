// The 3-D U-Nets of the zoo (s4nd-unet3d, conv-unet3d: conv3d, S4ND over (D, H, W), 3-D max pooling, trilinear
// upsampling, skip concat) on the GPU graph executor against the CPU engine: every parameter gradient of one step
// (read through the AdamW first moment with lr = 0), the loss, and predictions at the training size and at another
// size (S4ND rate). Helpers as in test/gpu/graph.test.ts.
import { describe, expect, test } from 'vitest';

import { Model } from '../../main/engine/model.js';
import type { ModelSpec } from '../../main/engine/spec.js';
import { readTrainingState } from '../../main/gpu/graph/checkpoint.js';
import { GpuModel } from '../../main/gpu/graph/executor.js';
import { validateSpec } from '../../main/engine/spec.js';
import { ZOO } from '../../main/models/zoo.js';
import { nmse, seeded, testRuntime } from './gpu-test-device.js';

function batchOf(
  spec: ModelSpec,
  nb: number,
  seed: number,
): { x: Float32Array; shape: number[]; targets: Float32Array } {
  const shape = [nb, spec.input.channels, ...spec.input.size];
  const x = Float32Array.from(
    seeded(
      seed,
      shape.reduce((a, b) => a * b, 1),
    ),
  );
  const out = validateSpec(spec).output;
  const targets =
    out.kind === 'flat' && (spec.loss?.type ?? 'cross_entropy') === 'cross_entropy'
      ? Float32Array.from({ length: nb }, (_, i) => (i * 7 + seed) % out.features)
      : Float32Array.from(
          seeded(
            seed + 1,
            nb * (out.kind === 'flat' ? out.features : out.channels * out.size.reduce((a, b) => a * b, 1)),
            0,
            1,
          ),
        ).map((v) => (v > 0.5 ? 1 : 0));
  return { x, shape, targets };
}

/** Gradient of every parameter after one step with lr = 0 (AdamW's first moment is (1 - beta1) g). */
async function cpuGrads(model: Model): Promise<Map<string, Float32Array>> {
  const st = await readTrainingState(model);
  const out = new Map<string, Float32Array>();
  for (const p of model.params()) out.set(p.name, st.tensors.get(`optim.exp_avg.${p.name}`) ?? new Float32Array());
  return out;
}

async function compareOneStep(
  spec: ModelSpec,
  seed: number,
  tolFor: (name: string) => number = () => 1e-10,
): Promise<{ worst: number; loss: number[]; norm: number[] }> {
  const rt = await testRuntime();
  const cpu = Model.create(spec, seed);
  const gpu = await GpuModel.fromCpu(rt, cpu);
  const batch = batchOf(spec, 2, seed);
  const rc = await cpu.trainStep(batch, { lr: 0, ssmLr: 0 });
  const rg = await gpu.trainStep(batch, { lr: 0, ssmLr: 0 });
  const gc = await cpuGrads(cpu);
  const st = await gpu.state();
  let worst = 0;
  for (const [name, g] of gc) {
    const ours = st.tensors.get(`optim.exp_avg.${name}`);
    if (!ours) throw new Error(`no GPU moment for ${name}`);
    const e = nmse(ours, g);
    // NMSE 1e-10 ≈ 1e-5 relative RMS: float32 sums in different orders through conv/LN/FFT/S4D chains (the ops alone
    // are at ≤ 1e-12, test/gpu/ops*.test.ts); parameters whose gradient is exactly zero on both sides give 0.
    expect(e, name).toBeLessThan(tolFor(name));
    worst = Math.max(worst, e);
  }
  cpu.dispose();
  gpu.dispose();
  return { worst, loss: [rc.loss, rg.loss], norm: [rc.gradNorm, rg.gradNorm] };
}

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
