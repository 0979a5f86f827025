// Whole-model comparison of the GPU graph executor with the CPU engine, shared by test/gpu/graph.test.ts and
// test/gpu/graph-3d.test.ts: a seeded batch for a spec, the CPU gradients of one step, and one step on both sides.
import { expect } from 'vitest';

import { Model } from '../../main/engine/model.js';
import type { ModelSpec } from '../../main/engine/spec.js';
import { validateSpec } from '../../main/engine/spec.js';
import { readTrainingState } from '../../main/gpu/graph/checkpoint.js';
import { GpuModel } from '../../main/gpu/graph/executor.js';
import { nmse, seeded, testRuntime } from './gpu-test-device.js';

/** A seeded batch of nb inputs of the spec's size with class or 0/1 targets. */
export function batchOf(
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
export async function cpuGrads(model: Model): Promise<Map<string, Float32Array>> {
  const st = await readTrainingState(model);
  const out = new Map<string, Float32Array>();
  for (const p of model.params()) out.set(p.name, st.tensors.get(`optim.exp_avg.${p.name}`) ?? new Float32Array());
  return out;
}

/** One step (lr = 0) on the CPU engine and the GPU executor: every parameter gradient within tolFor(name) NMSE. */
export async function compareOneStep(
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
