// 3-D pooling and upsampling on the GPU (main/gpu/ops/resample3d.ts), forward and backward, against the CPU engine's
// own ops (opForwardBackward) on seeded inputs and a seeded upstream gradient, as test/gpu/nn-ops.test.ts does for the
// 2-D ones. Measure: NMSE = sum((gpu - cpu)^2) / sum(cpu^2) per tensor, asserted < 1e-12.
import { describe, expect, test } from 'vitest';

import { pool3d, pool3dBackward, upsample3d, upsample3dBackward } from '../../main/gpu/ops/resample3d.js';
import type { GpuTensor } from '../../main/gpu/runtime.js';
import { testRuntime } from './gpu-test-device.js';
import { f32, numel, opComparison } from './op-compare.js';

const compare = opComparison('GPU 3-D op vs CPU engine (NMSE fwd | bwd)');

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
