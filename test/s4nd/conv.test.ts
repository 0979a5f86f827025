// Held-out-like checks of the layer output: 1-D/2-D/3-D layers (S4D and DPLR, bandlimit, channels = 2, rate != 1,
// Lk < L) against a naive float64 O(S^2) convolution written from the README, FFT vs direct agreement, and an impulse
// test that pins the backward kernel to lag -1.
import { describe, expect, it } from 'vitest';

import type { S4ndSpec } from '../../main/engine/s4nd-native.js';
import { maxRel, naiveLayer, native, perturbedParams, pyRound, randn, rng, spec } from './helpers.js';

async function layerVsNaive(s: S4ndSpec, B: number, L: number[], rate: number, seed: number): Promise<number> {
  const { params } = perturbedParams(s, seed);
  const lKernel = s.mode === 'dplr' ? s.l_max.slice() : s.l_max.map(() => 0);
  const S = L.reduce((a, b) => a * b, 1);
  const u = Float32Array.from(randn(B * s.d_model * S, rng(seed + 1)));
  const res = await native.run(s, params, lKernel, u, B, L, rate, null);
  const Lk = L.map((l, a) => Math.min(l, pyRound((s.l_max[a] ?? 0) / rate)));
  const k = await native.kernels(s, res.params, res.lKernel, rate, Lk, []);
  const dOff = native.paramLayout(s).find((p) => p.name === 'D');
  if (!dOff) throw new Error('no D');
  const D = res.params.subarray(dOff.offset, dOff.offset + dOff.size);
  const ref = naiveLayer(s, k.kernels, Lk, D, u, B, L);
  return maxRel(res.y, ref);
}

describe('layer vs naive float64 convolution (linear=true)', () => {
  const configs: Array<[string, Partial<S4ndSpec>, number[], number]> = [
    ['1-D S4D L=20 (Lk=8 < L)', { dim: 1, l_max: [8] }, [20], 1],
    ['1-D S4D L=64 rate 0.5 bandlimit 0.5', { dim: 1, l_max: [64], bandlimit: 0.5 }, [64], 0.5],
    ['1-D S4D unidirectional', { dim: 1, l_max: [12], bidirectional: false }, [12], 1],
    ['1-D DPLR L=16 rate 2', { dim: 1, mode: 'dplr', init: 'legs', l_max: [16] }, [16], 2],
    ['2-D S4D channels=2 9x7 rate 1.5', { dim: 2, l_max: [6, 8], channels: 2 }, [9, 7], 1.5],
    ['2-D DPLR 8x8 bandlimit', { dim: 2, mode: 'dplr', init: 'legs', l_max: [8, 8], bandlimit: 0.6 }, [8, 8], 1],
    ['1-D DPLR d_state=6 (edge tiles)', { dim: 1, mode: 'dplr', init: 'legs', d_state: 6, l_max: [10] }, [12], 1],
    ['1-D DPLR d_state=12', { dim: 1, mode: 'dplr', init: 'legs', d_state: 12, l_max: [10] }, [10], 1],
    ['3-D S4D 4x5x6 l_max [4,8,8]', { dim: 3, l_max: [4, 8, 8] }, [4, 5, 6], 1],
    ['3-D DPLR 3x4x5 channels=2', { dim: 3, mode: 'dplr', init: 'legs', l_max: [3, 4, 4], channels: 2 }, [3, 4, 5], 1],
  ];
  for (const [name, over, L, rate] of configs) {
    for (const conv of ['fft', 'direct'] as const) {
      it(`${name} conv=${conv}`, async () => {
        const err = await layerVsNaive(spec({ ...over, conv }), 2, L, rate, 7 + L.length);
        // float32 convolution vs float64 reference: a few float32 ulps of the largest output
        expect(err).toBeLessThan(2e-6);
      });
    }
  }
});

