// GPU op vs the CPU engine's own op (the native test entry point opForwardBackward,
// native/src/binding/op_binding.cc) on seeded inputs and a seeded upstream gradient, shared by test/gpu/nn-ops.test.ts
// and test/gpu/resample3d.test.ts. Measure: NMSE = sum((gpu - cpu)^2) / sum(cpu^2) per tensor, asserted < 1e-12.
import { afterAll, expect } from 'vitest';

import { loadEngine } from '../../main/engine/binding.js';
import type { GpuRuntime, GpuTensor } from '../../main/gpu/runtime.js';
import { nmse, seeded } from './gpu-test-device.js';

export const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);
export const f32 = (seed: number, n: number, lo = -1, hi = 1): Float32Array =>
  Float32Array.from(seeded(seed, n, lo, hi));
const TOL = 1e-12;

export interface GpuResult {
  y: GpuTensor;
  grads: (GpuTensor | null)[];
}

/** Compares the GPU op `gpu` with the CPU op `op` (forward and every input gradient), adding a row to the table. */
export type OpCompare = (
  rt: GpuRuntime,
  label: string,
  op: string,
  inputs: Float32Array[],
  shapes: number[][],
  attrs: Record<string, unknown>,
  gpu: (t: GpuTensor[], up: GpuTensor) => GpuResult,
) => Promise<void>;

/** A compare function for one test file; its NMSE table is printed under `title` after the file's tests. */
export function opComparison(title: string): OpCompare {
  const engine = loadEngine();
  const table: string[] = [];
  afterAll(() => console.log(`${title}:\n  ${table.join('\n  ')}`));
  return async (rt, label, op, inputs, shapes, attrs, gpu) => {
    const probe = engine.opForwardBackward(op, inputs, shapes, JSON.stringify(attrs), null);
    const up = f32(99, probe.output.length);
    const cpu = engine.opForwardBackward(op, inputs, shapes, JSON.stringify(attrs), up);
    const ts = inputs.map((x, i) => rt.upload(x, shapes[i] ?? [x.length]));
    const r = rt.run((b) => {
      void b;
      return gpu(ts, rt.upload(up, probe.shape));
    });
    const y = await rt.read(r.y);
    const ef = nmse(y.subarray(0, cpu.output.length), cpu.output);
    const eb: string[] = [];
    expect(ef, `${label} forward`).toBeLessThan(TOL);
    for (let i = 0; i < cpu.grads.length; i++) {
      const want = cpu.grads[i];
      const got = r.grads[i];
      if (!want || !got) continue;
      const e = nmse((await rt.read(got)).subarray(0, want.length), want);
      eb.push(e.toExponential(1));
      expect(e, `${label} grad ${i}`).toBeLessThan(TOL);
    }
    table.push(`${label.padEnd(44)} ${ef.toExponential(1)} | ${eb.join(', ')}`);
  };
}
