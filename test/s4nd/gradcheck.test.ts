// Finite-difference gradient checks of the whole layer (input and every parameter kind) on small random configs.
// The layer computes in float32 (kernel generation in double), so the check uses a directional central difference
// in a random direction per tensor with a large step (eps = 3e-3 relative to the tensor scale) and the loss summed
// in float64: truncation error O(eps^2) <~ 2e-3 (GELU head), float32 noise / eps ~ 3e-5. Tolerance: 1e-2 relative, which any sign
// error, wrong lag or missing term would exceed by orders of magnitude.
import { describe, expect, it } from 'vitest';

import type { S4ndSpec } from '../../main/engine/s4nd-native.js';
import { native, perturbedParams, randn, rng, spec } from './helpers.js';

const FD_TOL = 1e-2;

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

async function gradcheck(s: S4ndSpec, L: number[], rate: number, seed: number): Promise<Record<string, number>> {
  const B = 2;
  const { params } = perturbedParams(s, seed);
  const lKernel = s.mode === 'dplr' ? s.l_max.slice() : s.l_max.map(() => 0);
  const S = L.reduce((a, b) => a * b, 1);
  const outC = s.linear ? s.channels * s.d_model : s.d_model;
  const r = rng(seed + 100);
  const u = Float32Array.from(randn(B * s.d_model * S, r));
  const G = Float32Array.from(randn(B * outC * S, r));
  const base = await native.run(s, params, lKernel, u, B, L, rate, G);
  const loss = async (p: Float32Array, x: Float32Array) =>
    dot((await native.run(s, p, lKernel, x, B, L, rate, null)).y, G);
  const errors: Record<string, number> = {};
  const check = async (
    name: string,
    analytic: ArrayLike<number>,
    apply: (v: Float64Array, eps: number) => Promise<number>,
    size: number,
    scale: number,
  ) => {
    const v = randn(size, rng(seed + name.length * 31));
    const eps = Number(process.env['S4ND_FD_EPS'] ?? 3e-3) * Math.max(scale, 1e-2);
    const fd = (await apply(v, eps)) / (2 * eps);
    const an = dot(analytic, v);
    errors[name] = Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), 1e-6);
  };
  // input
  await check(
    'u',
    base.du ?? [],
    async (v, eps) => {
      const up = u.map((x, i) => x + eps * (v[i] ?? 0));
      const um = u.map((x, i) => x - eps * (v[i] ?? 0));
      return (await loss(params, up)) - (await loss(params, um));
    },
    u.length,
    1,
  );
  for (const p of native.paramLayout(s)) {
    const cur = params.subarray(p.offset, p.offset + p.size);
    let scale = 0;
    for (const x of cur) scale = Math.max(scale, Math.abs(x));
    await check(
      p.name,
      (base.dparams ?? new Float32Array()).subarray(p.offset, p.offset + p.size),
      async (v, eps) => {
        const pp = Float32Array.from(params);
        const pm = Float32Array.from(params);
        for (let i = 0; i < p.size; i++) {
          pp[p.offset + i] = (params[p.offset + i] ?? 0) + eps * (v[i] ?? 0);
          pm[p.offset + i] = (params[p.offset + i] ?? 0) - eps * (v[i] ?? 0);
        }
        return (await loss(pp, u)) - (await loss(pm, u));
      },
      p.size,
      Math.min(scale, 1),
    );
  }
  return errors;
}

describe('finite-difference gradient checks (input and every parameter)', () => {
  const configs: Array<[string, Partial<S4ndSpec>, number[], number]> = [
    ['1-D S4D', { dim: 1, d_model: 2, d_state: 4, l_max: [12] }, [12], 1],
    ['1-D S4D rate 0.5 Lk<L', { dim: 1, d_model: 2, d_state: 6, l_max: [4] }, [14], 0.5],
    [
      '2-D S4D channels=2 linear=false bandlimit rate 2',
      { dim: 2, d_model: 2, d_state: 4, channels: 2, linear: false, bandlimit: 1.5, l_max: [12, 10] },
      [6, 5],
      2,
    ],
    ['3-D S4D', { dim: 3, d_model: 2, d_state: 4, l_max: [3, 4, 5] }, [3, 4, 5], 1],
    ['1-D DPLR', { dim: 1, d_model: 2, d_state: 4, mode: 'dplr', init: 'legs', l_max: [10] }, [10], 1],
    [
      '2-D DPLR channels=2 linear=false rate 2',
      { dim: 2, d_model: 2, d_state: 4, channels: 2, linear: false, mode: 'dplr', init: 'legs', l_max: [8, 8] },
      [4, 5],
      2,
    ],
    [
      '3-D DPLR rate 0.5',
      { dim: 3, d_model: 1, d_state: 4, mode: 'dplr', init: 'legs', l_max: [2, 2, 3] },
      [3, 3, 4],
      0.5,
    ],
  ];
  for (const [name, over, L, rate] of configs) {
    it(name, async () => {
      const errors = await gradcheck(spec({ conv: 'fft', dt_min: 0.2, dt_max: 0.8, ...over }), L, rate, 21);
      if (process.env['S4ND_FD_DEBUG']) console.log(name, errors);
      for (const [k, e] of Object.entries(errors)) expect(e, k).toBeLessThan(FD_TOL);
    });
  }
});
