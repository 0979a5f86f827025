// Export-time (float64) constants of the DPLR kernel. Everything that depends on the rate is computed in the graph
// (s4nd.ts); here only the rate-free vectors are prepared:
//   λ, p, b    conjugate-completed to the full state (N)
//   c̃          (rows, H, N) with the bandlimit mask, and the first-call rewrite c̃ = c (I - Ā1^{l_max}) when the layer
//              was not set up yet (l_kernel = 0), so the graph always starts from C̃; plus the variants after 1..G
//              applications of the growth rule c̃ <- c̃ (I + Ā1^{l_kernel}), selected in the graph
//   c̃⊙b, c̃⊙p, conj(p)⊙b, |p|²   the numerators of the four Cauchy sums of the Woodbury form (s4nd.ts)

type C = [number, number];
const cadd = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const csub = (a: C, b: C): C => [a[0] - b[0], a[1] - b[1]];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cdiv = (a: C, b: C): C => {
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
const conj = (a: C): C => [a[0], -a[1]];
const at = <T>(xs: T[], i: number): T => {
  const v = xs[i];
  if (v === undefined) throw new Error(`index ${i} out of range ${xs.length}`);
  return v;
};

export interface DplrRaw {
  invDt: Float32Array; // (H, 1)
  aReal: Float32Array; // (1, N/2)
  aImag: Float32Array; // (1, N/2)
  P: Float32Array; // (1, 1, N/2, 2)
  B: Float32Array; // (1, 1, N/2, 2)
  C: Float32Array; // (rows, H, N/2, 2): C̃ once set up (lKernel > 0), plain C before
}

/** Complex vectors as separate real and imaginary parts. */
export interface CxArray {
  re: Float64Array;
  im: Float64Array;
}

/** c̃ after `doublings` applications of the growth rule (l_kernel doubled that many times). */
export interface DplrVariant {
  cb: CxArray; // (rows, H, N): c̃ ⊙ b
  cp: CxArray; // (rows, H, N): c̃ ⊙ p
  lKernel: number;
}

export interface DplrConstants {
  lambda: CxArray; // (N)
  qb: CxArray; // (N): conj(p) ⊙ b
  qp: Float64Array; // (N): |p|²
  /** variants[m]: the layer after m growth doublings (variants[0]: as exported, l_max if it was not set up yet). */
  variants: DplrVariant[];
}

/** Growth doublings precomputed for the in-graph growth rule (round(rate·Lk) up to 2^G · l_kernel). */
export const DPLR_GROWTH_STEPS = 2;

type Mat = C[][];

function matmul(a: Mat, b: Mat): Mat {
  const n = a.length;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s: C = [0, 0];
      for (let k = 0; k < n; k++) s = cadd(s, cmul(at(at(a, i), k), at(at(b, k), j)));
      return s;
    }),
  );
}

/** Solves X = L⁻¹ R for square complex matrices (Gaussian elimination with partial pivoting). */
function solve(l: Mat, r: Mat): Mat {
  const n = l.length;
  const a = l.map((row) => row.map((v): C => [v[0], v[1]]));
  const x = r.map((row) => row.map((v): C => [v[0], v[1]]));
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let i = c + 1; i < n; i++) if (Math.hypot(...at(at(a, i), c)) > Math.hypot(...at(at(a, piv), c))) piv = i;
    [a[c], a[piv]] = [at(a, piv), at(a, c)];
    [x[c], x[piv]] = [at(x, piv), at(x, c)];
    const d = at(at(a, c), c);
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = cdiv(at(at(a, i), c), d);
      for (let j = 0; j < n; j++) {
        at(a, i)[j] = csub(at(at(a, i), j), cmul(f, at(at(a, c), j)));
        at(x, i)[j] = csub(at(at(x, i), j), cmul(f, at(at(x, c), j)));
      }
    }
  }
  return x.map((row, i) => row.map((v) => cdiv(v, at(at(a, i), i))));
}

function matpow(a: Mat, e: number): Mat {
  const n = a.length;
  let r: Mat = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j): C => (i === j ? [1, 0] : [0, 0])));
  let base = a;
  for (let k = e; k > 0; k >>= 1) {
    if (k & 1) r = matmul(r, base);
    base = matmul(base, base);
  }
  return r;
}

