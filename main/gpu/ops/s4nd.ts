// S4ND on the GPU: S4D kernel generation (Vandermonde, ZOH) and the bidirectional separable FFT convolution with the
// D skip, forward and backward. Spec: /work/shared/reference/s4nd/README.md (sections 3, 5, 6, 7, 8).
//
// Layouts (row-major, complex = trailing axis of 2):
//   u (B, H, L_0..L_{D-1}), y (B, C*H, L...) with channel c*H + h; per axis a: k_a (2C, H, Lk_a), rows [0, C) forward,
//   rows [C, 2C) backward (first tap at lag -1). The FFT grid is P_a = L_a + Lk_a, so the circular convolution is
//   the linear one. D (number of axes) is 1, 2 or 3: missing leading axes are treated as length 1.
//
// Kernel generation, for one axis:
//   dt_base = exp(inv_dt[h]), dt = dt_base * rate, A_n = -exp(A_real[n]) - i A_imag[n],
//   Bbar = B (exp(dt A) - 1) / A, W = mask C Bbar, k[r,h,l] = 2 Re sum_n W[r,h,n] exp(dt A_n l).
// Its backward (F = sum_l dk_l W Z_l, Z_l = exp(dt A l), S0 = sum_l dk_l Z_l, S1 = sum_l dk_l l Z_l):
//   dF/dC = mask Bbar S0, dF/dB = mask C (E - 1)/A S0, E = exp(dt A),
//   dF/dA = mask C B (dt E A - (E - 1))/A^2 S0 + W dt S1, dF/ddt = mask C B E S0 + W A S1;
//   real grads are 2 Re(dF/dθ · dθ-chain): dA/dA_real = -exp(A_real), dA/dA_imag = -i, ddt/dinv_dt = dt; complex
//   parameter pairs (d/dRe, d/dIm) are 2 conj(dF/dz).
import { type Batch, type GpuRuntime, type GpuTensor, Params, grid1d } from '../runtime.js';
import { WGSL_GID, WGSL_MATH } from '../wgsl-lib.js';
import { fftAxis } from './fft.js';

/** Python's round(): halves go to the even neighbour. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Parameters of one axis' S4D kernel module (n_ssm = 1). */
export interface S4dAxisParams {
  invDt: GpuTensor; // (H, 1)
  aReal: GpuTensor; // (1, N/2)
  aImag: GpuTensor; // (1, N/2)
  b: GpuTensor; // (1, 1, N/2, 2)
  c: GpuTensor; // (2C, H, N/2, 2)
}

export interface S4dAxisGrads {
  invDt: GpuTensor;
  aReal: GpuTensor;
  aImag: GpuTensor;
  b: GpuTensor;
  c: GpuTensor;
}

// ---- S4D kernel generation ----------------------------------------------------------------------------------------

// phi1(z) = (e^z - 1)/z and phi2(z) = (z e^z - (e^z - 1))/z^2 for complex z = dt A. Evaluated directly they cancel
// catastrophically in float32 when |dt A| is small (dt ~ 1e-3 at init: phi1 loses ~3 digits, phi2 ~6, which made the
// A_real / A_imag gradients of small-dt channels wrong by up to 1e-3 relative against the CPU engine's double
// arithmetic); below |z| = 1 they are summed from their Taylor series (Horner, 15 terms, truncation < 1e-12).
function hornerSeries(name: string, coef: (k: number) => number): string {
  const terms = 15;
  let body = `  var acc = vec2<f32>(${coef(terms - 1).toExponential(9)}, 0.0);\n`;
  for (let k = terms - 2; k >= 0; k--) body += `  acc = cmul(acc, z) + vec2<f32>(${coef(k).toExponential(9)}, 0.0);\n`;
  return `fn ${name}_series(z: vec2<f32>) -> vec2<f32> {\n${body}  return acc;\n}\n`;
}
const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
const PHI_CODE = `${hornerSeries('phi1', (k) => 1 / factorial(k + 1))}${hornerSeries('phi2', (k) => (k + 1) / factorial(k + 2))}
fn phi1(z: vec2<f32>) -> vec2<f32> {
  if (dot(z, z) < 1.0) { return phi1_series(z); }
  return cdiv(cexp(z) - vec2<f32>(1.0, 0.0), z);
}
fn phi2(z: vec2<f32>) -> vec2<f32> {
  if (dot(z, z) < 1.0) { return phi2_series(z); }
  let e = cexp(z);
  return cdiv(cmul(z, e) - (e - vec2<f32>(1.0, 0.0)), cmul(z, z));
}`;

