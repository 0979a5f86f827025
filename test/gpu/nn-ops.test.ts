// Every layer op of the GPU graph executor, forward and backward, against the CPU engine's own op (the native test
// entry point opForwardBackward, native/src/binding/op_binding.cc) on seeded inputs and a seeded upstream gradient.
// Measure: NMSE = sum((gpu - cpu)^2) / sum(cpu^2) per tensor, asserted < 1e-12 (≈ 1e-6 relative RMS); dropout must
// give the identical mask (measured NMSE 0: same HashUniform bits in emulated 64-bit WGSL arithmetic).
import { describe, test } from 'vitest';

import {
  bceWithLogits,
  gelu,
  geluBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  glu,
  gluBackward,
  l1Loss,
  layerNorm,
  layerNormBackward,
  mseLoss,
  reduceAxis,
  softmaxCrossEntropy,
} from '../../main/gpu/ops/basic.js';
import { matmul } from '../../main/gpu/ops/matmul.js';
import {
  concat,
  concatBackward,
  conv,
  convBackward,
  convGeom,
  convTranspose2d,
  convTranspose2dBackward,
  convTransposeGeom,
  dropout,
  pool2d,
  pool2dBackward,
  softDice,
  upsample,
  upsampleBackward,
} from '../../main/gpu/ops/nn.js';
import type { GpuTensor } from '../../main/gpu/runtime.js';
import { testRuntime } from './gpu-test-device.js';
import { f32, numel, opComparison } from './op-compare.js';

const compare = opComparison('GPU op vs CPU engine (NMSE fwd | bwd per input)');

