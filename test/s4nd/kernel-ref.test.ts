// Per-axis kernels against independent float64 implementations written here from the README: S4D ZOH (section 3,
// with rate and bandlimit) and DPLR (section 4.4, dense complex matrices in plain TypeScript): other rates (C_eff at
// dt*rate with discrete_L = round(l_kernel/rate)), bandlimit, channels = 2, and state sizes that are not multiples
// of 4 (edge tiles of the native complex GEMM).
import { describe, expect, it } from 'vitest';

import type { S4ndSpec } from '../../main/engine/s4nd-native.js';
import { maxRel, native, perturbedParams, pyRound, spec } from './helpers.js';

type C = [number, number];
const add = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const sub = (a: C, b: C): C => [a[0] - b[0], a[1] - b[1]];
const mul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const conj = (a: C): C => [a[0], -a[1]];
const div = (a: C, b: C): C => {
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
type M = C[][];
const eye = (n: number): M =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j): C => [i === j ? 1 : 0, 0]));
function matmul(a: M, b: M): M {
  const n = a.length;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s: C = [0, 0];
      for (let k = 0; k < n; k++) s = add(s, mul(a[i]![k]!, b[k]![j]!));
      return s;
    }),
  );
}
function inverse(a: M): M {
  const n = a.length;
  const m = a.map((row, i) => [...row.map((x): C => [x[0], x[1]]), ...eye(n)[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.hypot(...m[r]![c]!) > Math.hypot(...m[piv]![c]!)) piv = r;
    [m[c], m[piv]] = [m[piv]!, m[c]!];
    const d = m[c]![c]!;
    m[c] = m[c]!.map((x) => div(x, d));
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      m[r] = m[r]!.map((x, j) => sub(x, mul(f, m[c]![j]!)));
    }
  }
  return m.map((row) => row.slice(n));
}

function dplrKernelRef(
  s: S4ndSpec,
  params: Float32Array,
  axis: number,
  rate: number,
  Lk: number,
  lKernel: number,
): Float64Array {
  const layout = native.paramLayout(s);
  const get = (name: string) => {
    const p = layout.find((q) => q.name === `kernel.${axis}.${name}`);
    if (!p) throw new Error(name);
    return params.subarray(p.offset, p.offset + p.size);
  };
  const H = s.d_model;
  const N = s.d_state;
  const Nh = N / 2;
  const rows = s.bidirectional ? 2 * s.channels : s.channels;
  const invDt = get('inv_dt');
  const Ar = get('A_real');
  const Ai = get('A_imag');
  const Bp = get('B');
  const Pp = get('P');
  const Cp = get('C');
  const lam: C[] = [];
  const p: C[] = [];
  const b: C[] = [];
  for (let n = 0; n < Nh; n++) {
    lam.push([-Math.exp(Ar[n]!), -Ai[n]!]);
    p.push([Pp[2 * n]!, Pp[2 * n + 1]!]);
    b.push([Bp[2 * n]!, Bp[2 * n + 1]!]);
  }
  for (let n = 0; n < Nh; n++) {
    lam.push(conj(lam[n]!));
    p.push(conj(p[n]!));
    b.push(conj(b[n]!));
  }
  const A: M = Array.from({ length: N }, (_, i) =>
    Array.from({ length: N }, (_, j) => sub(i === j ? lam[i]! : [0, 0], mul(p[i]!, conj(p[j]!)))),
  );
  const k = new Float64Array(rows * H * Lk);
  const dL = pyRound(lKernel / rate);
  for (let h = 0; h < H; h++) {
    const dtBase = Math.exp(invDt[h]!);
    const dt = dtBase * rate;
    const Mm = A.map((row, i) => row.map((x, j): C => sub([i === j ? 1 : 0, 0], [0.5 * dt * x[0], 0.5 * dt * x[1]])));
    const Mp = A.map((row, i) => row.map((x, j): C => add([i === j ? 1 : 0, 0], [0.5 * dt * x[0], 0.5 * dt * x[1]])));
    const R = inverse(Mm);
    const Abar = matmul(R, Mp);
    const Bbar = R.map((row) => row.reduce((acc: C, x, j) => add(acc, mul(x, [dt * b[j]![0], dt * b[j]![1]])), [0, 0]));
    let P = eye(N);
    for (let e = 0; e < dL; e++) P = matmul(P, Abar);
    const Xi = inverse(P.map((row, i) => row.map((x, j): C => sub([i === j ? 1 : 0, 0], x))));
    for (let r = 0; r < rows; r++) {
      const ct: C[] = [];
      for (let n = 0; n < Nh; n++) {
        const keep = !(s.bandlimit > 0) || (dtBase * Math.abs(Ai[n]!)) / (2 * Math.PI) < s.bandlimit / 2;
        const base = ((r * H + h) * Nh + n) * 2;
        ct.push(keep ? [Cp[base]!, Cp[base + 1]!] : [0, 0]);
      }
      for (let n = 0; n < Nh; n++) ct.push(conj(ct[n]!));
      const ceff = Array.from({ length: N }, (_, j) =>
        ct.reduce((acc: C, x, i) => add(acc, mul(x, Xi[i]![j]!)), [0, 0]),
      );
      let u = Bbar;
      for (let l = 0; l < Lk; l++) {
        k[(r * H + h) * Lk + l] = ceff.reduce((acc, x, i) => acc + mul(x, u[i]!)[0], 0);
        u = Abar.map((row) => row.reduce((acc: C, x, j) => add(acc, mul(x, u[j]!)), [0, 0]));
      }
    }
  }
  return k;
}