const S4D_COMMON = `${WGSL_MATH}${WGSL_GID}${PHI_CODE}
struct P { rows: u32, h: u32, n2: u32, lk: u32, rate: f32, bandlimit: f32 }
fn mode_mask(dt_base: f32, a_imag: f32, bandlimit: f32) -> f32 {
  if (bandlimit < 0.0) { return 1.0; }
  return select(0.0, 1.0, dt_base * abs(a_imag) / 6.283185307179586 < 0.5 * bandlimit);
}`;

const S4D_FWD_CODE = `${S4D_COMMON}
@group(0) @binding(0) var<storage, read> inv_dt: array<f32>;
@group(0) @binding(1) var<storage, read> a_real: array<f32>;
@group(0) @binding(2) var<storage, read> a_imag: array<f32>;
@group(0) @binding(3) var<storage, read> bp: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> cp: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> k: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.rows * p.h * p.lk) { return; }
  let l = i % p.lk;
  let h = (i / p.lk) % p.h;
  let r = i / (p.lk * p.h);
  let dt_base = exp(inv_dt[h]);
  let dt = dt_base * p.rate;
  var acc = 0.0;
  for (var n = 0u; n < p.n2; n++) {
    let a = vec2<f32>(-exp(a_real[n]), -a_imag[n]);
    let dta = dt * a;
    let bbar = cmul(bp[n], dt * phi1(dta));
    let w = mode_mask(dt_base, a_imag[n], p.bandlimit) * cmul(cp[(r * p.h + h) * p.n2 + n], bbar);
    let z = cexp(dta * f32(l));
    acc += w.x * z.x - w.y * z.y;
  }
  k[i] = 2.0 * acc;
}`;

const S4D_BWD_PARTIAL_CODE = `${S4D_COMMON}
@group(0) @binding(0) var<storage, read> inv_dt: array<f32>;
@group(0) @binding(1) var<storage, read> a_real: array<f32>;
@group(0) @binding(2) var<storage, read> a_imag: array<f32>;
@group(0) @binding(3) var<storage, read> bp: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> cp: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> dk: array<f32>;
@group(0) @binding(6) var<storage, read_write> gc: array<vec2<f32>>;
@group(0) @binding(7) var<storage, read_write> part: array<vec2<f32>>;
@group(0) @binding(8) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.rows * p.h * p.n2) { return; }
  let n = i % p.n2;
  let h = (i / p.n2) % p.h;
  let r = i / (p.n2 * p.h);
  let dt_base = exp(inv_dt[h]);
  let dt = dt_base * p.rate;
  let a = vec2<f32>(-exp(a_real[n]), -a_imag[n]);
  let dta = dt * a;
  var s0 = vec2<f32>(0.0, 0.0);
  var s1 = vec2<f32>(0.0, 0.0);
  let kb = (r * p.h + h) * p.lk;
  for (var l = 0u; l < p.lk; l++) {
    let z = cexp(dta * f32(l));
    let g = dk[kb + l];
    s0 += g * z;
    s1 += (g * f32(l)) * z;
  }
  let mask = mode_mask(dt_base, a_imag[n], p.bandlimit);
  let e = cexp(dta);
  let b = bp[n];
  let c = cp[i];
  let em1_a = dt * phi1(dta); // (e^{dt A} - 1) / A
  let bbar = cmul(b, em1_a);
  let w = mask * cmul(c, bbar);
  gc[i] = 2.0 * cconj(mask * cmul(bbar, s0));
  let mc = mask * c;
  let dfdb = cmul(cmul(mc, em1_a), s0);
  let dbbar_da = (dt * dt) * cmul(b, phi2(dta)); // B (dt e A - (e - 1)) / A^2
  let dfda = cmul(cmul(mc, dbbar_da), s0) + dt * cmul(w, s1);
  let dfddt = cmul(cmul(mc, cmul(b, e)), s0) + cmul(w, cmul(a, s1));
  part[3u * i] = dfda;
  part[3u * i + 1u] = dfdb;
  part[3u * i + 2u] = dfddt;
}`;

