// Every basic op, forward and backward, against float64 references on seeded inputs (ggml test-backend-ops style).
// Forward: GPU vs a float64 JS implementation. Backward: GPU vs central finite differences of that float64 forward
// (L = sum(y * g) with a seeded g), so each gradient rule is checked against the definition, not a second formula.
// Errors are normalised mean squared errors (NMSE = sum (a - r)^2 / sum r^2).
import { afterAll, describe, expect, test } from 'vitest';

import {
  adamW,
  add,
  addBackward,
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
  mul,
  mulBackward,
  relu,
  reluBackward,
  sigmoid,
  sigmoidBackward,
  silu,
  siluBackward,
  softmaxCrossEntropy,
} from '../../main/gpu/ops/basic.js';
import { matmul, matmulBackward } from '../../main/gpu/ops/matmul.js';
import { type GpuRuntime, type GpuTensor } from '../../main/gpu/runtime.js';
import { f32, finiteDiff, nmse, seeded, testRuntime, up } from './gpu-test-device.js';

// Float32 storage and arithmetic give NMSE ~1e-14; finite differences in float64 (h = 1e-6) add ~1e-18.
// 1e-12 NMSE is about 1e-6 relative RMS error.
const TOL_FWD = 1e-12;
const TOL_BWD = 1e-12;
const measured: string[] = [];

function record(name: string, e: number): number {
  measured.push(`${name.padEnd(28)} NMSE ${e.toExponential(2)}`);
  return e;
}

afterAll(() => {
  console.log(`GPU op errors vs float64 reference (SwiftShader):\n  ${measured.join('\n  ')}`);
});

async function read(rt: GpuRuntime, t: GpuTensor): Promise<Float64Array> {
  return Float64Array.from(await rt.read(t));
}

// ---- float64 references ----

function erf64(x: number): number {
  // erf via its Maclaurin series (|x| < 3) or continued fraction for erfc: accurate to ~1e-15 for our ranges.
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Lentz continued fraction for erfc(ax)
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = ax + an * d;
    d = 1 / d;
    c = ax + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}
const gelu64 = (x: number): number => 0.5 * x * (1 + erf64(x / Math.SQRT2));
const sig = (x: number): number => 1 / (1 + Math.exp(-x));

