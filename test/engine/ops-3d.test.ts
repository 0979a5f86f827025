// 3-D pooling and upsampling (volumes (B, C, D, H, W)): finite-difference gradient checks (gradcheck.ts) and forward
// values against naive double-precision references written from PyTorch's definitions (max_pool3d, avg_pool3d,
// interpolate(mode='nearest' | 'trilinear', align_corners=False)).
import { describe, expect, it } from 'vitest';

import { loadEngine } from '../../main/engine/binding.js';
import { distinct, gradcheck, randn, rng, type Input } from './gradcheck.js';

const engine = loadEngine();
const run = (op: string, x: Input, attrs: Record<string, unknown>): { output: Float32Array; shape: number[] } =>
  engine.opForwardBackward(op, [x.data], [x.shape], JSON.stringify(attrs), null);

const at = (a: Float32Array, i: number): number => a[i] ?? NaN;

function maxAbsDiff(got: Float32Array, want: number[]): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  want.forEach((w, i) => (worst = Math.max(worst, Math.abs(at(got, i) - w))));
  return worst;
}

/** PyTorch max_pool3d / avg_pool3d (cubic kernel k, stride s, no padding), float64. */
function poolRef(x: Input, k: number, s: number, isMax: boolean): { out: number[]; shape: number[] } {
  const [B = 1, C = 1, D = 1, H = 1, W = 1] = x.shape;
  const [Do, Ho, Wo] = [D, H, W].map((n) => Math.floor((n - k) / s) + 1) as [number, number, number];
  const out: number[] = [];
  for (let p = 0; p < B * C; p++)
    for (let oz = 0; oz < Do; oz++)
      for (let oy = 0; oy < Ho; oy++)
        for (let ox = 0; ox < Wo; ox++) {
          const v: number[] = [];
          for (let dz = 0; dz < k; dz++)
            for (let dy = 0; dy < k; dy++)
              for (let dx = 0; dx < k; dx++)
                v.push(at(x.data, ((p * D + oz * s + dz) * H + oy * s + dy) * W + ox * s + dx));
          out.push(isMax ? Math.max(...v) : v.reduce((a, b) => a + b, 0) / v.length);
        }
  return { out, shape: [B, C, Do, Ho, Wo] };
}

/** PyTorch's area-free linear source index, align_corners=False: clamp((o + 0.5) / scale - 0.5, 0) and neighbours. */
function taps(o: number, scale: number, n: number): [number, number, number] {
  const src = Math.max(0, (o + 0.5) / scale - 0.5);
  const i0 = Math.min(Math.floor(src), n - 1);
  return [i0, Math.min(i0 + 1, n - 1), src - i0];
}

function upsampleRef(x: Input, scale: number, trilinear: boolean): number[] {
  const [B = 1, C = 1, D = 1, H = 1, W = 1] = x.shape;
  const out: number[] = [];
  const v = (p: number, z: number, y: number, xx: number): number => at(x.data, ((p * D + z) * H + y) * W + xx);
  for (let p = 0; p < B * C; p++)
    for (let oz = 0; oz < D * scale; oz++)
      for (let oy = 0; oy < H * scale; oy++)
        for (let ox = 0; ox < W * scale; ox++) {
          if (!trilinear) {
            out.push(v(p, Math.floor(oz / scale), Math.floor(oy / scale), Math.floor(ox / scale)));
            continue;
          }
          const tz = taps(oz, scale, D),
            ty = taps(oy, scale, H),
            tx = taps(ox, scale, W);
          let acc = 0;
          for (const [iz, wz] of [
            [tz[0], 1 - tz[2]],
            [tz[1], tz[2]],
          ] as const)
            for (const [iy, wy] of [
              [ty[0], 1 - ty[2]],
              [ty[1], ty[2]],
            ] as const)
              for (const [ix, wx] of [
                [tx[0], 1 - tx[2]],
                [tx[1], tx[2]],
              ] as const)
                acc += wz * wy * wx * v(p, iz, iy, ix);
          out.push(acc);
        }
  return out;
}