const S4D_BWD_REDUCE_CODE = `${S4D_COMMON}
@group(0) @binding(0) var<storage, read> inv_dt: array<f32>;
@group(0) @binding(1) var<storage, read> a_real: array<f32>;
@group(0) @binding(2) var<storage, read> part: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read_write> g_inv_dt: array<f32>;
@group(0) @binding(4) var<storage, read_write> g_a_real: array<f32>;
@group(0) @binding(5) var<storage, read_write> g_a_imag: array<f32>;
@group(0) @binding(6) var<storage, read_write> g_b: array<vec2<f32>>;
@group(0) @binding(7) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg);
  if (t < p.n2) {
    let n = t;
    var da = vec2<f32>(0.0, 0.0);
    var db = vec2<f32>(0.0, 0.0);
    for (var rh = 0u; rh < p.rows * p.h; rh++) {
      da += part[3u * (rh * p.n2 + n)];
      db += part[3u * (rh * p.n2 + n) + 1u];
    }
    g_a_real[n] = 2.0 * da.x * (-exp(a_real[n]));
    g_a_imag[n] = 2.0 * da.y;
    g_b[n] = 2.0 * cconj(db);
  } else if (t < p.n2 + p.h) {
    let h = t - p.n2;
    var s = 0.0;
    for (var r = 0u; r < p.rows; r++) {
      for (var n = 0u; n < p.n2; n++) { s += part[3u * ((r * p.h + h) * p.n2 + n) + 2u].x; }
    }
    g_inv_dt[h] = 2.0 * s * exp(inv_dt[h]) * p.rate;
  }
}`;

export interface S4dKernelShape {
  /** 2C (forward and backward rows). */
  rows: number;
  h: number;
  /** N/2 stored modes. */
  n2: number;
  lk: number;
  rate: number;
  /** null: no mask. */
  bandlimit: number | null;
}

function s4dParams(s: S4dKernelShape): Params {
  return new Params()
    .u32(s.rows)
    .u32(s.h)
    .u32(s.n2)
    .u32(s.lk)
    .f32(s.rate)
    .f32(s.bandlimit ?? -1);
}

/** S4D kernel k (2C, H, Lk). */
export function s4dKernel(rt: GpuRuntime, b: Batch, s: S4dKernelShape, prm: S4dAxisParams): GpuTensor {
  if (prm.c.size !== s.rows * s.h * s.n2 * 2)
    throw new RangeError(`s4dKernel: C has ${prm.c.size} values, expected 2C*H*N/2*2`);
  const k = rt.alloc([s.rows, s.h, s.lk]); // (2C, H, Lk)
  b.dispatch(
    { code: S4D_FWD_CODE, label: 's4d_kernel' },
    [prm.invDt, prm.aReal, prm.aImag, prm.b, prm.c, k],
    s4dParams(s),
    grid1d(k.size),
  );
  return k;
}

/** Backward of s4dKernel: dk (2C, H, Lk) -> grads of inv_dt, A_real, A_imag, B, C. */
export function s4dKernelBackward(
  rt: GpuRuntime,
  b: Batch,
  s: S4dKernelShape,
  prm: S4dAxisParams,
  dk: GpuTensor,
): S4dAxisGrads {
  const gC = rt.alloc([s.rows, s.h, s.n2, 2]); // (2C, H, N/2, 2)
  const part = rt.alloc([s.rows, s.h, s.n2, 3, 2]); // (2C, H, N/2, {dF/dA, dF/dB, dF/ddt}, 2)
  b.dispatch(
    { code: S4D_BWD_PARTIAL_CODE, label: 's4d_kernel_bwd' },
    [prm.invDt, prm.aReal, prm.aImag, prm.b, prm.c, dk, gC, part],
    s4dParams(s),
    grid1d(s.rows * s.h * s.n2),
  );
  const gInvDt = rt.alloc([s.h, 1]); // (H, 1)
  const gAReal = rt.alloc([1, s.n2]); // (1, N/2)
  const gAImag = rt.alloc([1, s.n2]); // (1, N/2)
  const gB = rt.alloc([1, 1, s.n2, 2]); // (1, 1, N/2, 2)
  b.dispatch(
    { code: S4D_BWD_REDUCE_CODE, label: 's4d_kernel_bwd_reduce' },
    [prm.invDt, prm.aReal, part, gInvDt, gAReal, gAImag, gB],
    s4dParams(s),
    grid1d(s.n2 + s.h),
  );
  rt.release(part);
  return { invDt: gInvDt, aReal: gAReal, aImag: gAImag, b: gB, c: gC };
}

// ---- bidirectional separable FFT convolution ----------------------------------------------------------------------

const GRID = `struct G { bh: u32, l0: u32, l1: u32, l2: u32, p0: u32, p1: u32, p2: u32, c: u32, h: u32, nb: u32, axis: u32 }`;

