// linear=false output path (README section 9) against a float64 reference written here: exact-erf GELU on the
// (B, C*H, L...) skip output, Linear(C*H -> 2H) + bias with input index j = c*H + h, then GLU (values first).
import { describe, expect, it } from 'vitest';

import type { S4ndSpec } from '../../main/engine/s4nd-native.js';
import { maxRel, native, perturbedParams, randn, rng, spec } from './helpers.js';

/** erf in double: Maclaurin series below 3, asymptotic erfc above (absolute error < 1e-9). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  const t = 1 / (2 * ax * ax);
  const series = 1 - t + 3 * t * t - 15 * t ** 3 + 105 * t ** 4 - 945 * t ** 5;
  return Math.sign(x) * (1 - (Math.exp(-ax * ax) / (ax * Math.sqrt(Math.PI))) * series);
}

const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

async function headCheck(over: Partial<S4ndSpec>, L: number[], rate: number): Promise<number> {
  const sNl = spec({ ...over, linear: false });
  const sLin = { ...sNl, linear: true };
  const { params } = perturbedParams(sNl, 9);
  const layNl = native.paramLayout(sNl);
  const layLin = native.paramLayout(sLin);
  const pLin = new Float32Array(layLin.reduce((n, p) => n + p.size, 0));
  for (const p of layLin) {
    const q = layNl.find((x) => x.name === p.name);
    if (!q) throw new Error(p.name);
    pLin.set(params.subarray(q.offset, q.offset + q.size), p.offset);
  }
  const B = 2;
  const H = sNl.d_model;
  const CH = sNl.channels * H;
  const S = L.reduce((a, b) => a * b, 1);
  const u = Float32Array.from(randn(B * H * S, rng(4)));
  const lk = sNl.mode === 'dplr' ? sNl.l_max.slice() : L.map(() => 0);
  const lin = await native.run(sLin, pLin, lk, u, B, L, rate, null);
  const out = await native.run(sNl, params, lk, u, B, L, rate, null);
  const W = layNl.find((p) => p.name === 'output_linear.0.weight');
  const bias = layNl.find((p) => p.name === 'output_linear.0.bias');
  if (!W || !bias) throw new Error('no head params');
  expect(W.shape).toEqual([2 * H, CH]);
  const ref = new Float64Array(B * H * S);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < S; i++) {
      const z: number[] = [];
      for (let j = 0; j < CH; j++) z.push(gelu(lin.y[(b * CH + j) * S + i] ?? 0));
      const v: number[] = [];
      for (let o = 0; o < 2 * H; o++) {
        let acc = params[bias.offset + o] ?? 0;
        for (let j = 0; j < CH; j++) acc += (params[W.offset + o * CH + j] ?? 0) * (z[j] ?? 0);
        v.push(acc);
      }
      for (let h = 0; h < H; h++) ref[(b * H + h) * S + i] = (v[h] ?? 0) / (1 + Math.exp(-(v[H + h] ?? 0)));
    }
  return maxRel(out.y, ref);
}

describe('linear=false head (GELU -> Linear -> GLU)', () => {
  it('2-D S4D channels=1', async () => {
    expect(await headCheck({ dim: 2, d_model: 4, l_max: [16, 16] }, [8, 8], 1)).toBeLessThan(2e-6);
  });
  it('2-D S4D channels=2 (input index c*H + h)', async () => {
    expect(await headCheck({ dim: 2, d_model: 4, channels: 2, l_max: [16, 16] }, [8, 8], 1)).toBeLessThan(2e-6);
  });
  it('1-D DPLR channels=2 rate 2', async () => {
    expect(
      await headCheck({ dim: 1, d_model: 3, channels: 2, mode: 'dplr', init: 'legs', l_max: [16] }, [8], 2),
    ).toBeLessThan(2e-6);
  });
});
