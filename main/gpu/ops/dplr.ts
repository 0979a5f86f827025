// S4ND DPLR (bilinear) kernel generation on the GPU, forward and backward, by the generating function at the M-th
// roots of unity (the same evaluation as the ONNX exporter, main/onnx/README.md):
//   A = diag(lambda) - p p^H,  omega_j = exp(-2 pi i j / M),  M = round(l_kernel / rate),  t_j = (1 + omega_j) dt / 2,
//   R_n = 1 / ((1 - omega_j) - t_j lambda_n),  k00 = sum c R b,  k01 = sum c R p,  k10 = sum conj(p) R b,
//   k11 = sum conj(p) R p,  S_j = dt (k00 - t k01 k10 / (1 + t k11))   (= c~ (I - omega_j Abar)^-1 Bbar),
//   k_l = Re IDFT_M(S)_l for l < Lk.
// c~ is the stored C (the CPU engine rewrites C -> C~ on a layer's first call; the executor makes sure that happened),
// masked by the bandlimit and conjugate-completed with lambda, p and b to N = d_state entries.
// Backward (G = dL/dRe + i dL/dIm for complex values): G_S = FFT(dk padded to M) / M; each full-length slot
// (c_n, b_n, p_n, q_n = conj(p_n), lambda_n) gets conj(dS/dslot) G_S summed over j, then the conjugate halves and
// q fold back onto the stored half-length parameters; dt through S/dt and t.
import { type Batch, type GpuRuntime, type GpuTensor, Params, grid1d } from '../runtime.js';
import { WGSL_GID, WGSL_MATH } from '../wgsl-lib.js';
import { fftAxis } from './fft.js';

export interface DplrAxisParams {
  invDt: GpuTensor; // (H, 1)
  aReal: GpuTensor; // (1, N/2)
  aImag: GpuTensor; // (1, N/2)
  b: GpuTensor; // (1, 1, N/2, 2)
  p: GpuTensor; // (1, 1, N/2, 2)
  c: GpuTensor; // (2C, H, N/2, 2), C~
}

export interface DplrAxisGrads {
  invDt: GpuTensor;
  aReal: GpuTensor;
  aImag: GpuTensor;
  b: GpuTensor;
  p: GpuTensor;
  c: GpuTensor;
}

export interface DplrKernelShape {
  rows: number;
  h: number;
  n2: number;
  /** Generating-function length round(l_kernel / rate), >= lk. */
  m: number;
  lk: number;
  rate: number;
  /** null: no mask. */
  bandlimit: number | null;
}

const COMMON = `${WGSL_MATH}${WGSL_GID}
struct P { rows: u32, h: u32, n2: u32, m: u32, lk: u32, rate: f32, bandlimit: f32 }
@group(0) @binding(0) var<storage, read> inv_dt: array<f32>;
@group(0) @binding(1) var<storage, read> a_real: array<f32>;
@group(0) @binding(2) var<storage, read> a_imag: array<f32>;
@group(0) @binding(3) var<storage, read> bp: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> pp: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> cp: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read> omega: array<vec2<f32>>;
fn mask_of(k: u32, dtb: f32) -> f32 {
  if (p.bandlimit < 0.0) { return 1.0; }
  return select(0.0, 1.0, dtb * abs(a_imag[k]) / 6.283185307179586 < 0.5 * p.bandlimit);
}
fn half_or_conj(v: vec2<f32>, n: u32) -> vec2<f32> { return select(v, cconj(v), n >= p.n2); }
fn lam(n: u32) -> vec2<f32> { let k = n % p.n2; return half_or_conj(vec2<f32>(-exp(a_real[k]), -a_imag[k]), n); }
fn bv(n: u32) -> vec2<f32> { return half_or_conj(bp[n % p.n2], n); }
fn pv(n: u32) -> vec2<f32> { return half_or_conj(pp[n % p.n2], n); }
fn cv(r: u32, h: u32, n: u32, dtb: f32) -> vec2<f32> {
  let k = n % p.n2;
  return half_or_conj(mask_of(k, dtb) * cp[(r * p.h + h) * p.n2 + k], n);
}
fn rn(n: u32, omw: vec2<f32>, t: vec2<f32>) -> vec2<f32> { return cdiv(vec2<f32>(1.0, 0.0), omw - cmul(t, lam(n))); }
struct Ks { k00: vec2<f32>, k01: vec2<f32>, k10: vec2<f32>, k11: vec2<f32> }
fn ksums(r: u32, h: u32, dtb: f32, omw: vec2<f32>, t: vec2<f32>) -> Ks {
  var s: Ks;
  for (var n = 0u; n < 2u * p.n2; n++) {
    let R = rn(n, omw, t);
    let c = cv(r, h, n, dtb);
    let pn = pv(n);
    let cr = cmul(c, R);
    let qr = cmul(cconj(pn), R);
    s.k00 += cmul(cr, bv(n));
    s.k01 += cmul(cr, pn);
    s.k10 += cmul(qr, bv(n));
    s.k11 += cmul(qr, pn);
  }
  return s;
}`;