/** Rate-free constants of one axis of a DPLR layer. */
export function dplrConstants(
  raw: DplrRaw,
  o: { H: number; N: number; rows: number; bandlimit: number; lMax: number; lKernel: number },
): DplrConstants {
  const { H, N, rows } = o;
  const N2 = N / 2;
  const pair = (t: Float32Array, i: number): C => [t[2 * i] ?? NaN, t[2 * i + 1] ?? NaN];
  const full = (h: C[]): C[] => [...h, ...h.map(conj)];
  const lam = full(Array.from({ length: N2 }, (_, n): C => [-Math.exp(raw.aReal[n] ?? NaN), -(raw.aImag[n] ?? NaN)]));
  const p = full(Array.from({ length: N2 }, (_, n) => pair(raw.P, n)));
  const b = full(Array.from({ length: N2 }, (_, n) => pair(raw.B, n)));
  // A = diag(λ) - p pᴴ (dense, only for the first-call rewrite and the growth rule).
  const A: Mat = lam.map((l, i) =>
    lam.map((_, j) => {
      const v = cmul(at(p, i), conj(at(p, j)));
      return i === j ? csub(l, v) : [-v[0], -v[1]];
    }),
  );
  const setUp = o.lKernel > 0;
  const lk0 = setUp ? o.lKernel : o.lMax;
  const G = DPLR_GROWTH_STEPS;
  const variants: DplrVariant[] = Array.from({ length: G + 1 }, (_, m) => ({
    cb: { re: new Float64Array(rows * H * N), im: new Float64Array(rows * H * N) },
    cp: { re: new Float64Array(rows * H * N), im: new Float64Array(rows * H * N) },
    lKernel: lk0 * 2 ** m,
  }));
  const eye = (i: number, j: number): C => (i === j ? [1, 0] : [0, 0]);
  const rowTimes = (c: C[], m: Mat): C[] =>
    c.map((_, j) => c.reduce<C>((acc, ci, i) => cadd(acc, cmul(ci, at(at(m, i), j))), [0, 0]));
  for (let h = 0; h < H; h++) {
    const dtBase = Math.exp(raw.invDt[h] ?? NaN);
    // Ā1 = (I - dt/2 A)⁻¹ (I + dt/2 A) at rate 1.
    const side = (sg: number): Mat => A.map((row, i) => row.map((v, j): C => cadd(eye(i, j), [sg * v[0], sg * v[1]])));
    const abar1 = solve(side(-dtBase / 2), side(dtBase / 2));
    // Setup: c̃ = c (I - Ā1^{l_max}); growth m: c̃ <- c̃ (I + Ā1^{l_kernel}), l_kernel <- 2 l_kernel.
    const setup = setUp ? undefined : matpow(abar1, o.lMax).map((row, i) => row.map((v, j) => csub(eye(i, j), v)));
    const grow = Array.from({ length: G }, (_, m) =>
      matpow(abar1, lk0 * 2 ** m).map((row, i) => row.map((v, j) => cadd(eye(i, j), v))),
    );
    const keep = Array.from(
      { length: N2 },
      (_, n) => o.bandlimit <= 0 || (dtBase * Math.abs(raw.aImag[n] ?? NaN)) / (2 * Math.PI) < o.bandlimit / 2,
    );
    for (let r = 0; r < rows; r++) {
      let c = full(Array.from({ length: N2 }, (_, n): C => pair(raw.C, (r * H + h) * N2 + n)));
      if (setup) c = rowTimes(c, setup);
      variants.forEach((v, m) => {
        if (m > 0) c = rowTimes(c, at(grow, m - 1));
        // The mask multiplies the stored (half) C̃ at kernel time; the conjugate half follows it.
        const cm = c.map((x, n): C => (at(keep, n % N2) ? x : [0, 0]));
        for (let n = 0; n < N; n++) {
          const k = (r * H + h) * N + n;
          const vb = cmul(at(cm, n), at(b, n));
          const vp = cmul(at(cm, n), at(p, n));
          v.cb.re[k] = vb[0];
          v.cb.im[k] = vb[1];
          v.cp.re[k] = vp[0];
          v.cp.im[k] = vp[1];
        }
      });
    }
  }
  const qb = p.map((pn, n) => cmul(conj(pn), at(b, n)));
  return {
    lambda: { re: Float64Array.from(lam, (v) => v[0]), im: Float64Array.from(lam, (v) => v[1]) },
    qb: { re: Float64Array.from(qb, (v) => v[0]), im: Float64Array.from(qb, (v) => v[1]) },
    qp: Float64Array.from(p, (v) => v[0] * v[0] + v[1] * v[1]),
    variants,
  };
}
