// Gradient checks for every native op (see gradcheck.ts for the method and the tolerances), plus forward values
// against small hand-computed references.
import { describe, expect, it } from 'vitest';

import { loadEngine } from '../../main/engine/binding.js';
import { distinct, gradcheck, randn, rng, type Input } from './gradcheck.js';

const engine = loadEngine();

function awayFromZero(shape: number[], r: () => number): Input {
  const x = randn(shape, r);
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i] ?? 0;
    x.data[i] = v >= 0 ? v + 0.1 : v - 0.1;
  }
  return x;
}

function uniform(shape: number[], r: () => number, lo: number, hi: number): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: Float32Array.from({ length: n }, () => lo + (hi - lo) * r()), shape };
}

const constant = (x: Input): Input => ({ ...x, constant: true });

type Case = [name: string, op: string, make: (r: () => number) => Input[], attrs?: Record<string, unknown>];

const cases: Case[] = [
  ['linear (N, in) + bias', 'linear', (r) => [randn([3, 5], r), randn([4, 5], r), randn([4], r)]],
  ['linear (B, T, in), no bias', 'linear', (r) => [randn([2, 3, 5], r), randn([4, 5], r)]],
  ['matmul', 'matmul', (r) => [randn([3, 4], r), randn([4, 5], r)]],
  [
    'conv2d 3x3 pad 1',
    'conv',
    (r) => [randn([2, 3, 6, 5], r), randn([4, 3, 3, 3], r, 0.5), randn([4], r)],
    { stride: [1, 1], padding: [1, 1] },
  ],
  [
    'conv2d patchify 2x2 stride 2',
    'conv',
    (r) => [randn([2, 2, 6, 6], r), randn([3, 2, 2, 2], r), randn([3], r)],
    { stride: [2, 2], padding: [0, 0] },
  ],
  [
    'conv2d 3x3 stride 2 pad 1 (downsample)',
    'conv',
    (r) => [randn([1, 2, 7, 6], r), randn([2, 2, 3, 3], r)],
    { stride: [2, 2], padding: [1, 1] },
  ],
  [
    'conv3d 3x3x3, stride (2,1,1), pad (1,1,0)',
    'conv',
    (r) => [randn([1, 2, 4, 5, 4], r), randn([3, 2, 3, 3, 3], r, 0.5), randn([3], r)],
    { stride: [2, 1, 1], padding: [1, 1, 0] },
  ],
  [
    'conv_transpose2d 2x2 stride 2 (learned upsampling)',
    'conv_transpose2d',
    (r) => [randn([2, 3, 3, 4], r), randn([3, 2, 2, 2], r), randn([2], r)],
    { stride: 2, padding: 0 },
  ],
  [
    'conv_transpose2d 3x3 stride 2 pad 1',
    'conv_transpose2d',
    (r) => [randn([1, 2, 3, 3], r), randn([2, 3, 3, 3], r, 0.5)],
    { stride: 2, padding: 1 },
  ],
  ['upsample nearest x2', 'upsample', (r) => [randn([1, 2, 3, 3], r)], { scale: 2, mode: 'nearest' }],
  ['upsample bilinear x2', 'upsample', (r) => [randn([1, 2, 3, 4], r)], { scale: 2, mode: 'bilinear' }],
  [
    'layernorm channels-first',
    'layernorm',
    (r) => [randn([2, 5, 3, 2], r), randn([5], r), randn([5], r)],
    { channels_first: true },
  ],
  [
    'layernorm channels-last',
    'layernorm',
    (r) => [randn([4, 6], r), randn([6], r), randn([6], r)],
    { channels_first: false },
  ],
  ['gelu', 'gelu', (r) => [randn([3, 7], r, 2)]],
  ['silu', 'silu', (r) => [randn([3, 7], r, 2)]],
  ['sigmoid', 'sigmoid', (r) => [randn([3, 7], r, 2)]],
  ['relu (inputs away from 0)', 'relu', (r) => [awayFromZero([3, 7], r)]],
  ['glu', 'glu', (r) => [randn([2, 4, 3], r)]],
  ['dropout p=0.3 (seeded mask)', 'dropout', (r) => [randn([4, 8], r)], { p: 0.3, seed: 7 }],
  ['add', 'add', (r) => [randn([2, 3, 4], r), randn([2, 3, 4], r)]],
  ['mul', 'mul', (r) => [randn([2, 3, 4], r), randn([2, 3, 4], r)]],
  ['concat dim 1', 'concat', (r) => [randn([2, 3, 2], r), randn([2, 2, 2], r)], { dim: 1 }],
  ['reshape', 'reshape', (r) => [randn([2, 3, 4], r)], { shape: [6, 4] }],
  ['permute (2,0,1)', 'permute', (r) => [randn([2, 3, 4], r)], { perm: [2, 0, 1] }],
  ['avg_pool 2x2', 'avg_pool', (r) => [randn([1, 2, 4, 4], r)], { kernel: 2, stride: 2 }],
  [
    'max_pool 3x3 stride 2 (overlapping, distinct values)',
    'max_pool',
    (r) => [distinct([1, 2, 5, 5], r)],
    { kernel: 3, stride: 2 },
  ],
  ['global_avg_pool', 'global_avg_pool', (r) => [randn([2, 3, 4, 2], r)]],
  [
    'cross_entropy + label smoothing 0.1',
    'cross_entropy',
    (r) => [randn([4, 5], r, 2), constant({ data: Float32Array.from([0, 3, 4, 1]), shape: [4] })],
    { label_smoothing: 0.1 },
  ],
  ['bce_with_logits', 'bce_with_logits', (r) => [randn([3, 4], r, 3), constant(uniform([3, 4], r, 0, 1))]],
  ['soft dice', 'dice', (r) => [uniform([2, 3, 3], r, 0.1, 0.9), constant(uniform([2, 3, 3], r, 0, 1))], { smooth: 1 }],
  [
    'l1 (|pred - target| > eps)',
    'l1',
    (r) => [awayFromZero([3, 4], r), constant({ data: new Float32Array(12), shape: [3, 4] })],
  ],
  ['mse', 'mse', (r) => [randn([3, 4], r), constant(randn([3, 4], r))]],
];