const FWD_CODE = `${COMMON}
@group(0) @binding(7) var<storage, read_write> sout: array<vec2<f32>>;
@group(0) @binding(8) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.rows * p.h * p.m) { return; }
  let j = i % p.m;
  let h = (i / p.m) % p.h;
  let r = i / (p.m * p.h);
  let dtb = exp(inv_dt[h]);
  let dt = dtb * p.rate;
  let w = omega[j];
  let t = 0.5 * dt * (vec2<f32>(1.0, 0.0) + w);
  let ks = ksums(r, h, dtb, vec2<f32>(1.0, 0.0) - w, t);
  let q = vec2<f32>(1.0, 0.0) + cmul(t, ks.k11);
  sout[i] = dt * (ks.k00 - cdiv(cmul(t, cmul(ks.k01, ks.k10)), q));
}`;

// Stage 1 of the backward, per (r, h, j): alpha_xy = conj(dS/dk_xy) G_S and the dt partial.
const BWD1_CODE = `${COMMON}
@group(0) @binding(7) var<storage, read> gs: array<vec2<f32>>;
@group(0) @binding(8) var<storage, read_write> alpha: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read_write> gdt: array<f32>;
@group(0) @binding(10) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.rows * p.h * p.m) { return; }
  let j = i % p.m;
  let h = (i / p.m) % p.h;
  let r = i / (p.m * p.h);
  let dtb = exp(inv_dt[h]);
  let dt = dtb * p.rate;
  let w = omega[j];
  let one = vec2<f32>(1.0, 0.0);
  let t = 0.5 * dt * (one + w);
  let omw = one - w;
  let ks = ksums(r, h, dtb, omw, t);
  let q = one + cmul(t, ks.k11);
  let kk = cmul(ks.k01, ks.k10);
  let s = dt * (ks.k00 - cdiv(cmul(t, kk), q));
  let a00 = vec2<f32>(dt, 0.0);
  let a01 = -dt * cdiv(cmul(t, ks.k10), q);
  let a10 = -dt * cdiv(cmul(t, ks.k01), q);
  let a11 = dt * cdiv(cmul(cmul(t, t), kk), cmul(q, q));
  let g = gs[i];
  alpha[4u * i] = cmul(cconj(a00), g);
  alpha[4u * i + 1u] = cmul(cconj(a01), g);
  alpha[4u * i + 2u] = cmul(cconj(a10), g);
  alpha[4u * i + 3u] = cmul(cconj(a11), g);
  // dS/ddt = S/dt + (1 + omega)/2 (sum_n W_n lambda_n R_n^2 - dt k01 k10 / Q^2), W_n = dS/dR_n
  var sw = vec2<f32>(0.0, 0.0);
  for (var n = 0u; n < 2u * p.n2; n++) {
    let R = rn(n, omw, t);
    let c = cv(r, h, n, dtb);
    let b = bv(n);
    let pn = pv(n);
    let qn = cconj(pn);
    let wn = cmul(a00, cmul(c, b)) + cmul(a01, cmul(c, pn)) + cmul(a10, cmul(qn, b)) + cmul(a11, cmul(qn, pn));
    sw += cmul(wn, cmul(lam(n), cmul(R, R)));
  }
  let dsddt = s / dt + cmul(0.5 * (one + w), sw - dt * cdiv(kk, cmul(q, q)));
  gdt[i] = dot(dsddt, g);
}`;