const PAD_CODE = `${WGSL_GID}${GRID}
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read_write> x: array<vec2<f32>>;
@group(0) @binding(2) var<uniform> g: G;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let pn = g.p0 * g.p1 * g.p2;
  if (i >= g.bh * pn) { return; }
  let q2 = i % g.p2;
  let q1 = (i / g.p2) % g.p1;
  let q0 = (i / (g.p2 * g.p1)) % g.p0;
  let bh = i / pn;
  var v = 0.0;
  if (q0 < g.l0 && q1 < g.l1 && q2 < g.l2) { v = u[((bh * g.l0 + q0) * g.l1 + q1) * g.l2 + q2]; }
  x[i] = vec2<f32>(v, 0.0);
}`;

const BIDIR_CODE = `${WGSL_GID}
struct Q { c: u32, h: u32, lk: u32, p: u32 }
@group(0) @binding(0) var<storage, read> k: array<f32>;
@group(0) @binding(1) var<storage, read_write> kb: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> kbr: array<f32>;
@group(0) @binding(3) var<uniform> q: Q;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= q.c * q.h * q.p) { return; }
  let j = i % q.p;
  let h = (i / q.p) % q.h;
  let c = i / (q.p * q.h);
  var v = 0.0;
  if (j < q.lk) { v = k[(c * q.h + h) * q.lk + j]; }
  else if (j >= q.p - q.lk) { v = k[((q.c + c) * q.h + h) * q.lk + (q.p - 1u - j)]; }
  kb[i] = vec2<f32>(v, 0.0);
  kbr[i] = v;
}`;

const BIDIR_BWD_CODE = `${WGSL_GID}
struct Q { c: u32, h: u32, lk: u32, p: u32 }
@group(0) @binding(0) var<storage, read> dkb: array<f32>;
@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(2) var<uniform> q: Q;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= 2u * q.c * q.h * q.lk) { return; }
  let j = i % q.lk;
  let h = (i / q.lk) % q.h;
  let r = i / (q.lk * q.h);
  if (r < q.c) { dk[i] = dkb[(r * q.h + h) * q.p + j]; }
  else { dk[i] = dkb[((r - q.c) * q.h + h) * q.p + (q.p - 1u - j)]; }
}`;

const KPROD = `
fn kprod(c: u32, h: u32, f0: u32, f1: u32, f2: u32) -> vec2<f32> {
  let ch = c * g.h + h;
  return cmul(cmul(k0[ch * g.p0 + f0], k1[ch * g.p1 + f1]), k2[ch * g.p2 + f2]);
}`;

// Y[b, c, h, f] = X[b, h, f] * prod_a Khat_a[c, h, f_a]
const SPECTRAL_FWD_CODE = `${WGSL_MATH}${WGSL_GID}${GRID}
@group(0) @binding(0) var<storage, read> x: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> k0: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> k1: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> k2: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> y: array<vec2<f32>>;
@group(0) @binding(5) var<uniform> g: G;
${KPROD}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let pn = g.p0 * g.p1 * g.p2;
  if (i >= g.nb * g.c * g.h * pn) { return; }
  let f = i % pn;
  let h = (i / pn) % g.h;
  let c = (i / (pn * g.h)) % g.c;
  let b = i / (pn * g.h * g.c);
  let f2 = f % g.p2;
  let f1 = (f / g.p2) % g.p1;
  let f0 = f / (g.p2 * g.p1);
  y[i] = cmul(x[(b * g.h + h) * pn + f], kprod(c, h, f0, f1, f2));
}`;

// dX[b, h, f] = sum_c conj(prod_a Khat_a[c, h, f_a]) * Ybar[b, c, h, f]
const SPECTRAL_ADJ_CODE = `${WGSL_MATH}${WGSL_GID}${GRID}
@group(0) @binding(0) var<storage, read> ybar: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> k0: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> k1: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> k2: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<vec2<f32>>;
@group(0) @binding(5) var<uniform> g: G;
${KPROD}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let pn = g.p0 * g.p1 * g.p2;
  if (i >= g.nb * g.h * pn) { return; }
  let f = i % pn;
  let h = (i / pn) % g.h;
  let b = i / (pn * g.h);
  let f2 = f % g.p2;
  let f1 = (f / g.p2) % g.p1;
  let f0 = f / (g.p2 * g.p1);
  var acc = vec2<f32>(0.0, 0.0);
  for (var c = 0u; c < g.c; c++) {
    acc += cmul(cconj(kprod(c, h, f0, f1, f2)), ybar[((b * g.c + c) * g.h + h) * pn + f]);
  }
  dx[i] = acc;
}`;