describe('DPLR kernel vs independent float64 dense reference', () => {
  const configs: Array<[string, Partial<S4ndSpec>, number, number]> = [
    ['N=8 rate 2 (8x8 held-out-like)', { d_state: 8, l_max: [16] }, 2, 8],
    ['N=8 rate 0.5 (32x32 held-out-like)', { d_state: 8, l_max: [16] }, 0.5, 32],
    ['N=8 bandlimit 0.5 channels=2', { d_state: 8, l_max: [16], bandlimit: 0.5, channels: 2 }, 1, 16],
    ['N=6 rate 1.5', { d_state: 6, l_max: [12] }, 1.5, 8],
    ['N=12 rate 1', { d_state: 12, l_max: [10] }, 1, 10],
    // many channels: the pool's worker thread takes chunks too (shared per-call state must be visible to it)
    ['H=64 rate 2', { d_state: 8, l_max: [16], d_model: 64 }, 2, 8],
  ];
  for (const [name, over, rate, Lk] of configs) {
    it(name, async () => {
      const s = spec({ dim: 1, d_model: 3, mode: 'dplr', init: 'legs', ...over });
      // gradients too: compare against a run forced onto one thread (chunks then all run on the calling thread)
      const rows = 2 * s.channels;
      const gk = Float64Array.from({ length: rows * s.d_model * Lk }, (_, i) => Math.sin(0.37 * i));
      const { params } = perturbedParams(s, 31);
      const lk = s.l_max[0] ?? 0;
      const res = await native.kernels(s, params, [lk], rate, [Lk], [gk]);
      const ref = dplrKernelRef(s, params, 0, rate, Lk, lk);
      // double vs double, different algorithms (Sherman-Morrison, binary powers): ~1e-13 relative
      expect(maxRel(res.kernels[0] ?? [], ref)).toBeLessThan(1e-10);
      native.setThreads(1);
      const one = await native.kernels(s, params, [lk], rate, [Lk], [gk]);
      native.setThreads(0);
      expect(maxRel(res.dparams, one.dparams)).toBeLessThan(1e-6); // float32 storage of double sums
    });
  }
});

function s4dKernelRef(s: S4ndSpec, params: Float32Array, axis: number, rate: number, Lk: number): Float64Array {
  const layout = native.paramLayout(s);
  const get = (name: string) => {
    const p = layout.find((q) => q.name === `kernel.${axis}.${name}`);
    if (!p) throw new Error(name);
    return params.subarray(p.offset, p.offset + p.size);
  };
  const H = s.d_model;
  const Nh = s.d_state / 2;
  const rows = s.bidirectional ? 2 * s.channels : s.channels;
  const [invDt, Ar, Ai, Bp, Cp] = ['inv_dt', 'A_real', 'A_imag', 'B', 'C'].map(get) as Float32Array[];
  const k = new Float64Array(rows * H * Lk);
  for (let r = 0; r < rows; r++)
    for (let h = 0; h < H; h++) {
      const dtBase = Math.exp(invDt![h]!);
      const dt = dtBase * rate;
      for (let n = 0; n < Nh; n++) {
        if (s.bandlimit > 0 && !((dtBase * Math.abs(Ai![n]!)) / (2 * Math.PI) < s.bandlimit / 2)) continue;
        const A: C = [-Math.exp(Ar![n]!), -Ai![n]!];
        const base = ((r * H + h) * Nh + n) * 2;
        const W = mul(
          mul([Cp![base]!, Cp![base + 1]!], [Bp![2 * n]!, Bp![2 * n + 1]!]),
          div(sub(cexp([dt * A[0], dt * A[1]]), [1, 0]), A),
        );
        for (let l = 0; l < Lk; l++) k[(r * H + h) * Lk + l]! += 2 * mul(W, cexp([l * dt * A[0], l * dt * A[1]]))[0];
      }
    }
  return k;
}

function cexp(z: C): C {
  const e = Math.exp(z[0]);
  return [e * Math.cos(z[1]), e * Math.sin(z[1])];
}

describe('S4D kernel vs independent float64 reference', () => {
  const configs: Array<[string, Partial<S4ndSpec>, number, number]> = [
    ['rate 2', { l_max: [16] }, 2, 8],
    ['rate 0.5 bandlimit 0.5 channels=2', { l_max: [16], bandlimit: 0.5, channels: 2 }, 0.5, 32],
    ['diag-inv init, long kernel', { l_max: [300], init: 'diag-inv', d_state: 16 }, 1, 300],
  ];
  for (const [name, over, rate, Lk] of configs) {
    it(name, async () => {
      const s = spec({ dim: 1, d_model: 3, ...over });
      const { params } = perturbedParams(s, 41);
      const res = await native.kernels(s, params, [0], rate, [Lk], []);
      // powers by repeated multiplication (native) vs exp(l dt A) (here): ~1e-14 * Lk
      expect(maxRel(res.kernels[0] ?? [], s4dKernelRef(s, params, 0, rate, Lk))).toBeLessThan(1e-10);
    });
  }
});