describe('op gradients (central differences, float32)', () => {
  it.each(cases)('%s', (_name, op, make, attrs = {}) => {
    const report = gradcheck(engine, op, make(rng(42)), attrs);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toBeGreaterThan(0);
  });

  it('catches a deliberately wrong gradient (one element off by 10%)', () => {
    const r = rng(3);
    const inputs = [randn([3, 5], r), randn([4, 5], r), randn([4], r)];
    const good = gradcheck(engine, 'linear', inputs);
    expect(good.ok).toBe(true);
    const bad = gradcheck(
      engine,
      'linear',
      inputs,
      {},
      {
        corrupt: (grads) => {
          const g = grads[1];
          if (g) g[0] = (g[0] ?? 0) * 1.1; // |g[0]| = 0.218 here: 0.022 off vs a tolerance of 0.0064
        },
      },
    );
    expect(bad.ok).toBe(false);
    expect(bad.failures[0]).toMatch(/^input 1\[0\]/);
  });

  it('catches a gradient rule that is wrong everywhere (sign flip)', () => {
    const r = rng(4);
    const bad = gradcheck(
      engine,
      'gelu',
      [randn([2, 5], r)],
      {},
      {
        corrupt: (grads) => grads[0]?.forEach((v, i, a) => (a[i] = -v)),
      },
    );
    expect(bad.ok).toBe(false);
  });
});

describe('op forward values', () => {
  it('linear matches a hand computation', () => {
    const x = Float32Array.from([1, 2, 3, 4]); // (2, 2)
    const w = Float32Array.from([1, 0, 0.5, -1, 2, 1]); // (3, 2)
    const b = Float32Array.from([0, 1, -1]);
    const y = engine.opForwardBackward('linear', [x, w, b], [[2, 2], [3, 2], [3]], '{}', null);
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.output)).toEqual([1, 0.5 - 2 + 1, 2 + 2 - 1, 3, 1.5 - 4 + 1, 6 + 4 - 1]);
  });

  it('large GEMM (through linear) matches a naive double-precision product', () => {
    const r = rng(9);
    const M = 67,
      K = 131,
      N = 45;
    const x = randn([M, K], r),
      w = randn([N, K], r);
    const y = engine.opForwardBackward('linear', [x.data, w.data], [x.shape, w.shape], '{}', null).output;
    let maxErr = 0;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += (x.data[i * K + k] ?? 0) * (w.data[j * K + k] ?? 0);
        maxErr = Math.max(maxErr, Math.abs(s - (y[i * N + j] ?? 0)));
      }
    // float32 accumulation over K=131 terms of size <= 1: error well below 1e-4.
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('gelu is the exact erf form (not the tanh approximation)', () => {
    const y = engine.opForwardBackward('gelu', [Float32Array.from([1, -2])], [[2]], '{}', null).output;
    // 0.5 x (1 + erf(x / sqrt 2)): 0.8413447, -0.0455003 (tanh form gives 0.841192, -0.045402)
    expect(y[0]).toBeCloseTo(0.8413447, 6);
    expect(y[1]).toBeCloseTo(-0.0455003, 6);
  });

  it('cross-entropy with label smoothing matches the definition', () => {
    const logits = Float32Array.from([2, 0, -1]);
    const y = engine.opForwardBackward(
      'cross_entropy',
      [logits, Float32Array.from([0])],
      [[1, 3], [1]],
      '{"label_smoothing":0.3}',
      null,
    ).output;
    const z = Math.log(Math.exp(2) + 1 + Math.exp(-1));
    const logp = [2 - z, -z, -1 - z];
    const want = -(0.7 * (logp[0] ?? 0) + (0.3 / 3) * logp.reduce((a, b) => a + b, 0));
    expect(y[0]).toBeCloseTo(want, 5);
  });

  it('dropout is the identity in evaluation mode and zeroes about p of the values in training', () => {
    const x = new Float32Array(10000).fill(1);
    const evalOut = engine.opForwardBackward('dropout', [x], [[10000]], '{"p":0.25,"training":false}', null).output;
    expect(evalOut.every((v) => v === 1)).toBe(true);
    const trainOut = engine.opForwardBackward('dropout', [x], [[10000]], '{"p":0.25,"seed":5}', null).output;
    const zeros = trainOut.filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(2300);
    expect(zeros).toBeLessThan(2700);
    expect(trainOut.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
  });

  it('rejects mismatched shapes with a message naming the op', () => {
    expect(() =>
      engine.opForwardBackward(
        'add',
        [new Float32Array(6), new Float32Array(4)],
        [
          [2, 3],
          [2, 2],
        ],
        '{}',
        null,
      ),
    ).toThrow(/add: shapes differ, \(2, 3\) vs \(2, 2\)/);
  });
});