// Ghat[c, h, f] = sum_b conj(X[b, h, f]) * Ybar[b, c, h, f]   (spectrum of dL/dK_full)
const KGRAD_SPECTRUM_CODE = `${WGSL_MATH}${WGSL_GID}${GRID}
@group(0) @binding(0) var<storage, read> x: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> ybar: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> gk: array<vec2<f32>>;
@group(0) @binding(3) var<uniform> g: G;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let pn = g.p0 * g.p1 * g.p2;
  if (i >= g.c * g.h * pn) { return; }
  let f = i % pn;
  let h = (i / pn) % g.h;
  let c = i / (pn * g.h);
  var acc = vec2<f32>(0.0, 0.0);
  for (var b = 0u; b < g.nb; b++) {
    acc += cmul(cconj(x[(b * g.h + h) * pn + f]), ybar[((b * g.c + c) * g.h + h) * pn + f]);
  }
  gk[i] = acc;
}`;

// dkb_a[c, h, j] = sum over the other axes of Re(dK_full[c, h, ...]) * prod_{a' != a} kb_{a'}[c, h, j_{a'}]
const KGRAD_CONTRACT_CODE = `${WGSL_GID}${GRID}
@group(0) @binding(0) var<storage, read> gk: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> r0: array<f32>;
@group(0) @binding(2) var<storage, read> r1: array<f32>;
@group(0) @binding(3) var<storage, read> r2: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> g: G;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  var pa = g.p0;
  if (g.axis == 1u) { pa = g.p1; } else if (g.axis == 2u) { pa = g.p2; }
  if (i >= g.c * g.h * pa) { return; }
  let j = i % pa;
  let ch = i / pa;
  let pn = g.p0 * g.p1 * g.p2;
  var lo = vec3<u32>(0u, 0u, 0u);
  var hi = vec3<u32>(g.p0, g.p1, g.p2);
  lo[g.axis] = j;
  hi[g.axis] = j + 1u;
  var acc = 0.0;
  for (var q0 = lo.x; q0 < hi.x; q0++) {
    let w0 = select(r0[ch * g.p0 + q0], 1.0, g.axis == 0u);
    for (var q1 = lo.y; q1 < hi.y; q1++) {
      let w1 = w0 * select(r1[ch * g.p1 + q1], 1.0, g.axis == 1u);
      for (var q2 = lo.z; q2 < hi.z; q2++) {
        let w2 = w1 * select(r2[ch * g.p2 + q2], 1.0, g.axis == 2u);
        acc += gk[ch * pn + (q0 * g.p1 + q1) * g.p2 + q2].x * w2;
      }
    }
  }
  out[i] = acc;
}`;

// y[b, c*H + h, i] = Re Y[b, c, h, i] + D[c, h] u[b, h, i]
const CROP_SKIP_CODE = `${WGSL_GID}${GRID}
@group(0) @binding(0) var<storage, read> yc: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> dskip: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<uniform> g: G;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let ln = g.l0 * g.l1 * g.l2;
  if (i >= g.nb * g.c * g.h * ln) { return; }
  let s = i % ln;
  let h = (i / ln) % g.h;
  let c = (i / (ln * g.h)) % g.c;
  let b = i / (ln * g.h * g.c);
  let s2 = s % g.l2;
  let s1 = (s / g.l2) % g.l1;
  let s0 = s / (g.l2 * g.l1);
  let pi = ((((b * g.c + c) * g.h + h) * g.p0 + s0) * g.p1 + s1) * g.p2 + s2;
  y[i] = yc[pi].x + dskip[c * g.h + h] * u[(b * g.h + h) * ln + s];
}`;

// du[b, h, i] = Re Z[b, h, i] + sum_c D[c, h] dy[b, c*H + h, i]
const CROP_SKIP_BWD_CODE = `${WGSL_GID}${GRID}
@group(0) @binding(0) var<storage, read> z: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> dskip: array<f32>;
@group(0) @binding(3) var<storage, read_write> du: array<f32>;
@group(0) @binding(4) var<uniform> g: G;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let ln = g.l0 * g.l1 * g.l2;
  if (i >= g.nb * g.h * ln) { return; }
  let s = i % ln;
  let h = (i / ln) % g.h;
  let b = i / (ln * g.h);
  let s2 = s % g.l2;
  let s1 = (s / g.l2) % g.l1;
  let s0 = s / (g.l2 * g.l1);
  var v = z[(((b * g.h + h) * g.p0 + s0) * g.p1 + s1) * g.p2 + s2].x;
  for (var c = 0u; c < g.c; c++) { v += dskip[c * g.h + h] * dy[((b * g.c + c) * g.h + h) * ln + s]; }
  du[i] = v;
}`;