describe('FFT and direct paths agree (forward and backward)', () => {
  for (const [dims, L] of [
    [1, [40]],
    [2, [12, 10]],
    [3, [3, 6, 5]],
  ] as Array<[number, number[]]>) {
    it(`${dims}-D ${L.join('x')} channels=2 linear=false`, async () => {
      const base = spec({ dim: dims, l_max: L.map((l) => l - 1), channels: 2, linear: false });
      const { params } = perturbedParams(base, 3);
      const S = L.reduce((a, b) => a * b, 1);
      const u = Float32Array.from(randn(2 * 3 * S, rng(5)));
      const g = Float32Array.from(randn(2 * 3 * S, rng(6)));
      const lk = L.map(() => 0);
      const a = await native.run({ ...base, conv: 'fft' }, params, lk, u, 2, L, 1, g);
      const b = await native.run({ ...base, conv: 'direct' }, params, lk, u, 2, L, 1, g);
      expect(maxRel(a.y, b.y)).toBeLessThan(2e-6); // float32 rounding of two different algorithms
      expect(maxRel(a.du ?? [], b.du ?? [])).toBeLessThan(2e-6);
      expect(maxRel(a.dparams ?? [], b.dparams ?? [])).toBeLessThan(1e-5);
    });
  }
});

describe('mixed per-axis algorithms under conv=auto (FFT for L > 64, direct otherwise)', () => {
  for (const L of [[80, 6], [3, 70, 5], [72]]) {
    it(`${L.join('x')} auto vs fft vs direct`, async () => {
      const base = spec({ dim: L.length, l_max: L.map((l) => Math.max(1, l - 2)), channels: 2, d_model: 2 });
      const { params } = perturbedParams(base, 13);
      const S = L.reduce((a, b) => a * b, 1);
      const u = Float32Array.from(randn(2 * 2 * S, rng(14)));
      const g = Float32Array.from(randn(2 * 4 * S, rng(15)));
      const lk = L.map(() => 0);
      const runs = await Promise.all(
        (['auto', 'fft', 'direct'] as const).map((conv) => native.run({ ...base, conv }, params, lk, u, 2, L, 1, g)),
      );
      const [a, f, d] = runs;
      if (!a || !f || !d) throw new Error('missing run');
      for (const other of [f, d]) {
        expect(maxRel(a.y, other.y)).toBeLessThan(2e-6); // float32 rounding of different algorithms
        expect(maxRel(a.du ?? [], other.du ?? [])).toBeLessThan(2e-6);
        expect(maxRel(a.dparams ?? [], other.dparams ?? [])).toBeLessThan(1e-5);
      }
    });
  }
});

describe('threading: the pool workers take chunks too', () => {
  for (const [name, over, L] of [
    ['2-D S4D H=32 (direct)', { dim: 2, d_model: 32, l_max: [12, 12] }, [12, 12]],
    [
      '1-D S4D H=32 (fft) channels=2 linear=false',
      { dim: 1, d_model: 32, l_max: [96], channels: 2, linear: false, conv: 'auto' },
      [96],
    ],
    ['2-D DPLR H=32', { dim: 2, d_model: 32, mode: 'dplr', init: 'legs', l_max: [8, 8] }, [8, 8]],
  ] as Array<[string, Partial<S4ndSpec>, number[]]>) {
    it(`${name}: 2 threads == 1 thread`, async () => {
      const s = spec({ conv: 'direct', ...over });
      const { params } = perturbedParams(s, 17);
      const S = L.reduce((a, b) => a * b, 1);
      const outC = s.linear ? s.channels * s.d_model : s.d_model;
      const u = Float32Array.from(randn(4 * s.d_model * S, rng(18)));
      const g = Float32Array.from(randn(4 * outC * S, rng(19)));
      const lk = s.mode === 'dplr' ? s.l_max.slice() : L.map(() => 0);
      const multi = await native.run(s, params, lk, u, 4, L, 1, g);
      native.setThreads(1);
      const single = await native.run(s, params, lk, u, 4, L, 1, g);
      native.setThreads(0);
      // identical algorithms; only the order of float sums across chunks may differ
      expect(maxRel(multi.y, single.y)).toBeLessThan(1e-6);
      expect(maxRel(multi.du ?? [], single.du ?? [])).toBeLessThan(1e-6);
      expect(maxRel(multi.dparams ?? [], single.dparams ?? [])).toBeLessThan(1e-5);
    });
  }
});

describe('argument errors', () => {
  it('conv=direct on a very long axis is rejected with a precise message', async () => {
    const s = spec({ dim: 1, d_model: 1, l_max: [8], conv: 'direct' });
    const { params } = native.init(s, 1);
    await expect(native.run(s, params, [0], new Float32Array(1100), 1, [1100], 1, null)).rejects.toThrow(
      /conv=direct supports axis lengths up to 1024/,
    );
  });
  it('size mismatches throw synchronously', () => {
    const s = spec({ dim: 1, d_model: 2, l_max: [8] });
    const { params } = native.init(s, 1);
    expect(() => native.run(s, params, [0], new Float32Array(5), 1, [8], 1, null)).toThrow(
      /u has 5 elements, expected 16/,
    );
    expect(() => native.run(s, params.subarray(1), [0], new Float32Array(16), 1, [8], 1, null)).toThrow(/params has/);
  });
});