describe('3-D pooling and upsampling: forward values', () => {
  it('max_pool / avg_pool 2x2x2 stride 2 and 3x3x3 stride 2 match the references', () => {
    const r = rng(11);
    const x = randn([2, 3, 6, 5, 7], r);
    for (const [k, s] of [
      [2, 2],
      [3, 2],
    ] as const) {
      const mx = poolRef(x, k, s, true);
      const got = run('max_pool', x, { kernel: k, stride: s });
      expect(got.shape).toEqual(mx.shape);
      expect(maxAbsDiff(got.output, mx.out)).toBe(0);
      const av = poolRef(x, k, s, false);
      expect(maxAbsDiff(run('avg_pool', x, { kernel: k, stride: s }).output, av.out)).toBeLessThan(1e-6);
    }
  });

  it('trilinear x2 matches PyTorch on a 2x2x2 volume (hand values) and the reference on a random one', () => {
    // torch.nn.functional.interpolate(torch.arange(8.).reshape(1,1,2,2,2), scale_factor=2, mode='trilinear')[0,0,1,1]
    // = [1.5, 1.75, 2.25, 2.5]: value 4z + 2y + x at depth 1 -> z 0.25, row 1 -> y 0.25, cols -> x 0, .25, .75, 1 (clamped)
    const cube = { data: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), shape: [1, 1, 2, 2, 2] };
    const y = run('upsample', cube, { scale: 2, mode: 'trilinear' });
    expect(y.shape).toEqual([1, 1, 4, 4, 4]);
    expect(Array.from(y.output.slice(16 + 4, 16 + 8))).toEqual([1.5, 1.75, 2.25, 2.5]);
    expect(maxAbsDiff(y.output, upsampleRef(cube, 2, true))).toBeLessThan(1e-6);
    const x = randn([1, 2, 3, 4, 5], rng(12));
    for (const scale of [2, 3]) {
      expect(
        maxAbsDiff(run('upsample', x, { scale, mode: 'trilinear' }).output, upsampleRef(x, scale, true)),
      ).toBeLessThan(1e-6);
      expect(maxAbsDiff(run('upsample', x, { scale, mode: 'nearest' }).output, upsampleRef(x, scale, false))).toBe(0);
    }
  });

  it('trilinear uses the same align_corners=false convention as bilinear: a depth-constant volume gives bilinear slices', () => {
    const img = randn([1, 1, 3, 4], rng(13)); // (B, C, H, W)
    const bil = run('upsample', img, { scale: 2, mode: 'bilinear' }).output; // (1, 1, 6, 8)
    const vol = { data: new Float32Array(3 * 12), shape: [1, 1, 3, 3, 4] }; // the image repeated over D = 3
    for (let z = 0; z < 3; z++) vol.data.set(img.data, z * 12);
    const tri = run('upsample', vol, { scale: 2, mode: 'trilinear' }).output; // (1, 1, 6, 6, 8)
    for (let z = 0; z < 6; z++) {
      let worst = 0;
      for (let i = 0; i < 48; i++) worst = Math.max(worst, Math.abs(at(tri, z * 48 + i) - at(bil, i)));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it('rejects inputs that are neither 2-D nor 3-D, and kernels that do not fit, naming the op and the shape', () => {
    const x = randn([1, 1, 4, 4, 4, 4], rng(1));
    expect(() => run('max_pool', x, { kernel: 2, stride: 2 })).toThrow(/max_pool: input must be .*\(B, C, D, H, W\)/);
    expect(() => run('upsample', x, { scale: 2, mode: 'trilinear' })).toThrow(/upsample: input must be/);
    expect(() => run('avg_pool', randn([1, 1, 4, 1, 4], rng(1)), { kernel: 2, stride: 2 })).toThrow(
      /avg_pool: kernel 2 does not fit/,
    );
  });
});

type Case = [name: string, op: string, make: (r: () => number) => Input[], attrs: Record<string, unknown>];

const cases: Case[] = [
  ['avg_pool3d 2x2x2', 'avg_pool', (r) => [randn([1, 2, 4, 4, 4], r)], { kernel: 2, stride: 2 }],
  ['avg_pool3d 3x3x3 stride 2 (overlapping)', 'avg_pool', (r) => [randn([1, 1, 5, 5, 5], r)], { kernel: 3, stride: 2 }],
  ['max_pool3d 2x2x2 (distinct values)', 'max_pool', (r) => [distinct([2, 2, 4, 4, 4], r)], { kernel: 2, stride: 2 }],
  [
    'max_pool3d 3x3x3 stride 2 (overlapping, distinct values)',
    'max_pool',
    (r) => [distinct([1, 2, 5, 5, 5], r)],
    { kernel: 3, stride: 2 },
  ],
  ['upsample3d nearest x2', 'upsample', (r) => [randn([1, 2, 2, 3, 3], r)], { scale: 2, mode: 'nearest' }],
  ['upsample3d trilinear x2', 'upsample', (r) => [randn([1, 2, 3, 3, 4], r)], { scale: 2, mode: 'trilinear' }],
  ['upsample3d trilinear x3', 'upsample', (r) => [randn([1, 1, 2, 3, 2], r)], { scale: 3, mode: 'trilinear' }],
];

describe('3-D pooling and upsampling: gradients (central differences, float32)', () => {
  it.each(cases)('%s', (_name, op, make, attrs) => {
    const report = gradcheck(engine, op, make(rng(42)), attrs, { samples: 80 });
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toBeGreaterThan(0);
  });

  it('catches a trilinear backward that drops the depth weight (one element off)', () => {
    const bad = gradcheck(
      engine,
      'upsample',
      [randn([1, 1, 2, 2, 2], rng(5))],
      { scale: 2, mode: 'trilinear' },
      { corrupt: (g) => g[0] && (g[0][3] = (g[0][3] ?? 0) * 1.25) },
    );
    expect(bad.ok).toBe(false);
  });
});