// dD[c, h] = sum_{b, i} dy[b, c*H + h, i] u[b, h, i]
const DSKIP_GRAD_CODE = `${WGSL_GID}${GRID}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read_write> dd: array<f32>;
@group(0) @binding(3) var<uniform> g: G;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= g.c * g.h) { return; }
  let h = i % g.h;
  let c = i / g.h;
  let ln = g.l0 * g.l1 * g.l2;
  var acc = 0.0;
  for (var b = 0u; b < g.nb; b++) {
    let yo = ((b * g.c + c) * g.h + h) * ln;
    let uo = (b * g.h + h) * ln;
    for (var s = 0u; s < ln; s++) { acc += dy[yo + s] * u[uo + s]; }
  }
  dd[i] = acc;
}`;

export interface S4ndConfig {
  batch: number;
  /** d_model. */
  h: number;
  /** Output heads per feature (C). */
  channels: number;
  /** N/2. */
  n2: number;
  /** Input lengths L_a (1 to 3 axes). */
  lengths: readonly number[];
  /** l_max per axis. */
  lMax: readonly number[];
  rate: number;
  bandlimit: number | null;
}

/** Derived sizes: Lk_a = min(L_a, round(l_max_a / rate)), P_a = L_a + Lk_a. */
export function s4ndSizes(cfg: S4ndConfig): { lk: number[]; p: number[] } {
  if (cfg.lengths.length < 1 || cfg.lengths.length > 3 || cfg.lMax.length !== cfg.lengths.length) {
    throw new RangeError(
      `s4nd: 1 to 3 axes with one l_max each (got lengths [${cfg.lengths.join(',')}], l_max [${cfg.lMax.join(',')}])`,
    );
  }
  const lk = cfg.lengths.map((l, a) => Math.min(l, pyRound((cfg.lMax[a] ?? 0) / cfg.rate)));
  const p = cfg.lengths.map((l, a) => l + (lk[a] ?? 0));
  return { lk, p };
}

function grid3(cfg: S4ndConfig, p: number[], bh: number, axis = 0): Params {
  const d = cfg.lengths.length;
  const l3 = [...Array(3 - d).fill(1), ...cfg.lengths] as number[];
  const p3 = [...Array(3 - d).fill(1), ...p] as number[];
  return new Params()
    .u32(bh)
    .u32(l3[0] ?? 1)
    .u32(l3[1] ?? 1)
    .u32(l3[2] ?? 1)
    .u32(p3[0] ?? 1)
    .u32(p3[1] ?? 1)
    .u32(p3[2] ?? 1)
    .u32(cfg.channels)
    .u32(cfg.h)
    .u32(cfg.batch)
    .u32(axis);
}

export interface S4ndSaved {
  u: GpuTensor;
  /** FFT of the padded input (B, H, P..., 2). */
  xhat: GpuTensor;
  /** Per axis, padded to 3 slots: kernel spectra (C, H, P_a, 2) and real circular kernels (C, H, P_a). */
  khat: GpuTensor[];
  kreal: GpuTensor[];
  /** Per real axis: the S4D kernels (2C, H, Lk_a). */
  kernels: GpuTensor[];
}

function unitKernels(rt: GpuRuntime, cfg: S4ndConfig): { khat: GpuTensor; kreal: GpuTensor } {
  const n = cfg.channels * cfg.h;
  const khat = rt.upload(
    Float32Array.from({ length: 2 * n }, (_, i) => (i % 2 === 0 ? 1 : 0)),
    [cfg.channels, cfg.h, 1, 2],
  );
  const kreal = rt.upload(new Float32Array(n).fill(1), [cfg.channels, cfg.h, 1]);
  return { khat, kreal };
}

/** Everything on `dims` trailing axes: FFT along each of them. */
function fftGrid(rt: GpuRuntime, b: Batch, t: GpuTensor, lead: number, p: readonly number[], inverse: boolean): void {
  for (let a = 0; a < p.length; a++) {
    const outer = lead * p.slice(0, a).reduce((x, y) => x * y, 1);
    const inner = p.slice(a + 1).reduce((x, y) => x * y, 1);
    fftAxis(rt, b, t, outer, p[a] ?? 1, inner, inverse);
  }
}

