// 3-D pooling and upsampling on the GPU (main/gpu/ops/resample3d.ts), forward and backward, against the CPU engine's
// own ops (opForwardBackward) on seeded inputs and a seeded upstream gradient, as test/gpu/nn-ops.test.ts does for the
// 2-D ones. Measure: NMSE = sum((gpu - cpu)^2) / sum(cpu^2) per tensor, asserted < 1e-12.
import { afterAll, describe, expect, test } from 'vitest';

import { loadEngine } from '../../main/engine/binding.js';
import { pool3d, pool3dBackward, upsample3d, upsample3dBackward } from '../../main/gpu/ops/resample3d.js';
import type { GpuRuntime, GpuTensor } from '../../main/gpu/runtime.js';
import { nmse, seeded, testRuntime } from './gpu-test-device.js';

const engine = loadEngine();
const numel = (s: number[]): number => s.reduce((a, b) => a * b, 1);
const f32 = (seed: number, n: number, lo = -1, hi = 1): Float32Array => Float32Array.from(seeded(seed, n, lo, hi));
const TOL = 1e-12;
const table: string[] = [];
afterAll(() => console.log(`GPU 3-D op vs CPU engine (NMSE fwd | bwd):\n  ${table.join('\n  ')}`));

interface GpuResult {
  y: GpuTensor;
  grads: (GpuTensor | null)[];
}

async function compare(
  rt: GpuRuntime,
  label: string,
  op: string,
  inputs: Float32Array[],
  shapes: number[][],
  attrs: Record<string, unknown>,
  gpu: (t: GpuTensor[], up: GpuTensor) => GpuResult,
): Promise<void> {
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
}

describe('GPU 3-D ops vs the CPU engine', () => {
  test('avg_pool / max_pool on volumes (2x2x2 s2, overlapping 3x3x3 s2 and s1, odd sizes)', async () => {
    const rt = await testRuntime();
    const xs = [2, 3, 7, 6, 5]; // (B, C, D, H, W)
    for (const [op, k, s] of [
      ['avg_pool', 2, 2],
      ['avg_pool', 3, 2],
      ['max_pool', 2, 2],
      ['max_pool', 3, 2],
      ['max_pool', 3, 1],
    ] as const) {
      await compare(
        rt,
        `${op} 3-D k${k} s${s}`,
        op,
        [f32(6 + k, numel(xs))],
        [xs],
        { kernel: k, stride: s },
        (t, up) => {
          const [x] = t as [GpuTensor];
          const g = { planes: 6, d: 7, h: 6, w: 5, k, s, isMax: op === 'max_pool' };
          return rt.run((b) => ({ y: pool3d(rt, b, x, g), grads: [pool3dBackward(rt, b, up, x, g)] }));
        },
      );
    }
  });

  test('upsample nearest (x2, x3) and trilinear (x2, x3, align_corners=false) on volumes', async () => {
    const rt = await testRuntime();
    const xs = [2, 2, 3, 4, 5]; // (B, C, D, H, W)
    for (const [mode, scale] of [
      ['nearest', 2],
      ['nearest', 3],
      ['trilinear', 2],
      ['trilinear', 3],
    ] as const) {
      await compare(
        rt,
        `upsample 3-D ${mode} x${scale}`,
        'upsample',
        [f32(7, numel(xs))],
        [xs],
        { scale, mode },
        (t, up) => {
          const [x] = t as [GpuTensor];
          const g = { planes: 4, d: 3, h: 4, w: 5, scale, trilinear: mode === 'trilinear' };
          return rt.run((b) => ({ y: upsample3d(rt, b, x, g), grads: [upsample3dBackward(rt, b, up, g)] }));
        },
      );
    }
  });

  test('pool3d refuses a kernel larger than one axis, naming the sizes', async () => {
    const rt = await testRuntime();
    const x = rt.upload(new Float32Array(2 * 4 * 4), [2, 1, 4, 4]);
    expect(() => rt.run((b) => pool3d(rt, b, x, { planes: 2, d: 1, h: 4, w: 4, k: 2, s: 2, isMax: true }))).toThrow(
      /pool3d: kernel 2 does not fit \(1, 4, 4\)/,
    );
  });
});