// Stage 2, per (r, h, n) over the full length N: slot gradients summed over j.
const BWD2_CODE = `${COMMON}
@group(0) @binding(7) var<storage, read> alpha: array<vec2<f32>>;
@group(0) @binding(8) var<storage, read_write> part: array<vec2<f32>>;
@group(0) @binding(9) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let nn = 2u * p.n2;
  if (i >= p.rows * p.h * nn) { return; }
  let n = i % nn;
  let h = (i / nn) % p.h;
  let r = i / (nn * p.h);
  let dtb = exp(inv_dt[h]);
  let dt = dtb * p.rate;
  let one = vec2<f32>(1.0, 0.0);
  let c = cv(r, h, n, dtb);
  let b = bv(n);
  let pn = pv(n);
  let qn = cconj(pn);
  let cb = cconj(b); let cc = cconj(c); let cpn = cconj(pn); let cq = cconj(qn);
  var gc = vec2<f32>(0.0, 0.0);
  var gb = vec2<f32>(0.0, 0.0);
  var gp = vec2<f32>(0.0, 0.0);
  var gq = vec2<f32>(0.0, 0.0);
  var gl = vec2<f32>(0.0, 0.0);
  for (var j = 0u; j < p.m; j++) {
    let w = omega[j];
    let t = 0.5 * dt * (one + w);
    let R = rn(n, one - w, t);
    let base = 4u * ((r * p.h + h) * p.m + j);
    let x00 = alpha[base]; let x01 = alpha[base + 1u]; let x10 = alpha[base + 2u]; let x11 = alpha[base + 3u];
    let cr = cconj(R);
    gc += cmul(cr, cmul(x00, cb) + cmul(x01, cpn));
    gb += cmul(cr, cmul(x00, cc) + cmul(x10, cq));
    gp += cmul(cr, cmul(x01, cc) + cmul(x11, cq));
    gq += cmul(cr, cmul(x10, cb) + cmul(x11, cpn));
    let wconj = cmul(x00, cconj(cmul(c, b))) + cmul(x01, cconj(cmul(c, pn))) + cmul(x10, cconj(cmul(qn, b))) +
                cmul(x11, cconj(cmul(qn, pn)));
    gl += cmul(cconj(cmul(t, cmul(R, R))), wconj);
  }
  part[5u * i] = gc;
  part[5u * i + 1u] = gb;
  part[5u * i + 2u] = gp;
  part[5u * i + 3u] = gq;
  part[5u * i + 4u] = gl;
}`;

// Stage 3: fold the conjugate halves (and q = conj(p)) onto the stored parameters; sum over rows and channels.
// Output packed in one buffer (storage-buffer limit): g_C (rows, H, N/2, 2), g_B (N/2, 2), g_P (N/2, 2),
// (g_A_real, g_A_imag) pairs (N/2, 2), g_inv_dt (H).
const BWD3_CODE = `${WGSL_MATH}${WGSL_GID}
struct P { rows: u32, h: u32, n2: u32, m: u32, lk: u32, rate: f32, bandlimit: f32 }
@group(0) @binding(0) var<storage, read> inv_dt: array<f32>;
@group(0) @binding(1) var<storage, read> a_real: array<f32>;
@group(0) @binding(2) var<storage, read> a_imag: array<f32>;
@group(0) @binding(3) var<storage, read> part: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read> gdt: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> out_dt: array<f32>;
@group(0) @binding(7) var<uniform> p: P;
fn mask_of(k: u32, dtb: f32) -> f32 {
  if (p.bandlimit < 0.0) { return 1.0; }
  return select(0.0, 1.0, dtb * abs(a_imag[k]) / 6.283185307179586 < 0.5 * p.bandlimit);
}
fn at(r: u32, h: u32, n: u32, f: u32) -> vec2<f32> { return part[5u * ((r * p.h + h) * 2u * p.n2 + n) + f]; }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let nc = p.rows * p.h * p.n2;
  if (i < nc) {
    let k = i % p.n2;
    let h = (i / p.n2) % p.h;
    let r = i / (p.n2 * p.h);
    out[i] = mask_of(k, exp(inv_dt[h])) * (at(r, h, k, 0u) + cconj(at(r, h, k + p.n2, 0u)));
    return;
  }
  let t = i - nc;
  if (t < p.n2) {
    var gb = vec2<f32>(0.0, 0.0);
    var gp = vec2<f32>(0.0, 0.0);
    var gl = vec2<f32>(0.0, 0.0);
    for (var r = 0u; r < p.rows; r++) {
      for (var h = 0u; h < p.h; h++) {
        gb += at(r, h, t, 1u) + cconj(at(r, h, t + p.n2, 1u));
        gp += at(r, h, t, 2u) + cconj(at(r, h, t + p.n2, 2u)) + cconj(at(r, h, t, 3u)) + at(r, h, t + p.n2, 3u);
        gl += at(r, h, t, 4u) + cconj(at(r, h, t + p.n2, 4u));
      }
    }
    out[nc + t] = gb;
    out[nc + p.n2 + t] = gp;
    out[nc + 2u * p.n2 + t] = vec2<f32>(-exp(a_real[t]) * gl.x, -gl.y);
    return;
  }
  let h = t - p.n2;
  if (h < p.h) {
    var s = 0.0;
    for (var r = 0u; r < p.rows; r++) {
      for (var j = 0u; j < p.m; j++) { s += gdt[(r * p.h + h) * p.m + j]; }
    }
    out_dt[h] = s * exp(inv_dt[h]) * p.rate;
  }
}`;

