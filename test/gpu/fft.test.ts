// FFT kernels against a float64 direct DFT, for the lengths the S4ND layer uses (P = L + Lk: 16, 32, 48, 56, 64) and
// awkward ones (primes, 1, 2, mixed radices, the 1024 maximum).
import { afterAll, describe, expect, test } from 'vitest';

import { fftAxis, fftAxisBackward, fftRadices, irfft, maxFftLength, rfft } from '../../main/gpu/ops/fft.js';
import { finiteDiff, nmse, relMax, seeded, testRuntime, up } from './gpu-test-device.js';

const measured: string[] = [];
afterAll(() => console.log(`GPU FFT errors vs float64 DFT (SwiftShader):\n  ${measured.join('\n  ')}`));

/** Direct DFT along the middle axis of (outer, n, inner, 2). */
function dft(x: Float64Array, outer: number, n: number, inner: number, inverse: boolean): Float64Array {
  const out = new Float64Array(x.length);
  const sgn = inverse ? 1 : -1;
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++)
      for (let f = 0; f < n; f++) {
        let re = 0;
        let im = 0;
        for (let t = 0; t < n; t++) {
          const a = (sgn * 2 * Math.PI * ((f * t) % n)) / n;
          const idx = 2 * ((o * n + t) * inner + i);
          const xr = x[idx] ?? 0;
          const xi = x[idx + 1] ?? 0;
          re += xr * Math.cos(a) - xi * Math.sin(a);
          im += xr * Math.sin(a) + xi * Math.cos(a);
        }
        const s = inverse ? 1 / n : 1;
        out[2 * ((o * n + f) * inner + i)] = re * s;
        out[2 * ((o * n + f) * inner + i) + 1] = im * s;
      }
  return out;
}

// Float32 twiddles and arithmetic: NMSE ~1e-14; 1e-12 is ~1e-6 relative RMS.
const TOL = 1e-12;

describe('gpu FFT', () => {
  test('radix plans', () => {
    expect(fftRadices(64)).toEqual([4, 4, 4]);
    expect(fftRadices(56)).toEqual([4, 2, 7]);
    expect(fftRadices(48)).toEqual([4, 4, 3]);
    expect(fftRadices(97)).toEqual([97]);
    expect(fftRadices(1)).toEqual([]);
    expect(fftRadices(90)).toEqual([2, 3, 3, 5]);
  });

  test('complex FFT along an axis, forward and inverse, many lengths', async () => {
    const rt = await testRuntime();
    for (const [outer, n, inner] of [
      [3, 16, 1],
      [2, 32, 3],
      [2, 48, 1],
      [2, 56, 2],
      [1, 64, 4],
      [2, 1, 3],
      [2, 2, 1],
      [2, 7, 1],
      [1, 97, 1],
      [1, 90, 1],
      [1, 1024, 1],
    ] as const) {
      const x = Float64Array.from(Float32Array.from(seeded(n * 7 + inner, outer * n * inner * 2)));
      const X = up(rt, x, [outer, n, inner, 2]);
      const Y = up(rt, x, [outer, n, inner, 2]);
      rt.run((b) => {
        fftAxis(rt, b, X, outer, n, inner, false);
        fftAxis(rt, b, Y, outer, n, inner, true);
      });
      const ef = nmse(await rt.read(X), dft(x, outer, n, inner, false));
      const ei = nmse(await rt.read(Y), dft(x, outer, n, inner, true));
      measured.push(
        `fft n=${String(n).padEnd(5)} (outer ${outer}, inner ${inner})  fwd NMSE ${ef.toExponential(2)}  inv NMSE ${ei.toExponential(2)}`,
      );
      expect(ef).toBeLessThan(TOL);
      expect(ei).toBeLessThan(TOL);
      rt.release(X, Y);
    }
  });

  test('a length beyond the workgroup memory is refused with a clear error', async () => {
    const rt = await testRuntime();
    const n = maxFftLength(rt) + 1;
    expect(maxFftLength(rt)).toBeGreaterThanOrEqual(1024);
    const X = rt.alloc([1, n, 1, 2]);
    const b = rt.batch();
    expect(() => fftAxis(rt, b, X, 1, n, 1)).toThrow(/use the CPU engine/);
    b.submit();
    rt.release(X);
  });

  test('FFT backward (F^H g) vs finite differences of the float64 DFT', async () => {
    const rt = await testRuntime();
    const [outer, n, inner] = [2, 12, 3];
    const x = Float64Array.from(Float32Array.from(seeded(80, outer * n * inner * 2)));
    const g = Float64Array.from(Float32Array.from(seeded(81, outer * n * inner * 2)));
    const G = up(rt, g, [outer, n, inner, 2]);
    rt.run((b) => fftAxisBackward(rt, b, G, outer, n, inner));
    const e = nmse(
      await rt.read(G),
      finiteDiff((v) => dft(v, outer, n, inner, false), x, g),
    );
    measured.push(`fft backward n=${n}  NMSE ${e.toExponential(2)}`);
    expect(e).toBeLessThan(TOL);
  });

  test('real FFT with zero padding and inverse real FFT round trip', async () => {
    const rt = await testRuntime();
    for (const [lines, len, n] of [
      [3, 16, 32],
      [2, 24, 56],
      [2, 33, 33],
    ] as const) {
      const x = Float64Array.from(Float32Array.from(seeded(len + n, lines * len)));
      const X = up(rt, x, [lines, len]);
      const nh = Math.floor(n / 2) + 1;
      const r = rt.run((b) => {
        const spec = rfft(rt, b, X, lines, len, n);
        return { spec, back: irfft(rt, b, spec, lines, n, len) };
      });
      const padded = new Float64Array(lines * n * 2);
      for (let l = 0; l < lines; l++) for (let t = 0; t < len; t++) padded[2 * (l * n + t)] = x[l * len + t] ?? 0;
      const full = dft(padded, lines, n, 1, false);
      const half = new Float64Array(lines * nh * 2);
      for (let l = 0; l < lines; l++) half.set(full.subarray(2 * l * n, 2 * (l * n + nh)), 2 * l * nh);
      const es = nmse(await rt.read(r.spec), half);
      const eb = relMax(await rt.read(r.back), x);
      measured.push(
        `rfft len=${len} n=${n}  spectrum NMSE ${es.toExponential(2)}  irfft(rfft(x)) max rel ${eb.toExponential(2)}`,
      );
      expect(es).toBeLessThan(TOL);
      expect(eb).toBeLessThan(1e-6); // round trip, max|err| / max|x|
    }
  });
});
