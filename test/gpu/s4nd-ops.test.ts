// S4ND pieces beyond the published 2-D cases: the convolution in 1-D and 3-D with C = 2 heads and Lk < L, and S4D
// kernel generation with a bandlimit mask, C = 2 and rate != 1, each against a float64 JS reference written from the
// README's formulas; gradients against central finite differences of that reference.
import { afterAll, describe, expect, test } from 'vitest';

import {
  type S4ndConfig,
  s4dKernel,
  s4dKernelBackward,
  s4ndBackward,
  s4ndForward,
  s4ndSizes,
} from '../../main/gpu/ops/s4nd.js';
import { f32, finiteDiff, relMax, seeded, testRuntime, up } from './gpu-test-device.js';

const measured: string[] = [];
afterAll(() =>
  console.log(`GPU S4ND pieces vs float64 JS reference (max|err|/max|ref|, SwiftShader):\n  ${measured.join('\n  ')}`),
);

// Float32 FFT convolution and float32 kernel generation: errors ~1e-7..1e-6 of the largest value.
const TOL = 1e-5;
function check(label: string, gpu: ArrayLike<number>, ref: ArrayLike<number>): void {
  const e = relMax(gpu, ref);
  measured.push(`${label.padEnd(36)} ${e.toExponential(2)}`);
  expect(e, label).toBeLessThan(TOL);
}

/** Direct float64 S4ND convolution + D skip with given per-axis kernels k_a (2C, H, Lk_a). */
function convRef(cfg: S4ndConfig, u: Float64Array, ks: Float64Array[], dSkip: Float64Array): Float64Array {
  const { lk } = s4ndSizes(cfg);
  const L = cfg.lengths;
  const d = L.length;
  const ln = L.reduce((a, b) => a * b, 1);
  const { batch: nb, h: H, channels: C } = cfg;
  const y = new Float64Array(nb * C * H * ln);
  const coords = (s: number): number[] => {
    const out: number[] = [];
    for (let a = d - 1; a >= 0; a--) {
      out.unshift(s % (L[a] ?? 1));
      s = Math.floor(s / (L[a] ?? 1));
    }
    return out;
  };
  const tap = (a: number, c: number, h: number, lag: number): number => {
    const k = ks[a] ?? new Float64Array(0);
    const n = lk[a] ?? 0;
    if (lag >= 0 && lag < n) return k[(c * H + h) * n + lag] ?? 0;
    if (lag < 0 && lag >= -n) return k[((C + c) * H + h) * n + (-lag - 1)] ?? 0;
    return 0;
  };
  for (let b = 0; b < nb; b++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < ln; i++) {
          const ci = coords(i);
          let acc = (dSkip[c * H + h] ?? 0) * (u[(b * H + h) * ln + i] ?? 0);
          for (let p = 0; p < ln; p++) {
            const cp = coords(p);
            let w = 1;
            for (let a = 0; a < d && w !== 0; a++) w *= tap(a, c, h, (ci[a] ?? 0) - (cp[a] ?? 0));
            acc += w * (u[(b * H + h) * ln + p] ?? 0);
          }
          y[((b * C + c) * H + h) * ln + i] = acc;
        }
  return y;
}

/** Float64 S4D kernel (README section 3.2). */
function s4dRef(
  rows: number,
  H: number,
  n2: number,
  lk: number,
  rate: number,
  bandlimit: number | null,
  invDt: Float64Array,
  aRe: Float64Array,
  aIm: Float64Array,
  B: Float64Array,
  Cp: Float64Array,
): Float64Array {
  const k = new Float64Array(rows * H * lk);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < H; h++) {
      const dtb = Math.exp(invDt[h] ?? 0);
      const dt = dtb * rate;
      for (let n = 0; n < n2; n++) {
        const ar = -Math.exp(aRe[n] ?? 0);
        const ai = -(aIm[n] ?? 0);
        const mask = bandlimit === null || (dtb * Math.abs(aIm[n] ?? 0)) / (2 * Math.PI) < bandlimit / 2 ? 1 : 0;
        // E - 1 = exp(dt A) - 1; Bbar = B (E - 1) / A
        const er = Math.exp(dt * ar) * Math.cos(dt * ai) - 1;
        const ei = Math.exp(dt * ar) * Math.sin(dt * ai);
        const den = ar * ar + ai * ai;
        const qr = (er * ar + ei * ai) / den;
        const qi = (ei * ar - er * ai) / den;
        const br = B[2 * n] ?? 0;
        const bi = B[2 * n + 1] ?? 0;
        const bbr = br * qr - bi * qi;
        const bbi = br * qi + bi * qr;
        const ci = ((r * H + h) * n2 + n) * 2;
        const cr = Cp[ci] ?? 0;
        const cim = Cp[ci + 1] ?? 0;
        const wr = mask * (cr * bbr - cim * bbi);
        const wi = mask * (cr * bbi + cim * bbr);
        for (let l = 0; l < lk; l++) {
          const mag = Math.exp(dt * ar * l);
          const zr = mag * Math.cos(dt * ai * l);
          const zi = mag * Math.sin(dt * ai * l);
          k[(r * H + h) * lk + l] = (k[(r * H + h) * lk + l] ?? 0) + 2 * (wr * zr - wi * zi);
        }
      }
    }
  return k;
}