describe('gpu ops (forward vs float64, backward vs finite differences)', () => {
  test('erf helper of the reference is accurate', () => {
    expect(Math.abs(erf64(0.5) - 0.5204998778130465)).toBeLessThan(1e-15);
    expect(Math.abs(erf64(3.5) - 0.9999992569016276)).toBeLessThan(1e-15);
  });

  test('add, mul', async () => {
    const rt = await testRuntime();
    const n = 1000;
    const x = f32(seeded(1, n));
    const y = f32(seeded(2, n));
    const g = f32(seeded(3, n));
    const [X, Y, G] = [up(rt, x, [n]), up(rt, y, [n]), up(rt, g, [n])];
    const r = rt.run((b) => ({
      s: add(rt, b, X, Y),
      p: mul(rt, b, X, Y),
      ab: addBackward(rt, b, G),
      mb: mulBackward(rt, b, G, X, Y),
    }));
    expect(
      record(
        'add fwd',
        nmse(
          await read(rt, r.s),
          x.map((v, i) => v + (y[i] ?? 0)),
        ),
      ),
    ).toBeLessThan(TOL_FWD);
    expect(
      record(
        'mul fwd',
        nmse(
          await read(rt, r.p),
          x.map((v, i) => v * (y[i] ?? 0)),
        ),
      ),
    ).toBeLessThan(TOL_FWD);
    expect(record('add bwd', nmse(await read(rt, r.ab[0]), g))).toBeLessThan(TOL_BWD);
    const fdx = finiteDiff((v) => v.map((a, i) => a * (y[i] ?? 0)), x, g);
    const fdy = finiteDiff((v) => v.map((a, i) => a * (x[i] ?? 0)), y, g);
    expect(record('mul bwd dx', nmse(await read(rt, r.mb[0]), fdx))).toBeLessThan(TOL_BWD);
    expect(record('mul bwd dy', nmse(await read(rt, r.mb[1]), fdy))).toBeLessThan(TOL_BWD);
  });

  test('GELU (exact erf), SiLU', async () => {
    const rt = await testRuntime();
    const n = 2000;
    const x = f32(seeded(4, n, -6, 6));
    const g = f32(seeded(5, n));
    const X = up(rt, x, [n]);
    const G = up(rt, g, [n]);
    const r = rt.run((b) => ({
      ge: gelu(rt, b, X),
      gb: geluBackward(rt, b, G, X),
      si: silu(rt, b, X),
      sb: siluBackward(rt, b, G, X),
    }));
    const geRef = x.map(gelu64);
    expect(record('gelu fwd', nmse(await read(rt, r.ge), geRef))).toBeLessThan(TOL_FWD);
    // Pointwise relative check as well: the erf must be float32-accurate, not just good on average.
    const ge = await read(rt, r.ge);
    let worst = 0;
    for (let i = 0; i < n; i++)
      worst = Math.max(worst, Math.abs((ge[i] ?? 0) - (geRef[i] ?? 0)) / Math.max(1e-3, Math.abs(geRef[i] ?? 0)));
    measured.push(`${'gelu fwd max rel (|y|>1e-3)'.padEnd(28)} ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(2e-6); // a few float32 ulps
    expect(
      record(
        'gelu bwd',
        nmse(
          await read(rt, r.gb),
          finiteDiff((v) => v.map(gelu64), x, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
    const silu64 = (v: number): number => v * sig(v);
    expect(record('silu fwd', nmse(await read(rt, r.si), x.map(silu64)))).toBeLessThan(TOL_FWD);
    expect(
      record(
        'silu bwd',
        nmse(
          await read(rt, r.sb),
          finiteDiff((v) => v.map(silu64), x, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
  });

  test('ReLU, sigmoid', async () => {
    const rt = await testRuntime();
    const n = 1000;
    const x = f32(seeded(90, n, -5, 5));
    const g = f32(seeded(91, n));
    const [X, G] = [up(rt, x, [n]), up(rt, g, [n])];
    const r = rt.run((b) => ({
      re: relu(rt, b, X),
      rb: reluBackward(rt, b, G, X),
      sg: sigmoid(rt, b, X),
      sb: sigmoidBackward(rt, b, G, X),
    }));
    const relu64 = (v: number): number => Math.max(v, 0);
    expect(record('relu fwd', nmse(await read(rt, r.re), x.map(relu64)))).toBeLessThan(TOL_FWD);
    expect(
      record(
        'relu bwd',
        nmse(
          await read(rt, r.rb),
          finiteDiff((v) => v.map(relu64), x, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
    expect(record('sigmoid fwd', nmse(await read(rt, r.sg), x.map(sig)))).toBeLessThan(TOL_FWD);
    expect(
      record(
        'sigmoid bwd',
        nmse(
          await read(rt, r.sb),
          finiteDiff((v) => v.map(sig), x, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
  });

  test('S4ND output head (linear=false): GELU -> pointwise linear (channels-first, bias per row) -> GLU', async () => {
    // Composes the GPU ops the way the engine's S4ND head does (README section 9), on (B, CH, S), with the chain
    // rule applied op by op, against float64 + finite differences of the whole head.
    const rt = await testRuntime();
    const [nb, ch, h, sp] = [2, 6, 3, 10]; // W: (2H, CH)
    const x = f32(seeded(92, nb * ch * sp, -2, 2));
    const w = f32(seeded(93, 2 * h * ch));
    const bias = f32(seeded(94, 2 * h));
    const g = f32(seeded(95, nb * h * sp));
    const head = (xv: Float64Array, wv: Float64Array, bv: Float64Array): Float64Array => {
      const out = new Float64Array(nb * h * sp);
      for (let b = 0; b < nb; b++)
        for (let s = 0; s < sp; s++) {
          const v = new Float64Array(2 * h);
          for (let o = 0; o < 2 * h; o++) {
            let acc = bv[o] ?? 0;
            for (let j = 0; j < ch; j++) acc += (wv[o * ch + j] ?? 0) * gelu64(xv[(b * ch + j) * sp + s] ?? 0);
            v[o] = acc;
          }
          for (let o = 0; o < h; o++) out[(b * h + o) * sp + s] = (v[o] ?? 0) * sig(v[h + o] ?? 0);
        }
      return out;
    };
    const [X, W, Bi, G] = [
      up(rt, x, [nb, ch, sp]),
      up(rt, w, [2 * h, ch]),
      up(rt, bias, [2 * h]),
      up(rt, g, [nb, h, sp]),
    ];
    const r = rt.run((b) => {
      const z = gelu(rt, b, X); // (B, CH, S)
      const v = matmul(rt, b, W, z, { m: 2 * h, n: sp, k: ch, batch: nb, strideA: 0, bias: Bi, biasPerRow: true }); // (B, 2H, S)
      const y = glu(rt, b, v, nb, h * sp); // (B, H, S)
      const dv = gluBackward(rt, b, G, v, nb, h * sp); // (B, 2H, S)
      const dz = matmul(rt, b, W, dv, { m: ch, n: sp, k: 2 * h, batch: nb, strideA: 0, transA: true }); // (B, CH, S)
      const dwPerBatch = matmul(rt, b, dv, z, { m: 2 * h, n: ch, k: sp, batch: nb, transB: true }); // (B, 2H, CH)
      const dw = reduceAxis(rt, b, dwPerBatch, 1, nb, 2 * h * ch); // (2H, CH)
      const db = reduceAxis(rt, b, dv, nb * 2 * h, sp, 1); // (B, 2H)
      const dbias = reduceAxis(rt, b, db, 1, nb, 2 * h); // (2H)
      const dx = geluBackward(rt, b, dz, X); // (B, CH, S)
      return { y, dx, dw, dbias };
    });
    expect(record('s4nd head fwd', nmse(await read(rt, r.y), head(x, w, bias)))).toBeLessThan(TOL_FWD);
    expect(
      record(
        's4nd head bwd dx',
        nmse(
          await read(rt, r.dx),
          finiteDiff((v) => head(v, w, bias), x, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
    expect(
      record(
        's4nd head bwd dW',
        nmse(
          await read(rt, r.dw),
          finiteDiff((v) => head(x, v, bias), w, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
    expect(
      record(
        's4nd head bwd dbias',
        nmse(
          await read(rt, r.dbias),
          finiteDiff((v) => head(x, w, v), bias, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
  });

  test('GLU (channels-last and channels-first views)', async () => {
    const rt = await testRuntime();
    for (const [outer, half, name] of [
      [6, 5, 'glu (M,2H)'],
      [2, 12, 'glu (B,2H,L)'],
    ] as const) {
      const n = outer * 2 * half;
      const x = f32(seeded(6, n, -3, 3));
      const g = f32(seeded(7, outer * half));
      const X = up(rt, x, [n]);
      const G = up(rt, g, [outer * half]);
      const ref = (v: Float64Array): Float64Array => {
        const o = new Float64Array(outer * half);
        for (let a = 0; a < outer; a++)
          for (let j = 0; j < half; j++)
            o[a * half + j] = (v[a * 2 * half + j] ?? 0) * sig(v[a * 2 * half + half + j] ?? 0);
        return o;
      };
      const r = rt.run((b) => ({ y: glu(rt, b, X, outer, half), dx: gluBackward(rt, b, G, X, outer, half) }));
      expect(record(`${name} fwd`, nmse(await read(rt, r.y), ref(x)))).toBeLessThan(TOL_FWD);
      expect(record(`${name} bwd`, nmse(await read(rt, r.dx), finiteDiff(ref, x, g)))).toBeLessThan(TOL_BWD);
    }
  });

  test('matmul (+bias, transposes, batch) and its backward', async () => {
    const rt = await testRuntime();
    const [m, k, n] = [19, 37, 23]; // not multiples of the 16x16 tile
    const a = f32(seeded(8, m * k));
    const w = f32(seeded(9, k * n));
    const bias = f32(seeded(10, n));
    const g = f32(seeded(11, m * n));
    const mm = (A: Float64Array, B: Float64Array, bs: Float64Array | null): Float64Array => {
      const o = new Float64Array(m * n);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = bs ? (bs[j] ?? 0) : 0;
          for (let q = 0; q < k; q++) s += (A[i * k + q] ?? 0) * (B[q * n + j] ?? 0);
          o[i * n + j] = s;
        }
      return o;
    };
    const transpose = (x: Float64Array, r: number, c: number): Float64Array => {
      const o = new Float64Array(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) o[j * r + i] = x[i * c + j] ?? 0;
      return o;
    };
    const [A, W, Bi, G] = [up(rt, a, [m, k]), up(rt, w, [k, n]), up(rt, bias, [n]), up(rt, g, [m, n])];
    const At = up(rt, transpose(a, m, k), [k, m]);
    const Wt = up(rt, transpose(w, k, n), [n, k]);
    const r = rt.run((b) => ({
      y: matmul(rt, b, A, W, { m, n, k, bias: Bi }),
      yt: matmul(rt, b, At, Wt, { m, n, k, transA: true, transB: true }),
      bw: matmulBackward(rt, b, G, A, W, m, n, k, true),
    }));
    expect(record('matmul+bias fwd', nmse(await read(rt, r.y), mm(a, w, bias)))).toBeLessThan(TOL_FWD);
    expect(record('matmul A^T B^T fwd', nmse(await read(rt, r.yt), mm(a, w, null)))).toBeLessThan(TOL_FWD);
    expect(
      record(
        'matmul bwd dA',
        nmse(
          await read(rt, r.bw.dA),
          finiteDiff((v) => mm(v, w, bias), a, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
    expect(
      record(
        'matmul bwd dB',
        nmse(
          await read(rt, r.bw.dB),
          finiteDiff((v) => mm(a, v, bias), w, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
    const dbias = r.bw.dbias;
    if (!dbias) throw new Error('no dbias');
    expect(
      record(
        'matmul bwd dbias',
        nmse(
          await read(rt, dbias),
          finiteDiff((v) => mm(a, w, v), bias, g),
        ),
      ),
    ).toBeLessThan(TOL_BWD);
    // batched with a broadcast B (stride 0)
    const batch = 3;
    const a3 = f32(seeded(12, batch * m * k));
    const A3 = up(rt, a3, [batch, m, k]);
    const y3 = rt.run((b) => matmul(rt, b, A3, W, { m, n, k, batch, strideB: 0 }));
    const ref3 = new Float64Array(batch * m * n);
    for (let z = 0; z < batch; z++) ref3.set(mm(a3.subarray(z * m * k, (z + 1) * m * k), w, null), z * m * n);
    expect(record('matmul batched fwd', nmse(await read(rt, y3), ref3))).toBeLessThan(TOL_FWD);
  });

  test('layer norm over channels: channels-last (rows, C) and channels-first (B, C, S)', async () => {
    const rt = await testRuntime();
    // c = 300 > 256 exercises the strided per-thread loop; inner = 7 the channels-first stride.
    for (const [outer, c, inner, name] of [
      [5, 300, 1, 'layernorm (rows,C)'],
      [2, 6, 7, 'layernorm (B,C,S)'],
    ] as const) {
      const n = outer * c * inner;
      const x = f32(seeded(13, n, -2, 3));
      const gam = f32(seeded(14, c, 0.5, 1.5));
      const bet = f32(seeded(15, c));
      const g = f32(seeded(16, n));
      const eps = 1e-5;
      const ln = (v: Float64Array, gm: Float64Array, bt: Float64Array): Float64Array => {
        const o = new Float64Array(n);
        for (let a = 0; a < outer; a++)
          for (let q = 0; q < inner; q++) {
            const at = (j: number): number => (a * c + j) * inner + q;
            let mu = 0;
            for (let j = 0; j < c; j++) mu += v[at(j)] ?? 0;
            mu /= c;
            let va = 0;
            for (let j = 0; j < c; j++) va += ((v[at(j)] ?? 0) - mu) ** 2;
            const rs = 1 / Math.sqrt(va / c + eps);
            for (let j = 0; j < c; j++) o[at(j)] = ((v[at(j)] ?? 0) - mu) * rs * (gm[j] ?? 0) + (bt[j] ?? 0);
          }
        return o;
      };
      const view = { outer, c, inner };
      const [X, Gm, Bt, G] = [
        up(rt, x, [outer, c, inner]),
        up(rt, gam, [c]),
        up(rt, bet, [c]),
        up(rt, g, [outer, c, inner]),
      ];
      const r = rt.run((b) => {
        const f = layerNorm(rt, b, X, Gm, Bt, view, eps);
        return { y: f.y, bw: layerNormBackward(rt, b, G, X, Gm, f.saved, view) };
      });
      expect(record(`${name} fwd`, nmse(await read(rt, r.y), ln(x, gam, bet)))).toBeLessThan(TOL_FWD);
      expect(
        record(
          `${name} bwd dx`,
          nmse(
            await read(rt, r.bw.dx),
            finiteDiff((v) => ln(v, gam, bet), x, g),
          ),
        ),
      ).toBeLessThan(TOL_BWD);
      expect(
        record(
          `${name} bwd dgamma`,
          nmse(
            await read(rt, r.bw.dgamma),
            finiteDiff((v) => ln(x, v, bet), gam, g),
          ),
        ),
      ).toBeLessThan(TOL_BWD);
      expect(
        record(
          `${name} bwd dbeta`,
          nmse(
            await read(rt, r.bw.dbeta),
            finiteDiff((v) => ln(x, gam, v), bet, g),
          ),
        ),
      ).toBeLessThan(TOL_BWD);
    }
  });

  test('softmax cross-entropy with label smoothing', async () => {
    const rt = await testRuntime();
    const [rows, k] = [7, 11];
    const z = f32(seeded(17, rows * k, -4, 4));
    const labels = Uint32Array.from({ length: rows }, (_, i) => (i * 5) % k);
    const eps = 0.1;
    const ce = (v: Float64Array): Float64Array => {
      let tot = 0;
      for (let r = 0; r < rows; r++) {
        let m = -Infinity;
        for (let j = 0; j < k; j++) m = Math.max(m, v[r * k + j] ?? 0);
        let s = 0;
        for (let j = 0; j < k; j++) s += Math.exp((v[r * k + j] ?? 0) - m);
        const lse = m + Math.log(s);
        for (let j = 0; j < k; j++) {
          const q = eps / k + (j === labels[r] ? 1 - eps : 0);
          tot -= q * ((v[r * k + j] ?? 0) - lse);
        }
      }
      return Float64Array.of(tot / rows);
    };
    const Z = up(rt, z, [rows, k]);
    const L = rt.upload(labels, [rows]);
    const r = rt.run((b) => softmaxCrossEntropy(rt, b, Z, L, rows, k, eps));
    expect(record('softmax-CE fwd', nmse(await read(rt, r.loss), ce(z)))).toBeLessThan(TOL_FWD);
    expect(record('softmax-CE bwd', nmse(await read(rt, r.dz), finiteDiff(ce, z, [1])))).toBeLessThan(TOL_BWD);
  });

  test('MSE and L1 losses', async () => {
    const rt = await testRuntime();
    const n = 500;
    const x = f32(seeded(18, n));
    const t = f32(seeded(19, n));
    const mse = (v: Float64Array): Float64Array =>
      Float64Array.of(v.reduce((s, a, i) => s + (a - (t[i] ?? 0)) ** 2, 0) / n);
    const l1 = (v: Float64Array): Float64Array =>
      Float64Array.of(v.reduce((s, a, i) => s + Math.abs(a - (t[i] ?? 0)), 0) / n);
    const [X, T] = [up(rt, x, [n]), up(rt, t, [n])];
    const r = rt.run((b) => ({ m: mseLoss(rt, b, X, T), l: l1Loss(rt, b, X, T) }));
    expect(record('mse fwd', nmse(await read(rt, r.m.loss), mse(x)))).toBeLessThan(TOL_FWD);
    expect(record('mse bwd', nmse(await read(rt, r.m.dx), finiteDiff(mse, x, [1])))).toBeLessThan(TOL_BWD);
    expect(record('l1 fwd', nmse(await read(rt, r.l.loss), l1(x)))).toBeLessThan(TOL_FWD);
    // |x - t| > 1e-6 for these seeds, so finite differences do not straddle the kink.
    expect(record('l1 bwd', nmse(await read(rt, r.l.dx), finiteDiff(l1, x, [1], 1e-8)))).toBeLessThan(TOL_BWD);
  });

  test('BCE with logits', async () => {
    const rt = await testRuntime();
    const n = 400;
    const z = f32(seeded(96, n, -20, 20)); // includes |z| > 9.2, where the log1p series branch is taken
    const t = f32(seeded(97, n, 0, 1));
    const bce = (v: Float64Array): Float64Array =>
      Float64Array.of(
        v.reduce((s, a, i) => s + Math.max(a, 0) - a * (t[i] ?? 0) + Math.log1p(Math.exp(-Math.abs(a))), 0) / n,
      );
    const [Z, T] = [up(rt, z, [n]), up(rt, t, [n])];
    const r = rt.run((b) => bceWithLogits(rt, b, Z, T));
    expect(record('bce-logits fwd', nmse(await read(rt, r.loss), bce(z)))).toBeLessThan(TOL_FWD);
    expect(record('bce-logits bwd', nmse(await read(rt, r.dx), finiteDiff(bce, z, [1])))).toBeLessThan(TOL_BWD);
  });

  test('global average pooling (channels-first and channels-last)', async () => {
    const rt = await testRuntime();
    for (const [outer, s, inner, name] of [
      [6, 49, 1, 'avgpool (B*C,S)'],
      [2, 49, 3, 'avgpool (B,S,C)'],
    ] as const) {
      const x = f32(seeded(20, outer * s * inner));
      const g = f32(seeded(21, outer * inner));
      const pool = (v: Float64Array): Float64Array => {
        const o = new Float64Array(outer * inner);
        for (let a = 0; a < outer; a++)
          for (let q = 0; q < s; q++)
            for (let j = 0; j < inner; j++)
              o[a * inner + j] = (o[a * inner + j] ?? 0) + (v[(a * s + q) * inner + j] ?? 0) / s;
        return o;
      };
      const [X, G] = [up(rt, x, [x.length]), up(rt, g, [g.length])];
      const r = rt.run((b) => ({
        y: globalAvgPool(rt, b, X, outer, s, inner),
        dx: globalAvgPoolBackward(rt, b, G, outer, s, inner),
      }));
      expect(record(`${name} fwd`, nmse(await read(rt, r.y), pool(x)))).toBeLessThan(TOL_FWD);
      expect(record(`${name} bwd`, nmse(await read(rt, r.dx), finiteDiff(pool, x, g)))).toBeLessThan(TOL_BWD);
    }
  });

  test('AdamW update (3 steps) matches a float64 AdamW', async () => {
    const rt = await testRuntime();
    const n = 300;
    const p0 = f32(seeded(22, n));
    const grads = [1, 2, 3].map((s) => f32(seeded(30 + s, n, -0.1, 0.1)));
    const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 };
    const P = up(rt, p0, [n]);
    const M = rt.zeros([n]);
    const V = rt.zeros([n]);
    const p = Float64Array.from(p0);
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    for (let step = 1; step <= 3; step++) {
      const gr = grads[step - 1] ?? new Float64Array(n);
      const G = up(rt, gr, [n]);
      rt.run((b) => adamW(b, P, G, M, V, { ...o, step }));
      rt.release(G);
      for (let i = 0; i < n; i++) {
        const gi = gr[i] ?? 0;
        p[i] = (p[i] ?? 0) * (1 - o.lr * o.weightDecay);
        m[i] = o.beta1 * (m[i] ?? 0) + (1 - o.beta1) * gi;
        v[i] = o.beta2 * (v[i] ?? 0) + (1 - o.beta2) * gi * gi;
        const mh = (m[i] ?? 0) / (1 - o.beta1 ** step);
        const vh = (v[i] ?? 0) / (1 - o.beta2 ** step);
        p[i] = (p[i] ?? 0) - (o.lr * mh) / (Math.sqrt(vh) + o.eps);
      }
    }
    expect(record('adamw param', nmse(await read(rt, P), p))).toBeLessThan(TOL_FWD);
    expect(record('adamw m', nmse(await read(rt, M), m))).toBeLessThan(TOL_FWD);
    expect(record('adamw v', nmse(await read(rt, V), v))).toBeLessThan(TOL_FWD);
  });
});