// k (rows, H, Lk) = Re(khat (rows, H, M))[:Lk]; backward: dk -> (dk, 0) padded to M.
const CROP_CODE = `${WGSL_GID}
struct P { rows: u32, h: u32, n2: u32, m: u32, lk: u32, rate: f32, bandlimit: f32 }
@group(0) @binding(0) var<storage, read_write> a: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> k: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
override BACKWARD: bool = false;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.rows * p.h * p.m) { return; }
  let j = i % p.m;
  let rh = i / p.m;
  if (BACKWARD) {
    a[i] = select(vec2<f32>(0.0, 0.0), vec2<f32>(k[rh * p.lk + j], 0.0), j < p.lk);
  } else if (j < p.lk) {
    k[rh * p.lk + j] = a[i].x;
  }
}`;

function params(s: DplrKernelShape): Params {
  return new Params()
    .u32(s.rows)
    .u32(s.h)
    .u32(s.n2)
    .u32(s.m)
    .u32(s.lk)
    .f32(s.rate)
    .f32(s.bandlimit ?? -1);
}

const omegaCache = new WeakMap<GpuRuntime, Map<number, GpuTensor>>();
/** omega_j = exp(-2 pi i j / M), computed in float64 on the host (cached per runtime). */
function omegas(rt: GpuRuntime, m: number): GpuTensor {
  let byM = omegaCache.get(rt);
  if (!byM) {
    byM = new Map();
    omegaCache.set(rt, byM);
  }
  let t = byM.get(m);
  if (!t) {
    const w = new Float32Array(2 * m);
    for (let j = 0; j < m; j++) {
      w[2 * j] = Math.cos((-2 * Math.PI * j) / m);
      w[2 * j + 1] = Math.sin((-2 * Math.PI * j) / m);
    }
    t = rt.untracked(() => rt.upload(w, [m, 2]));
    byM.set(m, t);
  }
  return t;
}

function check(s: DplrKernelShape, prm: DplrAxisParams): void {
  if (s.lk > s.m) throw new RangeError(`dplrKernel: Lk ${s.lk} > M ${s.m} (the CPU engine grows C~ here)`);
  if (prm.c.size !== s.rows * s.h * s.n2 * 2)
    throw new RangeError(`dplrKernel: C has ${prm.c.size} values, expected rows*H*N/2*2`);
}