describe('GPU ops vs the CPU engine', () => {
  test('conv2d (stride 2, padding 1, bias) and conv3d (padding 1, no bias)', async () => {
    const rt = await testRuntime();
    const xs = [2, 3, 7, 6];
    const ws = [4, 3, 3, 3];
    await compare(
      rt,
      'conv2d 3x3 s2 p1',
      'conv',
      [f32(1, numel(xs)), f32(2, numel(ws)), f32(3, 4)],
      [xs, ws, [4]],
      { stride: [2, 2], padding: [1, 1] },
      (t, up) => {
        const [x, w, bias] = t as [GpuTensor, GpuTensor, GpuTensor];
        const g = convGeom(xs, 4, 3, 2, 1);
        return rt.run((b) => {
          const f = conv(rt, b, x, w, bias, g);
          const d = convBackward(rt, b, up, w, f.saved, g, true);
          return { y: f.y, grads: [d.dx, d.dw, d.dbias] };
        });
      },
    );
    const xs3 = [1, 2, 3, 4, 4];
    const ws3 = [3, 2, 2, 2, 2];
    await compare(
      rt,
      'conv3d 2x2x2 s1 p1',
      'conv',
      [f32(4, numel(xs3)), f32(5, numel(ws3))],
      [xs3, ws3],
      { stride: [1, 1, 1], padding: [1, 1, 1] },
      (t, up) => {
        const [x, w] = t as [GpuTensor, GpuTensor];
        const g = convGeom(xs3, 3, 2, 1, 1);
        return rt.run((b) => {
          const f = conv(rt, b, x, w, null, g);
          const d = convBackward(rt, b, up, w, f.saved, g, false);
          return { y: f.y, grads: [d.dx, d.dw] };
        });
      },
    );
  });

  test('conv_transpose2d (k2 s2 bias; k3 s2 p1)', async () => {
    const rt = await testRuntime();
    const xs = [2, 3, 4, 5];
    for (const [k, s, p] of [
      [2, 2, 0],
      [3, 2, 1],
    ] as const) {
      const ws = [3, 4, k, k];
      await compare(
        rt,
        `conv_transpose2d k${k} s${s} p${p}`,
        'conv_transpose2d',
        [f32(30 + k, numel(xs)), f32(31 + k, numel(ws)), f32(32, 4)],
        [xs, ws, [4]],
        { stride: s, padding: p },
        (t, up) => {
          const [x, w, bias] = t as [GpuTensor, GpuTensor, GpuTensor];
          const g = convTransposeGeom(xs, 4, k, s, p);
          return rt.run((b) => {
            const y = convTranspose2d(rt, b, x, w, bias, g);
            const d = convTranspose2dBackward(rt, b, up, x, w, g, true);
            return { y, grads: [d.dx, d.dw, d.dbias] };
          });
        },
      );
    }
  });

  test('avg_pool and max_pool (incl. overlapping windows)', async () => {
    const rt = await testRuntime();
    const xs = [2, 3, 7, 7];
    for (const [op, k, s] of [
      ['avg_pool', 3, 2],
      ['max_pool', 2, 2],
      ['max_pool', 3, 1],
    ] as const) {
      await compare(rt, `${op} k${k} s${s}`, op, [f32(6, numel(xs))], [xs], { kernel: k, stride: s }, (t, up) => {
        const [x] = t as [GpuTensor];
        const g = { planes: 6, h: 7, w: 7, k, s, isMax: op === 'max_pool' };
        return rt.run((b) => ({ y: pool2d(rt, b, x, g), grads: [pool2dBackward(rt, b, up, x, g)] }));
      });
    }
  });

  test('upsample nearest (x3) and bilinear (x2, align_corners=false)', async () => {
    const rt = await testRuntime();
    const xs = [2, 2, 3, 4];
    for (const [mode, scale] of [
      ['nearest', 3],
      ['bilinear', 2],
      ['bilinear', 3],
    ] as const) {
      await compare(
        rt,
        `upsample ${mode} x${scale}`,
        'upsample',
        [f32(7, numel(xs))],
        [xs],
        { scale, mode },
        (t, up) => {
          const [x] = t as [GpuTensor];
          const g = { planes: 4, h: 3, w: 4, scale, bilinear: mode === 'bilinear' };
          return rt.run((b) => ({ y: upsample(rt, b, x, g), grads: [upsampleBackward(rt, b, up, g)] }));
        },
      );
    }
  });

  test('concat on channels, dropout (same mask as the CPU), soft Dice', async () => {
    const rt = await testRuntime();
    const a = [2, 3, 4, 4];
    const c = [2, 2, 4, 4];
    await compare(
      rt,
      'concat (B,3,S)+(B,2,S)',
      'concat',
      [f32(8, numel(a)), f32(9, numel(c))],
      [a, c],
      { dim: 1 },
      (t, up) => {
        const [x, y] = t as [GpuTensor, GpuTensor];
        return rt.run((b) => ({ y: concat(rt, b, x, y, 2, 3, 2, 16), grads: concatBackward(rt, b, up, 2, 3, 2, 16) }));
      },
    );
    const xs = [3, 5, 7];
    const seed = 42;
    const p = 0.3;
    // Tape::NextSeed: seed + 0x9E3779B97F4A7C15 * 1 for the first dropout of a tape
    const s1 = (BigInt(seed) + 0x9e3779b97f4a7c15n) & ((1n << 64n) - 1n);
    await compare(rt, 'dropout p=0.3', 'dropout', [f32(10, numel(xs))], [xs], { p, seed, training: true }, (t, up) => {
      const [x] = t as [GpuTensor];
      return rt.run((b) => ({ y: dropout(rt, b, x, p, s1), grads: [dropout(rt, b, up, p, s1)] }));
    });
    const ds = [2, 1, 5, 5];
    await compare(
      rt,
      'soft dice (smooth 1)',
      'dice',
      [f32(11, numel(ds), 0, 1), f32(12, numel(ds), 0, 1).map((v) => (v > 0.5 ? 1 : 0))],
      [ds, ds],
      { smooth: 1 },
      (t, up) => {
        const [pr, tg] = t as [GpuTensor, GpuTensor];
        return rt.run((b) => {
          const r = softDice(rt, b, pr, tg, 2, 1);
          // scale by the upstream scalar
          const dp = matmul(rt, b, r.dp, up, { m: numel(ds), k: 1, n: 1 });
          return { y: r.loss, grads: [dp] };
        });
      },
    );
  });

  test('linear, channels-first layer norm, GLU, global average pooling, GELU', async () => {
    const rt = await testRuntime();
    await compare(
      rt,
      'linear (B=3, 5 -> 4, bias)',
      'linear',
      [f32(13, 15), f32(14, 20), f32(15, 4)],
      [[3, 5], [4, 5], [4]],
      {},
      (t, up) => {
        const [x, w, bias] = t as [GpuTensor, GpuTensor, GpuTensor];
        return rt.run((b) => ({
          y: matmul(rt, b, x, w, { m: 3, k: 5, n: 4, transB: true, bias }),
          grads: [
            matmul(rt, b, up, w, { m: 3, k: 4, n: 5 }),
            matmul(rt, b, up, x, { m: 4, k: 3, n: 5, transA: true }),
            reduceAxis(rt, b, up, 1, 3, 4),
          ],
        }));
      },
    );
    const xs = [2, 6, 3, 3];
    await compare(
      rt,
      'layernorm channels-first (B,C,H,W)',
      'layernorm',
      [f32(16, numel(xs)), f32(17, 6, 0.5, 1.5), f32(18, 6)],
      [xs, [6], [6]],
      { channels_first: true, eps: 1e-5 },
      (t, up) => {
        const [x, gm, bt] = t as [GpuTensor, GpuTensor, GpuTensor];
        const v = { outer: 2, c: 6, inner: 9 };
        return rt.run((b) => {
          const f = layerNorm(rt, b, x, gm, bt, v, 1e-5);
          const d = layerNormBackward(rt, b, up, x, gm, f.saved, v);
          return { y: f.y, grads: [d.dx, d.dgamma, d.dbeta] };
        });
      },
    );
    await compare(rt, 'glu channels-first (B,2C,S)', 'glu', [f32(19, numel(xs))], [xs], {}, (t, up) => {
      const [x] = t as [GpuTensor];
      return rt.run((b) => ({ y: glu(rt, b, x, 2, 27), grads: [gluBackward(rt, b, up, x, 2, 27)] }));
    });
    await compare(rt, 'global_avg_pool', 'global_avg_pool', [f32(20, numel(xs))], [xs], {}, (t, up) => {
      const [x] = t as [GpuTensor];
      return rt.run((b) => ({
        y: globalAvgPool(rt, b, x, 12, 9, 1),
        grads: [globalAvgPoolBackward(rt, b, up, 12, 9, 1)],
      }));
    });
    await compare(rt, 'gelu', 'gelu', [f32(21, 64, -4, 4)], [[64]], {}, (t, up) => {
      const [x] = t as [GpuTensor];
      return rt.run((b) => ({ y: gelu(rt, b, x), grads: [geluBackward(rt, b, up, x)] }));
    });
  });

  test('losses: cross-entropy with label smoothing, BCE with logits, MSE, L1', async () => {
    const rt = await testRuntime();
    const scaled = (b: Parameters<typeof matmul>[1], d: GpuTensor, up: GpuTensor, n: number): GpuTensor =>
      matmul(rt, b, d, up, { m: n, k: 1, n: 1 });
    const labels = Float32Array.of(2, 0, 4);
    await compare(
      rt,
      'cross_entropy (ls 0.1)',
      'cross_entropy',
      [f32(22, 15, -3, 3), labels],
      [[3, 5], [3]],
      { label_smoothing: 0.1 },
      (t, up) => {
        const [z] = t as [GpuTensor];
        return rt.run((b) => {
          const r = softmaxCrossEntropy(rt, b, z, rt.upload(Uint32Array.from(labels), [3], 'u32'), 3, 5, 0.1);
          return { y: r.loss, grads: [scaled(b, r.dz, up, 15)] };
        });
      },
    );
    const tg = f32(23, 12, 0, 1);
    for (const [op, fn] of [
      ['bce_with_logits', bceWithLogits],
      ['mse', mseLoss],
      ['l1', l1Loss],
    ] as const) {
      await compare(
        rt,
        op,
        op,
        [f32(24, 12, -3, 3), tg],
        [
          [3, 4],
          [3, 4],
        ],
        {},
        (t, up) => {
          const [z, y] = t as [GpuTensor, GpuTensor];
          return rt.run((b) => {
            const r = fn(rt, b, z, y);
            return { y: r.loss, grads: [scaled(b, r.dx, up, 12)] };
          });
        },
      );
    }
  });
});