describe('GPU S4ND pieces', () => {
  for (const [name, lengths, lMax, rate] of [
    ['1-D L=12 Lk=5', [12], [5], 1],
    ['3-D (2,3,4) Lk=(2,3,3)', [2, 3, 4], [4, 6, 6], 2],
  ] as const) {
    test(`convolution + D skip, ${name}, C = 2: forward and gradients (u, D, kernels)`, async () => {
      const rt = await testRuntime();
      const cfg: S4ndConfig = { batch: 2, h: 3, channels: 2, n2: 2, lengths, lMax, rate, bandlimit: null };
      const { lk } = s4ndSizes(cfg);
      const ln = lengths.reduce((a: number, b: number) => a * b, 1);
      const u = f32(seeded(40, 2 * 3 * ln));
      const dSkip = f32(seeded(41, 2 * 3));
      const ks = lk.map((n, a) => f32(seeded(42 + a, 4 * 3 * n)));
      const g = f32(seeded(50, 2 * 2 * 3 * ln));
      const U = up(rt, u, [2, 3, ...lengths]);
      const Dk = up(rt, dSkip, [2, 3]);
      const K = ks.map((k, a) => up(rt, k, [4, 3, lk[a] ?? 1]));
      const G = up(rt, g, [2, 6, ...lengths]);
      const r = rt.run((b) => {
        const f = s4ndForward(rt, b, cfg, U, [], Dk, K);
        return { y: f.y, g: s4ndBackward(rt, b, cfg, f.saved, G, [], Dk) };
      });
      check(`conv ${name} y`, await rt.read(r.y), convRef(cfg, u, ks, dSkip));
      check(
        `conv ${name} grad u`,
        await rt.read(r.g.du),
        finiteDiff((v) => convRef(cfg, v, ks, dSkip), u, g),
      );
      check(
        `conv ${name} grad D`,
        await rt.read(r.g.dD),
        finiteDiff((v) => convRef(cfg, u, ks, v), dSkip, g),
      );
      for (let a = 0; a < lk.length; a++) {
        const fd = finiteDiff(
          (v) =>
            convRef(
              cfg,
              u,
              ks.map((k, j) => (j === a ? v : k)),
              dSkip,
            ),
          ks[a] ?? new Float64Array(0),
          g,
        );
        check(`conv ${name} grad k.${a}`, await rt.read(r.g.dk[a] ?? U), fd);
      }
    });
  }

  test('S4D kernel generation with bandlimit, C = 2, rate 0.5 and negative A_imag: forward and gradients', async () => {
    const rt = await testRuntime();
    const [rows, H, n2, lk, rate, bandlimit] = [4, 3, 4, 20, 0.5, 0.5];
    const invDt = f32(seeded(60, H, Math.log(0.1), Math.log(1)));
    const aRe = f32(seeded(61, n2, -1.5, 0));
    // |A_imag| spread so that some modes fall above the cut-off dt_base |A_imag| / 2pi < 0.25, one negative value.
    const aIm = f32([0.3, -2.5, 4.0, 9.0]);
    const B = f32(seeded(62, n2 * 2));
    const C = f32(seeded(63, rows * H * n2 * 2));
    const gk = f32(seeded(64, rows * H * lk));
    const kRef = (
      ir: Float64Array,
      ar: Float64Array,
      ai: Float64Array,
      bb: Float64Array,
      cc: Float64Array,
    ): Float64Array => s4dRef(rows, H, n2, lk, rate, bandlimit, ir, ar, ai, bb, cc);
    const prm = {
      invDt: up(rt, invDt, [H, 1]),
      aReal: up(rt, aRe, [1, n2]),
      aImag: up(rt, aIm, [1, n2]),
      b: up(rt, B, [1, 1, n2, 2]),
      c: up(rt, C, [rows, H, n2, 2]),
    };
    const dk = up(rt, gk, [rows, H, lk]);
    const shape = { rows, h: H, n2, lk, rate, bandlimit };
    const r = rt.run((b) => ({ k: s4dKernel(rt, b, shape, prm), g: s4dKernelBackward(rt, b, shape, prm, dk) }));
    // The mask must actually drop something for this test to mean anything.
    let dropped = 0;
    for (let h = 0; h < H; h++)
      for (let n = 0; n < n2; n++)
        if ((Math.exp(invDt[h] ?? 0) * Math.abs(aIm[n] ?? 0)) / (2 * Math.PI) >= 0.25) dropped++;
    expect(dropped).toBeGreaterThan(0);
    check('s4d bandlimit kernel', await rt.read(r.k), kRef(invDt, aRe, aIm, B, C));
    // Finite differences in float64 (h = 1e-6); the mask is piecewise constant so it is not differentiated.
    check(
      's4d bandlimit grad inv_dt',
      await rt.read(r.g.invDt),
      finiteDiff((v) => kRef(v, aRe, aIm, B, C), invDt, gk),
    );
    check(
      's4d bandlimit grad A_real',
      await rt.read(r.g.aReal),
      finiteDiff((v) => kRef(invDt, v, aIm, B, C), aRe, gk),
    );
    check(
      's4d bandlimit grad A_imag',
      await rt.read(r.g.aImag),
      finiteDiff((v) => kRef(invDt, aRe, v, B, C), aIm, gk),
    );
    check(
      's4d bandlimit grad B',
      await rt.read(r.g.b),
      finiteDiff((v) => kRef(invDt, aRe, aIm, v, C), B, gk),
    );
    check(
      's4d bandlimit grad C',
      await rt.read(r.g.c),
      finiteDiff((v) => kRef(invDt, aRe, aIm, B, v), C, gk),
    );
  });
});