/**
 * S4ND forward (S4D kernels, linear output): y (B, C*H, L...) = bidirectional separable conv(u) + D u.
 * `kernels` may be given (one (2C, H, Lk_a) tensor per axis) to test the convolution alone; else they are generated
 * from `axes`.
 */
export function s4ndForward(
  rt: GpuRuntime,
  b: Batch,
  cfg: S4ndConfig,
  u: GpuTensor,
  axes: readonly S4dAxisParams[],
  dSkip: GpuTensor,
  kernels?: readonly GpuTensor[],
): { y: GpuTensor; saved: S4ndSaved } {
  const { lk, p } = s4ndSizes(cfg);
  const d = cfg.lengths.length;
  const ln = cfg.lengths.reduce((x, y) => x * y, 1);
  const pn = p.reduce((x, y) => x * y, 1);
  const { batch: nb, h, channels: c } = cfg;
  if (u.size !== nb * h * ln)
    throw new RangeError(`s4ndForward: u has ${u.size} values, expected B*H*prod(L) = ${nb * h * ln}`);
  if (dSkip.size !== c * h) throw new RangeError(`s4ndForward: D has ${dSkip.size} values, expected C*H = ${c * h}`);
  const ks: GpuTensor[] = [];
  const khat: GpuTensor[] = [];
  const kreal: GpuTensor[] = [];
  for (let a = 0; a < 3 - d; a++) {
    const unit = unitKernels(rt, cfg);
    khat.push(unit.khat);
    kreal.push(unit.kreal);
  }
  for (let a = 0; a < d; a++) {
    const lka = lk[a] ?? 1;
    const pa = p[a] ?? 1;
    const given = kernels?.[a];
    const prm = axes[a];
    let k: GpuTensor;
    if (given) k = given;
    else if (prm)
      k = s4dKernel(rt, b, { rows: 2 * c, h, n2: cfg.n2, lk: lka, rate: cfg.rate, bandlimit: cfg.bandlimit }, prm); // (2C, H, Lk)
    else throw new RangeError(`s4ndForward: no parameters or kernel for axis ${a}`);
    ks.push(k);
    const kb = rt.alloc([c, h, pa, 2]); // (C, H, P_a, 2)
    const kr = rt.alloc([c, h, pa]); // (C, H, P_a)
    b.dispatch(
      { code: BIDIR_CODE, label: 's4nd_bidir' },
      [k, kb, kr],
      new Params().u32(c).u32(h).u32(lka).u32(pa),
      grid1d(c * h * pa),
    );
    fftAxis(rt, b, kb, c * h, pa, 1);
    khat.push(kb);
    kreal.push(kr);
  }
  const xhat = rt.alloc([nb, h, ...p, 2]); // (B, H, P..., 2)
  b.dispatch({ code: PAD_CODE, label: 's4nd_pad' }, [u, xhat], grid3(cfg, p, nb * h), grid1d(nb * h * pn));
  fftGrid(rt, b, xhat, nb * h, p, false);
  const yhat = rt.alloc([nb, c, h, ...p, 2]); // (B, C, H, P..., 2)
  const [k0, k1, k2] = khat as [GpuTensor, GpuTensor, GpuTensor];
  b.dispatch(
    { code: SPECTRAL_FWD_CODE, label: 's4nd_spectral' },
    [xhat, k0, k1, k2, yhat],
    grid3(cfg, p, nb * h),
    grid1d(yhat.size / 2),
  );
  fftGrid(rt, b, yhat, nb * c * h, p, true);
  const y = rt.alloc([nb, c * h, ...cfg.lengths]); // (B, C*H, L...)
  b.dispatch(
    { code: CROP_SKIP_CODE, label: 's4nd_crop_skip' },
    [yhat, u, dSkip, y],
    grid3(cfg, p, nb * h),
    grid1d(y.size),
  );
  rt.release(yhat);
  return { y, saved: { u, xhat, khat, kreal, kernels: ks } };
}

export interface S4ndGrads {
  du: GpuTensor;
  dD: GpuTensor;
  /** Per axis: gradient w.r.t. the kernel (2C, H, Lk_a). */
  dk: GpuTensor[];
  /** Per axis: S4D parameter gradients (absent when the forward was given kernels). */
  axes: S4dAxisGrads[];
}