/** DPLR kernel k (rows, H, Lk). */
export function dplrKernel(rt: GpuRuntime, b: Batch, s: DplrKernelShape, prm: DplrAxisParams): GpuTensor {
  check(s, prm);
  const ins = [prm.invDt, prm.aReal, prm.aImag, prm.b, prm.p, prm.c, omegas(rt, s.m)];
  const sv = rt.alloc([s.rows, s.h, s.m, 2]); // (rows, H, M, 2)
  b.dispatch({ code: FWD_CODE, label: 'dplr_s' }, [...ins, sv], params(s), grid1d(s.rows * s.h * s.m));
  fftAxis(rt, b, sv, s.rows * s.h, s.m, 1, true); // k^_l = (1/M) sum_j S_j exp(+2 pi i j l / M)
  const k = rt.alloc([s.rows, s.h, s.lk]); // (rows, H, Lk)
  b.dispatch({ code: CROP_CODE, label: 'dplr_crop' }, [sv, k], params(s), grid1d(sv.size / 2));
  rt.release(sv);
  return k;
}

/** Backward of dplrKernel: dk (rows, H, Lk) -> grads of inv_dt, A_real, A_imag, B, P, C~. */
export function dplrKernelBackward(
  rt: GpuRuntime,
  b: Batch,
  s: DplrKernelShape,
  prm: DplrAxisParams,
  dk: GpuTensor,
): DplrAxisGrads {
  check(s, prm);
  const ins = [prm.invDt, prm.aReal, prm.aImag, prm.b, prm.p, prm.c, omegas(rt, s.m)];
  const gs = rt.alloc([s.rows, s.h, s.m, 2]); // (rows, H, M, 2)
  b.dispatch(
    { code: CROP_CODE, label: 'dplr_crop_bwd', constants: { BACKWARD: 1 } },
    [gs, dk],
    params(s),
    grid1d(gs.size / 2),
  );
  fftAxis(rt, b, gs, s.rows * s.h, s.m, 1, false, 1 / s.m); // G_S = FFT(dk) / M
  const alpha = rt.alloc([s.rows, s.h, s.m, 4, 2]);
  const gdt = rt.alloc([s.rows, s.h, s.m]);
  b.dispatch({ code: BWD1_CODE, label: 'dplr_bwd1' }, [...ins, gs, alpha, gdt], params(s), grid1d(s.rows * s.h * s.m));
  const part = rt.alloc([s.rows, s.h, 2 * s.n2, 5, 2]);
  b.dispatch(
    { code: BWD2_CODE, label: 'dplr_bwd2' },
    [...ins, alpha, part],
    params(s),
    grid1d(s.rows * s.h * 2 * s.n2),
  );
  const nc = s.rows * s.h * s.n2;
  const packed = rt.alloc([nc + 3 * s.n2, 2]); // g_C, g_B, g_P, (g_A_real, g_A_imag)
  const gInvDt = rt.alloc([s.h, 1]); // (H, 1)
  b.dispatch(
    { code: BWD3_CODE, label: 'dplr_bwd3' },
    [prm.invDt, prm.aReal, prm.aImag, part, gdt, packed, gInvDt],
    params(s),
    grid1d(nc + s.n2 + s.h),
  );
  const gC = rt.alloc([s.rows, s.h, s.n2, 2]); // (rows, H, N/2, 2)
  const gB = rt.alloc([1, 1, s.n2, 2]);
  const gP = rt.alloc([1, 1, s.n2, 2]);
  const gLam = rt.alloc([s.n2, 2]);
  b.copy(packed, gC, 2 * nc, 0, 0);
  b.copy(packed, gB, 2 * s.n2, 2 * nc, 0);
  b.copy(packed, gP, 2 * s.n2, 2 * nc + 2 * s.n2, 0);
  b.copy(packed, gLam, 2 * s.n2, 2 * nc + 4 * s.n2, 0);
  const gAReal = rt.alloc([1, s.n2]);
  const gAImag = rt.alloc([1, s.n2]);
  b.dispatch({ code: SPLIT_CODE, label: 'dplr_split' }, [gLam, gAReal, gAImag], new Params().u32(s.n2), grid1d(s.n2));
  rt.release(packed);
  rt.release(gs, alpha, gdt, part, gLam);
  return { invDt: gInvDt, aReal: gAReal, aImag: gAImag, b: gB, p: gP, c: gC };
}

const SPLIT_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> pairs: array<f32>;
@group(0) @binding(1) var<storage, read_write> re: array<f32>;
@group(0) @binding(2) var<storage, read_write> im: array<f32>;
struct P { n: u32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.n) { return; }
  re[i] = pairs[2u * i];
  im[i] = pairs[2u * i + 1u];
}`;
