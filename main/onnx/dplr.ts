// Export-time (float64) part of the DPLR kernel: the eigendecomposition of A = diag(λ) - p pᴴ.
//
// ONNX has no complex linear algebra (no inverse, no matrix power), so the exported graph works in the eigenbasis
// of A, where everything that depends on dt (hence on the run-time rate) is diagonal:
//   A  = V diag(μ) V⁻¹
//   Ā  = V diag((1 + dtμ/2) / (1 - dtμ/2)) V⁻¹,   B̄ = V diag(dt / (1 - dtμ/2)) V⁻¹ b,
//   C_eff = c̃ V diag(1 / (1 - ā^{discrete_L})) V⁻¹
//   k[l] = Re Σ_j (c̃V)_j ā_j^l / (1 - ā_j^{discrete_L}) · dt / (1 - dtμ_j/2) · (V⁻¹b)_j
// Only μ, c̃V and V⁻¹b are precomputed here; they do not depend on the rate.
//
// A rank-1 update of a diagonal has closed-form eigenvectors: μ solves the secular equation
// 1 = Σ_j |p_j|² / (λ_j - μ) (found for all roots at once with Aberth's method), v = (diag(λ) - μ)⁻¹ p is its right
// eigenvector and pᴴ (diag(λ) - μ)⁻¹ its left one. The decomposition is checked by rebuilding A.

export class DplrExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DplrExportError';
  }
}

type C = [number, number];
const cadd = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const csub = (a: C, b: C): C => [a[0] - b[0], a[1] - b[1]];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cdiv = (a: C, b: C): C => {
  const d = b[0] * b[0] + b[1] * b[1];
  return [(a[0] * b[0] + a[1] * b[1]) / d, (a[1] * b[0] - a[0] * b[1]) / d];
};
const conj = (a: C): C => [a[0], -a[1]];
const cabs = (a: C): number => Math.hypot(a[0], a[1]);

export interface DplrRaw {
  invDt: Float32Array; // (H, 1)
  aReal: Float32Array; // (1, N/2)
  aImag: Float32Array; // (1, N/2)
  P: Float32Array; // (1, 1, N/2, 2)
  B: Float32Array; // (1, 1, N/2, 2)
  C: Float32Array; // (rows, H, N/2, 2): C̃ once set up (lKernel > 0), plain C before
}

export interface DplrModes {
  muRe: Float64Array; // (N)
  muIm: Float64Array;
  vbRe: Float64Array; // (N): V⁻¹ b
  vbIm: Float64Array;
  cvRe: Float64Array; // (rows, H, N): c̃ V (bandlimit mask applied)
  cvIm: Float64Array;
  /** The l_kernel the graph uses (l_max when the layer was not set up yet). */
  lKernel: number;
}

/** Eigenvalues of diag(λ) - p pᴴ (Aberth iteration on the secular equation). */
function secularRoots(lam: C[], w: number[]): C[] {
  const N = lam.length;
  const r = (mu: C): { f: C; df: C } => {
    // r(μ) = 1 - Σ w_j / (λ_j - μ); r'(μ) = -Σ w_j / (λ_j - μ)²
    let f: C = [1, 0];
    let df: C = [0, 0];
    for (let j = 0; j < N; j++) {
      const inv = cdiv([1, 0], csub(lam[j] as C, mu));
      f = csub(f, [w[j]! * inv[0], w[j]! * inv[1]]);
      const inv2 = cmul(inv, inv);
      df = csub(df, [w[j]! * inv2[0], w[j]! * inv2[1]]);
    }
    return { f, df };
  };
  const scale = Math.max(
    1,
    ...lam.map(cabs),
    w.reduce((a, b) => a + b, 0),
  );
  // Start near the poles, nudged off them (the roots interlace the poles' neighbourhoods for a rank-1 update).
  const z: C[] = lam.map((l, j) => [l[0] - 0.01 * scale * Math.cos(j + 0.5), l[1] + 0.01 * scale * Math.sin(j + 0.5)]);
  for (let it = 0; it < 2000; it++) {
    let moved = 0;
    for (let k = 0; k < N; k++) {
      const zk = z[k] as C;
      const { f, df } = r(zk);
      // (log f)' for the degree-N polynomial f(μ) = Π(λ_j - μ) r(μ)
      let logd = cdiv(df, f);
      for (let j = 0; j < N; j++) logd = cadd(logd, cdiv([1, 0], csub(zk, lam[j] as C)));
      let rep: C = [0, 0];
      for (let m = 0; m < N; m++) if (m !== k) rep = cadd(rep, cdiv([1, 0], csub(zk, z[m] as C)));
      const step = cdiv([1, 0], csub(logd, rep));
      if (!Number.isFinite(step[0]) || !Number.isFinite(step[1])) continue;
      z[k] = csub(zk, step);
      moved = Math.max(moved, cabs(step) / Math.max(1, cabs(zk)));
    }
    if (moved < 1e-15) break;
  }
  return z;
}