/** S4ND backward: dy (B, C*H, L...) -> du, dD, dk_a and the S4D parameter grads of every axis. */
export function s4ndBackward(
  rt: GpuRuntime,
  b: Batch,
  cfg: S4ndConfig,
  saved: S4ndSaved,
  dy: GpuTensor,
  axes: readonly S4dAxisParams[],
  dSkip: GpuTensor,
): S4ndGrads {
  const { lk, p } = s4ndSizes(cfg);
  const d = cfg.lengths.length;
  const pn = p.reduce((x, y) => x * y, 1);
  const { batch: nb, h, channels: c } = cfg;
  const g = (): Params => grid3(cfg, p, nb * c * h);
  // Ybar = FFT(pad(dy))
  const ybar = rt.alloc([nb, c, h, ...p, 2]); // (B, C, H, P..., 2)
  b.dispatch({ code: PAD_CODE, label: 's4nd_pad' }, [dy, ybar], g(), grid1d(nb * c * h * pn));
  fftGrid(rt, b, ybar, nb * c * h, p, false);
  // du = crop(IFFT(sum_c conj(Khat) Ybar)) + sum_c D dy
  const [k0, k1, k2] = saved.khat as [GpuTensor, GpuTensor, GpuTensor];
  const zhat = rt.alloc([nb, h, ...p, 2]); // (B, H, P..., 2)
  b.dispatch(
    { code: SPECTRAL_ADJ_CODE, label: 's4nd_spectral_adj' },
    [ybar, k0, k1, k2, zhat],
    g(),
    grid1d(nb * h * pn),
  );
  fftGrid(rt, b, zhat, nb * h, p, true);
  const du = rt.alloc(saved.u.shape); // (B, H, L...)
  b.dispatch({ code: CROP_SKIP_BWD_CODE, label: 's4nd_crop_skip_bwd' }, [zhat, dy, dSkip, du], g(), grid1d(du.size));
  rt.release(zhat);
  // dD
  const dD = rt.alloc([c, h]); // (C, H)
  b.dispatch({ code: DSKIP_GRAD_CODE, label: 's4nd_dskip' }, [dy, saved.u, dD], g(), grid1d(c * h));
  // dK_full = IFFT(sum_b conj(Xhat) Ybar), then contract per axis with the other axes' kernels.
  const gk = rt.alloc([c, h, ...p, 2]); // (C, H, P..., 2)
  b.dispatch(
    { code: KGRAD_SPECTRUM_CODE, label: 's4nd_kgrad_spectrum' },
    [saved.xhat, ybar, gk],
    g(),
    grid1d(c * h * pn),
  );
  rt.release(ybar);
  fftGrid(rt, b, gk, c * h, p, true);
  const [r0, r1, r2] = saved.kreal as [GpuTensor, GpuTensor, GpuTensor];
  const dk: GpuTensor[] = [];
  const axGrads: S4dAxisGrads[] = [];
  for (let a = 0; a < d; a++) {
    const slot = 3 - d + a;
    const pa = p[a] ?? 1;
    const lka = lk[a] ?? 1;
    const dkb = rt.alloc([c, h, pa]); // (C, H, P_a)
    b.dispatch(
      { code: KGRAD_CONTRACT_CODE, label: 's4nd_kgrad_contract' },
      [gk, r0, r1, r2, dkb],
      grid3(cfg, p, nb * c * h, slot),
      grid1d(c * h * pa),
    );
    const dka = rt.alloc([2 * c, h, lka]); // (2C, H, Lk_a)
    b.dispatch(
      { code: BIDIR_BWD_CODE, label: 's4nd_bidir_bwd' },
      [dkb, dka],
      new Params().u32(c).u32(h).u32(lka).u32(pa),
      grid1d(2 * c * h * lka),
    );
    rt.release(dkb);
    dk.push(dka);
    const prm = axes[a];
    if (prm) {
      axGrads.push(
        s4dKernelBackward(
          rt,
          b,
          { rows: 2 * c, h, n2: cfg.n2, lk: lka, rate: cfg.rate, bandlimit: cfg.bandlimit },
          prm,
          dka,
        ),
      );
    }
  }
  rt.release(gk);
  return { du, dD, dk, axes: axGrads };
}

/** Releases what s4ndForward saved for the backward (not u, which the caller owns, nor given kernels). */
export function releaseS4ndSaved(rt: GpuRuntime, saved: S4ndSaved, kernelsGiven: boolean): void {
  rt.release(saved.xhat, ...saved.khat, ...saved.kreal);
  if (!kernelsGiven) rt.release(...saved.kernels);
}