describe('bidirectional lag layout', () => {
  it('an impulse at p gives k_fwd[0] + D at p and k_bwd[0] at p - 1 (backward kernel starts at lag -1)', async () => {
    const s = spec({ dim: 1, d_model: 1, l_max: [6] });
    const { params } = perturbedParams(s, 11);
    const u = new Float32Array(10);
    u[5] = 1;
    const res = await native.run(s, params, [0], u, 1, [10], 1, null);
    const k = await native.kernels(s, params, [0], 1, [6], []);
    const kk = k.kernels[0] ?? new Float64Array();
    const dOff = native.paramLayout(s).find((p) => p.name === 'D')?.offset ?? 0;
    const D = params[dOff] ?? 0;
    const tol = 1e-6 * Math.max(...Array.from(kk, Math.abs));
    expect(Math.abs((res.y[5] ?? 0) - ((kk[0] ?? 0) + D))).toBeLessThan(tol + 1e-6 * Math.abs(D));
    for (let m = 0; m < 5; m++) expect(Math.abs((res.y[4 - m] ?? 0) - (kk[6 + m] ?? 0))).toBeLessThan(tol);
    for (let d = 1; d < 5; d++) expect(Math.abs((res.y[5 + d] ?? 0) - (kk[d] ?? 0))).toBeLessThan(tol);
  });
});

describe('seeded init', () => {
  it('legs init: Re(Lambda) = -1/2, Im >= 0, and a fresh DPLR layer has C_eff = C at rate 1', async () => {
    const s = spec({ dim: 1, d_state: 16, mode: 'dplr', init: 'legs', l_max: [32] });
    const { params, lKernel } = native.init(s, 5);
    expect(lKernel).toEqual([0]);
    const layout = native.paramLayout(s);
    const get = (n: string) => {
      const p = layout.find((q) => q.name === n);
      if (!p) throw new Error(n);
      return params.subarray(p.offset, p.offset + p.size);
    };
    for (const v of get('kernel.0.A_real')) expect(Math.abs(Math.exp(v) - 0.5)).toBeLessThan(1e-6);
    const aim = Array.from(get('kernel.0.A_imag'));
    for (const v of aim) expect(v).toBeGreaterThan(0);
    const Cbefore = Float32Array.from(get('kernel.0.C'));
    const u = new Float32Array(2 * 3 * 32).fill(0.5);
    const res = await native.run(s, params, lKernel, u, 2, [32], 1, null);
    expect(res.lKernel).toEqual([32]);
    const k = await native.kernels(s, res.params, res.lKernel, 1, [32], []);
    const ceff = k.derived[0]?.C_eff ?? new Float64Array();
    // C_eff (rows, H, N, 2): first N/2 entries of each row equal the pre-rewrite C (float32 storage of C~)
    const Nh = 8;
    const firstHalf: number[] = [];
    for (let r = 0; r < (2 * 3 * 16 * 2) / (Nh * 4); r++)
      firstHalf.push(...Array.from(ceff.subarray(r * 32, r * 32 + 16)));
    expect(maxRel(firstHalf, Cbefore)).toBeLessThan(1e-4);
  });

  it('diag-lin / diag-inv init values', () => {
    for (const init of ['diag-lin', 'diag-inv'] as const) {
      const s = spec({ dim: 2, l_max: [8, 8], init, d_state: 8 });
      const { params } = native.init(s, 1);
      const p = native.paramLayout(s).find((q) => q.name === 'kernel.1.A_imag');
      if (!p) throw new Error('A_imag');
      const a = Array.from(params.subarray(p.offset, p.offset + p.size));
      const want =
        init === 'diag-lin'
          ? [1e-4, Math.PI, 2 * Math.PI, 3 * Math.PI]
          : [0, 1, 2, 3].map((n) => (8 / Math.PI) * (8 / (1 + 2 * n) - 1));
      for (let n = 0; n < 4; n++)
        expect(Math.abs((a[n] ?? 0) - (want[n] ?? 0))).toBeLessThan(1e-5 * Math.max(1, want[n] ?? 0));
    }
  });
});