/** Decomposes one axis of a DPLR layer. Throws DplrExportError when the eigenbasis is not accurate enough. */
export function dplrModes(
  raw: DplrRaw,
  o: { H: number; N: number; rows: number; bandlimit: number; lMax: number; lKernel: number },
): DplrModes {
  const { H, N, rows } = o;
  const N2 = N / 2;
  const half = (t: Float32Array, n: number): C => [t[2 * n] ?? NaN, t[2 * n + 1] ?? NaN];
  const lamH: C[] = Array.from({ length: N2 }, (_, n) => [-Math.exp(raw.aReal[n] ?? NaN), -(raw.aImag[n] ?? NaN)]);
  const lam: C[] = [...lamH, ...lamH.map(conj)];
  const pH: C[] = Array.from({ length: N2 }, (_, n) => half(raw.P, n));
  const p: C[] = [...pH, ...pH.map(conj)];
  const bH: C[] = Array.from({ length: N2 }, (_, n) => half(raw.B, n));
  const b: C[] = [...bH, ...bH.map(conj)];
  const mu = secularRoots(
    lam,
    p.map((x) => x[0] * x[0] + x[1] * x[1]),
  );
  // Right eigenvectors V[:, k] = (λ - μ_k)⁻¹ p; left ones pᴴ (λ - μ_k)⁻¹, normalised so that V⁻¹ V = I.
  const V: C[][] = Array.from({ length: N }, (_, i) => mu.map((m) => cdiv(p[i] as C, csub(lam[i] as C, m))));
  const Vinv: C[][] = mu.map((m, k) => {
    const row = lam.map((l, j) => cdiv(conj(p[j] as C), csub(l, m)));
    let s: C = [0, 0];
    for (let j = 0; j < N; j++) s = cadd(s, cmul(row[j] as C, V[j]![k] as C));
    return row.map((x) => cdiv(x, s));
  });
  // Check: V diag(μ) V⁻¹ must rebuild A = diag(λ) - p pᴴ.
  let err = 0;
  let norm = 0;
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      let s: C = [0, 0];
      for (let k = 0; k < N; k++) s = cadd(s, cmul(cmul(V[i]![k] as C, mu[k] as C), Vinv[k]![j] as C));
      let a: C = cmul(p[i] as C, conj(p[j] as C));
      a = [-a[0], -a[1]];
      if (i === j) a = cadd(a, lam[i] as C);
      err = Math.max(err, cabs(csub(s, a)));
      norm = Math.max(norm, cabs(a));
    }
  }
  if (!(err <= 1e-9 * norm)) {
    throw new DplrExportError(
      `the DPLR state matrix diag(λ) - p pᴴ has no accurate eigenbasis (rebuild error ${err.toExponential(2)} ` +
        `relative to ${norm.toExponential(2)}); this layer cannot be exported with a resolution-flexible kernel`,
    );
  }
  const vb = Vinv.map((row) => row.reduce<C>((s, x, j) => cadd(s, cmul(x, b[j] as C)), [0, 0]));
  // c̃ (rows, H, N) with the bandlimit mask; if not set up yet, c̃ = c (I - Ā1^{l_max}) i.e. c̃V = cV (1 - ā1^{l_max}).
  const setUp = o.lKernel > 0;
  const lKernel = setUp ? o.lKernel : o.lMax;
  const cvRe = new Float64Array(rows * H * N);
  const cvIm = new Float64Array(rows * H * N);
  for (let h = 0; h < H; h++) {
    const dtBase = Math.exp(raw.invDt[h] ?? NaN);
    const abar1 = mu.map((m) => {
      const hm: C = [(dtBase / 2) * m[0], (dtBase / 2) * m[1]];
      return cdiv(cadd([1, 0], hm), csub([1, 0], hm));
    });
    const keep = lamH.map(
      (_, n) => o.bandlimit <= 0 || (dtBase * Math.abs(raw.aImag[n] ?? NaN)) / (2 * Math.PI) < o.bandlimit / 2,
    );
    for (let r = 0; r < rows; r++) {
      const cH: C[] = Array.from({ length: N2 }, (_, n) => {
        const v = half(raw.C, (r * H + h) * N2 + n);
        return keep[n] ? v : [0, 0];
      });
      const c: C[] = [...cH, ...cH.map(conj)];
      for (let k = 0; k < N; k++) {
        let s: C = [0, 0];
        for (let i = 0; i < N; i++) s = cadd(s, cmul(c[i] as C, V[i]![k] as C));
        if (!setUp) s = cmul(s, csub([1, 0], cpow(abar1[k] as C, o.lMax)));
        cvRe[(r * H + h) * N + k] = s[0];
        cvIm[(r * H + h) * N + k] = s[1];
      }
    }
  }
  return {
    muRe: Float64Array.from(mu, (m) => m[0]),
    muIm: Float64Array.from(mu, (m) => m[1]),
    vbRe: Float64Array.from(vb, (v) => v[0]),
    vbIm: Float64Array.from(vb, (v) => v[1]),
    cvRe,
    cvIm,
    lKernel,
  };
}

function cpow(a: C, n: number): C {
  let r: C = [1, 0];
  let base = a;
  let k = n;
  while (k > 0) {
    if (k & 1) r = cmul(r, base);
    base = cmul(base, base);
    k >>= 1;
  }
  return r;
}
