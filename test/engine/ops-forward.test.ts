// Forward values of the ops against naive double-precision TypeScript references written straight from the
// definitions (PyTorch semantics). Gradient checks only prove backward matches forward; these prove forward.
// Tolerance: 1e-4 absolute on values of order 1 (float32 kernels, sums of at most ~100 terms).
import { describe, expect, it } from 'vitest';

import { loadEngine } from '../../main/engine/binding.js';
import { randn, rng, type Input } from './gradcheck.js';

const engine = loadEngine();
const run = (
  op: string,
  inputs: Input[],
  attrs: Record<string, unknown> = {},
): { output: Float32Array; shape: number[] } =>
  engine.opForwardBackward(
    op,
    inputs.map((i) => i.data),
    inputs.map((i) => i.shape),
    JSON.stringify(attrs),
    null,
  );

function expectClose(got: Float32Array, want: number[], tol = 1e-4): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  want.forEach((w, i) => (worst = Math.max(worst, Math.abs((got[i] ?? NaN) - w))));
  expect(worst).toBeLessThanOrEqual(tol); // tol 0 only for pure data movement (max, nearest, permute, concat)
}

const at = (a: Float32Array, i: number): number => a[i] ?? NaN;

/** Naive N-D (2 or 3 spatial dims) convolution, zero padding. x (B, C, ...S), w (O, C, ...K). */
function convRef(
  x: Input,
  w: Input,
  b: Input | null,
  stride: number[],
  pad: number[],
): { out: number[]; shape: number[] } {
  const nsp = x.shape.length - 2;
  const [B = 0, C = 0] = x.shape;
  const O = w.shape[0] ?? 0;
  const S = x.shape.slice(2);
  const K = w.shape.slice(2);
  const So = S.map((s, d) => Math.floor((s + 2 * (pad[d] ?? 0) - (K[d] ?? 0)) / (stride[d] ?? 1)) + 1);
  const prod = (a: number[]): number => a.reduce((p, v) => p * v, 1);
  const unravel = (i: number, dims: number[]): number[] => {
    const idx: number[] = [];
    for (let d = dims.length - 1; d >= 0; d--) {
      idx.unshift(i % (dims[d] ?? 1));
      i = Math.floor(i / (dims[d] ?? 1));
    }
    return idx;
  };
  const out: number[] = [];
  for (let bi = 0; bi < B; bi++)
    for (let o = 0; o < O; o++)
      for (let p = 0; p < prod(So); p++) {
        const op = unravel(p, So);
        let s = b ? at(b.data, o) : 0;
        for (let c = 0; c < C; c++)
          for (let k = 0; k < prod(K); k++) {
            const kk = unravel(k, K);
            const ip = op.map((v, d) => v * (stride[d] ?? 1) - (pad[d] ?? 0) + (kk[d] ?? 0));
            if (ip.some((v, d) => v < 0 || v >= (S[d] ?? 0))) continue;
            let xi = bi * C + c;
            for (let d = 0; d < nsp; d++) xi = xi * (S[d] ?? 0) + (ip[d] ?? 0);
            let wi = o * C + c;
            for (let d = 0; d < nsp; d++) wi = wi * (K[d] ?? 0) + (kk[d] ?? 0);
            s += at(x.data, xi) * at(w.data, wi);
          }
        out.push(s);
      }
  return { out, shape: [B, O, ...So] };
}

