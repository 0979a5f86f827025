// FFT against a direct O(n^2) DFT in double, for composite, prime (generic radix and Bluestein) and large lengths.
import { describe, expect, it } from 'vitest';

import { native, randn, rng } from './helpers.js';

function dft(re: Float64Array, im: Float64Array, sign: number): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      const c = Math.cos(a);
      const s = Math.sin(a);
      sr += (re[j] ?? 0) * c - (im[j] ?? 0) * s;
      si += (re[j] ?? 0) * s + (im[j] ?? 0) * c;
    }
    outRe[k] = sr;
    outIm[k] = si;
  }
  return [outRe, outIm];
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] ?? 0));
  return m;
}

describe('complex FFT vs direct DFT (double)', () => {
  // 28 = 4*7 (generic radix 7), 56, 64, primes 13/31 (generic radix), 37/97/127 (Bluestein), 4096+ (pure radix 4)
  for (const n of [1, 2, 3, 5, 6, 12, 13, 28, 30, 31, 37, 56, 64, 97, 100, 127, 210, 4096, 4100, 4099]) {
    it(`n = ${n}`, () => {
      const r = rng(n);
      const re = randn(n, r);
      const im = randn(n, r);
      const x = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        x[2 * i] = re[i] ?? 0;
        x[2 * i + 1] = im[i] ?? 0;
      }
      const X = native.fftComplex(x, false);
      const [rr, ri] = dft(re, im, -1);
      const ref = new Float64Array(2 * n);
      for (let i = 0; i < n; i++) {
        ref[2 * i] = rr[i] ?? 0;
        ref[2 * i + 1] = ri[i] ?? 0;
      }
      let err = 0;
      for (let i = 0; i < 2 * n; i++) err = Math.max(err, Math.abs((X[i] ?? 0) - (ref[i] ?? 0)));
      // double FFT vs double DFT: both O(eps log n) / O(eps n) accurate; 1e-12 relative leaves a wide margin
      expect(err / maxAbs(ref)).toBeLessThan(1e-12);
      const back = native.fftComplex(X, true);
      let rt = 0;
      for (let i = 0; i < 2 * n; i++) rt = Math.max(rt, Math.abs((back[i] ?? 0) / n - (x[i] ?? 0)));
      expect(rt).toBeLessThan(1e-12);
    });
  }
});

describe('real N-D FFT vs direct DFT (double)', () => {
  const cases: number[][] = [[1], [7], [28], [56], [64], [97], [4096], [6, 10], [5, 7], [3, 4, 6], [2, 5, 3]];
  for (const dims of cases) {
    it(`dims = [${dims.join(', ')}]`, () => {
      const n = dims.reduce((a, b) => a * b, 1);
      const x = randn(n, rng(n + dims.length));
      const X = native.fftReal(x, dims, false);
      const last = dims[dims.length - 1] ?? 1;
      const bins = Math.floor(last / 2) + 1;
      // direct N-D DFT at a sample of output bins (all of them for small sizes)
      const outer = n / last;
      const coords = (flat: number, shape: number[]): number[] => {
        const c: number[] = [];
        for (let a = shape.length - 1; a >= 0; a--) {
          const d = shape[a] ?? 1;
          c.unshift(flat % d);
          flat = Math.floor(flat / d);
        }
        return c;
      };
      const nOut = outer * bins;
      const step = nOut > 600 ? Math.ceil(nOut / 600) : 1;
      let err = 0;
      let scale = 0;
      for (let o = 0; o < nOut; o += step) {
        const kc = coords(o, [...dims.slice(0, -1), bins]);
        let sr = 0;
        let si = 0;
        for (let j = 0; j < n; j++) {
          const jc = coords(j, dims);
          let ph = 0;
          for (let a = 0; a < dims.length; a++) ph += ((jc[a] ?? 0) * (kc[a] ?? 0)) / (dims[a] ?? 1);
          const ang = -2 * Math.PI * (ph % 1);
          sr += (x[j] ?? 0) * Math.cos(ang);
          si += (x[j] ?? 0) * Math.sin(ang);
        }
        err = Math.max(err, Math.abs((X[2 * o] ?? 0) - sr), Math.abs((X[2 * o + 1] ?? 0) - si));
        scale = Math.max(scale, Math.abs(sr), Math.abs(si));
      }
      expect(err / scale).toBeLessThan(1e-12);
      const back = native.fftReal(X, dims, true);
      let rt = 0;
      for (let i = 0; i < n; i++) rt = Math.max(rt, Math.abs((back[i] ?? 0) / n - (x[i] ?? 0)));
      expect(rt).toBeLessThan(1e-12);
    });
  }

  it('float32 plans (SIMD path) match the double transform to float precision', () => {
    for (const dims of [[8192], [4096], [512], [96], [6000], [64, 64], [8, 64, 64], [30, 50]]) {
      const n = dims.reduce((a, b) => a * b, 1);
      const x = Float64Array.from(randn(n, rng(n)), (v) => Math.fround(v));
      const X64 = native.fftReal(x, dims, false);
      const X32 = native.fftReal(x, dims, false, true);
      let err = 0;
      for (let i = 0; i < X64.length; i++) err = Math.max(err, Math.abs((X32[i] ?? 0) - (X64[i] ?? 0)));
      // float32 FFT error grows like eps32 * log2(n): 1e-6 of the largest bin is ample
      expect(err / maxAbs(X64), `dims ${dims.join('x')}`).toBeLessThan(1e-6);
      const back = native.fftReal(X32, dims, true, true);
      let rt = 0;
      for (let i = 0; i < n; i++) rt = Math.max(rt, Math.abs((back[i] ?? 0) / n - (x[i] ?? 0)));
      expect(rt / maxAbs(x)).toBeLessThan(2e-6);
    }
  });

  it('rejects malformed input with a precise message', () => {
    expect(() => native.fftReal(new Float64Array(5), [2, 3], false)).toThrow(/x has 5 elements, expected 6/);
    expect(() => native.fftComplex(new Float64Array(3), false)).toThrow(/interleaved/);
  });
});
