// Shared helpers for the S4ND tests: native loader, seeded randoms, specs, and float64 reference computations written
// straight from the README formulas (independent of the native code).
import { loadS4ndNative, type S4ndSpec } from '../../main/engine/s4nd-native.js';

export const native = loadS4ndNative();
export { S4ND_REFERENCE_DIR as REF_DIR } from '../s4nd-reference-dir.js';

/** mulberry32: deterministic uniform [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randn(n: number, r: () => number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = 1 - r();
    const u2 = r();
    out[i] = scale * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
  return out;
}

export function spec(over: Partial<S4ndSpec>): S4ndSpec {
  return {
    dim: 1,
    d_model: 3,
    d_state: 8,
    channels: 1,
    bidirectional: true,
    mode: 's4d',
    init: 'diag-lin',
    l_max: [8],
    bandlimit: 0,
    linear: true,
    dt_min: 0.1,
    dt_max: 1.0,
    conv: 'fft',
    ...over,
  };
}

export function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  expectSameLength(a, b);
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    den = Math.max(den, Math.abs(b[i] ?? 0));
  }
  return den === 0 ? num : num / den;
}

function expectSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
}

/** Seeded init with A/B (and P) perturbed like the reference files, so conj/sign mistakes cannot hide. */
export function perturbedParams(s: S4ndSpec, seed: number): { params: Float32Array; lKernel: number[] } {
  const { params, lKernel } = native.init(s, seed);
  const r = rng(seed + 17);
  for (const p of native.paramLayout(s)) {
    const field = p.name.split('.').pop() ?? '';
    const eps = randn(p.size, r);
    for (let i = 0; i < p.size; i++) {
      const j = p.offset + i;
      const e = eps[i] ?? 0;
      if (field === 'A_real' || field === 'B') params[j] = (params[j] ?? 0) + 0.5 * e;
      else if (field === 'A_imag') params[j] = Math.abs((params[j] ?? 0) + e);
      else if (field === 'P') params[j] = (params[j] ?? 0) + 0.25 * e;
    }
  }
  return { params, lKernel };
}

/** Python round(): halves to even. */
export function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Naive float64 N-D layer output (linear=true) from per-axis kernels k_a (rows, H, Lk_a):
 * y[b, c*H+h, i] = sum_p prod_a K_a^c[h](i_a - p_a) u[b, h, p] + D[c, h] u[b, h, i].
 */
export function naiveLayer(
  s: S4ndSpec,
  kernels: Float64Array[],
  Lk: number[],
  D: ArrayLike<number>,
  u: ArrayLike<number>,
  B: number,
  L: number[],
): Float64Array {
  const H = s.d_model;
  const C = s.channels;
  const S = L.reduce((a, b) => a * b, 1);
  const K = (a: number, c: number, h: number, d: number): number => {
    const lk = Lk[a] ?? 0;
    const k = kernels[a] as Float64Array;
    if (d >= 0) return d < lk ? (k[(c * H + h) * lk + d] ?? 0) : 0;
    if (!s.bidirectional) return 0;
    const m = -d - 1; // the backward kernel starts at lag -1
    return m < lk ? (k[((C + c) * H + h) * lk + m] ?? 0) : 0;
  };
  const idx = (flat: number): number[] => {
    const out: number[] = [];
    for (let a = L.length - 1; a >= 0; a--) {
      const n = L[a] ?? 1;
      out.unshift(flat % n);
      flat = Math.floor(flat / n);
    }
    return out;
  };
  const y = new Float64Array(B * C * H * S);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < S; i++) {
          const ii = idx(i);
          let acc = (D[c * H + h] ?? 0) * (u[(b * H + h) * S + i] ?? 0);
          for (let p = 0; p < S; p++) {
            const pp = idx(p);
            let w = 1;
            for (let a = 0; a < L.length; a++) w *= K(a, c, h, (ii[a] ?? 0) - (pp[a] ?? 0));
            acc += w * (u[(b * H + h) * S + p] ?? 0);
          }
          y[((b * C + c) * H + h) * S + i] = acc;
        }
  return y;
}