describe('forward values against naive references', () => {
  it('conv2d with stride 2 and padding 1', () => {
    const r = rng(1);
    const x = randn([2, 3, 7, 6], r),
      w = randn([4, 3, 3, 3], r),
      b = randn([4], r);
    const ref = convRef(x, w, b, [2, 2], [1, 1]);
    const got = run('conv', [x, w, b], { stride: [2, 2], padding: [1, 1] });
    expect(got.shape).toEqual(ref.shape);
    expectClose(got.output, ref.out);
  });

  it('conv3d with per-axis stride and padding', () => {
    const r = rng(2);
    const x = randn([1, 2, 5, 4, 6], r),
      w = randn([3, 2, 3, 2, 3], r);
    const ref = convRef(x, w, null, [2, 1, 2], [1, 0, 1]);
    const got = run('conv', [x, w], { stride: [2, 1, 2], padding: [1, 0, 1] });
    expect(got.shape).toEqual(ref.shape);
    expectClose(got.output, ref.out);
  });

  it('conv_transpose2d scatters x * w (PyTorch ConvTranspose2d definition)', () => {
    const r = rng(3);
    const [B, C, H, W, O, k, s, p] = [2, 3, 3, 4, 2, 3, 2, 1];
    const x = randn([B, C, H, W], r),
      w = randn([C, O, k, k], r),
      b = randn([O], r);
    const Ho = (H - 1) * s - 2 * p + k,
      Wo = (W - 1) * s - 2 * p + k;
    const out = new Array<number>(B * O * Ho * Wo).fill(0);
    for (let bi = 0; bi < B; bi++)
      for (let o = 0; o < O; o++) for (let i = 0; i < Ho * Wo; i++) out[(bi * O + o) * Ho * Wo + i] = at(b.data, o);
    for (let bi = 0; bi < B; bi++)
      for (let c = 0; c < C; c++)
        for (let iy = 0; iy < H; iy++)
          for (let ix = 0; ix < W; ix++)
            for (let o = 0; o < O; o++)
              for (let ky = 0; ky < k; ky++)
                for (let kx = 0; kx < k; kx++) {
                  const oy = iy * s - p + ky,
                    ox = ix * s - p + kx;
                  if (oy < 0 || oy >= Ho || ox < 0 || ox >= Wo) continue;
                  const idx = ((bi * O + o) * Ho + oy) * Wo + ox;
                  out[idx] =
                    (out[idx] ?? 0) +
                    at(x.data, ((bi * C + c) * H + iy) * W + ix) * at(w.data, ((c * O + o) * k + ky) * k + kx);
                }
    const got = run('conv_transpose2d', [x, w, b], { stride: s, padding: p });
    expect(got.shape).toEqual([B, O, Ho, Wo]);
    expectClose(got.output, out);
  });

  it('layernorm over channels (channels-first) with affine parameters', () => {
    const r = rng(4);
    const [B, C, S] = [2, 5, 6];
    const x = randn([B, C, 2, 3], r),
      g = randn([C], r),
      b = randn([C], r);
    const out = new Array<number>(B * C * S);
    for (let bi = 0; bi < B; bi++)
      for (let s = 0; s < S; s++) {
        const v = Array.from({ length: C }, (_, c) => at(x.data, (bi * C + c) * S + s));
        const mean = v.reduce((a, y) => a + y, 0) / C;
        const variance = v.reduce((a, y) => a + (y - mean) ** 2, 0) / C;
        v.forEach(
          (y, c) =>
            (out[(bi * C + c) * S + s] = ((y - mean) / Math.sqrt(variance + 1e-5)) * at(g.data, c) + at(b.data, c)),
        );
      }
    expectClose(run('layernorm', [x, g, b], { channels_first: true }).output, out);
  });

  it('bilinear x2 upsampling matches PyTorch (align_corners=False) on a 2x2 image', () => {
    // torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), scale_factor=2, mode='bilinear')
    const x = { data: Float32Array.from([1, 2, 3, 4]), shape: [1, 1, 2, 2] };
    const want = [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4];
    expectClose(run('upsample', [x], { scale: 2, mode: 'bilinear' }).output, want, 1e-6);
    expectClose(
      run('upsample', [x], { scale: 2, mode: 'nearest' }).output,
      [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4],
      0,
    );
  });

  it('max and average pooling (3x3, stride 2)', () => {
    const r = rng(5);
    const x = randn([1, 2, 5, 5], r);
    const max: number[] = [],
      avg: number[] = [];
    for (let c = 0; c < 2; c++)
      for (let oy = 0; oy < 2; oy++)
        for (let ox = 0; ox < 2; ox++) {
          const v: number[] = [];
          for (let dy = 0; dy < 3; dy++)
            for (let dx = 0; dx < 3; dx++) v.push(at(x.data, (c * 5 + oy * 2 + dy) * 5 + ox * 2 + dx));
          max.push(Math.max(...v));
          avg.push(v.reduce((a, y) => a + y, 0) / 9);
        }
    expectClose(run('max_pool', [x], { kernel: 3, stride: 2 }).output, max, 0);
    expectClose(run('avg_pool', [x], { kernel: 3, stride: 2 }).output, avg);
  });

  it('glu, silu, global average pool, permute and concat', () => {
    const r = rng(6);
    const x = randn([2, 4, 3], r);
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    const glu: number[] = [];
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 6; i++) glu.push(at(x.data, b * 12 + i) * sig(at(x.data, b * 12 + 6 + i)));
    expectClose(run('glu', [x]).output, glu);
    expectClose(
      run('silu', [x]).output,
      Array.from(x.data, (v) => v * sig(v)),
    );
    const gap: number[] = [];
    for (let i = 0; i < 8; i++) gap.push((at(x.data, i * 3) + at(x.data, i * 3 + 1) + at(x.data, i * 3 + 2)) / 3);
    expectClose(run('global_avg_pool', [x]).output, gap);
    // permute (2, 4, 3) by (2, 0, 1) -> (3, 2, 4): out[k][i][j] = x[i][j][k]
    const perm = run('permute', [x], { perm: [2, 0, 1] });
    expect(perm.shape).toEqual([3, 2, 4]);
    const want: number[] = [];
    for (let k = 0; k < 3; k++)
      for (let i = 0; i < 2; i++) for (let j = 0; j < 4; j++) want.push(at(x.data, (i * 4 + j) * 3 + k));
    expectClose(perm.output, want, 0);
    const y = randn([2, 1, 3], r);
    const cat = run('concat', [x, y], { dim: 1 });
    expect(cat.shape).toEqual([2, 5, 3]);
    expectClose(
      cat.output,
      [
        ...Array.from(x.data.subarray(0, 12)),
        ...Array.from(y.data.subarray(0, 3)),
        ...Array.from(x.data.subarray(12)),
        ...Array.from(y.data.subarray(3)),
      ],
      0,
    );
  });

  it('bce with logits, soft dice, l1 and mse', () => {
    const logits = Float32Array.from([2, -1, 0.5, -3]);
    const t = Float32Array.from([1, 0, 0, 1]);
    const bce =
      Array.from(
        logits,
        (v, i) =>
          -(at(t, i) * Math.log(1 / (1 + Math.exp(-v))) + (1 - at(t, i)) * Math.log(1 - 1 / (1 + Math.exp(-v)))),
      ).reduce((a, b) => a + b, 0) / 4;
    expectClose(
      run('bce_with_logits', [
        { data: logits, shape: [2, 2] },
        { data: t, shape: [2, 2] },
      ]).output,
      [bce],
      1e-6,
    );
    const p = Float32Array.from([0.9, 0.2, 0.4, 0.7]);
    // per sample: 1 - (2 sum(p t) + 1) / (sum p + sum t + 1), then mean over the batch of 2
    const d0 = 1 - (2 * 0.9 + 1) / (1.1 + 1 + 1),
      d1 = 1 - (2 * 0.7 + 1) / (1.1 + 1 + 1);
    expectClose(
      run(
        'dice',
        [
          { data: p, shape: [2, 2] },
          { data: t, shape: [2, 2] },
        ],
        { smooth: 1 },
      ).output,
      [(d0 + d1) / 2],
      1e-6,
    );
    expectClose(
      run('l1', [
        { data: p, shape: [4] },
        { data: t, shape: [4] },
      ]).output,
      [(0.1 + 0.2 + 0.4 + 0.3) / 4],
      1e-6,
    );
    expectClose(
      run('mse', [
        { data: p, shape: [4] },
        { data: t, shape: [4] },
      ]).output,
      [(0.01 + 0.04 + 0.16 + 0.09) / 4],
      1e-6,
    );
  });
});
