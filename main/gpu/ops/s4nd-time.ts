// The s4nd_time layer on the GPU (mirrors native/src/ops/s4nd_time.cc): the continuous-time S4D kernel along time,
//   K±_c(tau) = 2 Re Σ_n C±_{c,n} exp(dt_c A_n tau),  dt_c = exp(inv_dt_c),  A_n = -exp(A_real_n) - i A_imag_n,
//   y (B, C, S) = K+(t_b) · u0 + K-(1 - t_b) · u1,  x (B, 2C, S) = [u0 | u1],
// with t_b read from a plane of a saved activation (mean over space, then · std + mean). Every backward is a gather
// (no atomics); t gets no gradient. exp(i φ) uses the accurate sincos_f (SwiftShader's sin/cos are ~2e-4).
import { type Batch, type GpuRuntime, type GpuTensor, Params, grid1d } from '../runtime.js';
import { WGSL_GID, WGSL_MATH } from '../wgsl-lib.js';

export interface S4ndTimeParams {
  invDt: GpuTensor; // (C, 1)
  aReal: GpuTensor; // (1, Nh)
  aImag: GpuTensor; // (1, Nh)
  coef: GpuTensor; // (2, C, Nh, 2)
}

export interface S4ndTimeGeom {
  nb: number;
  c: number;
  nh: number;
  /** Spatial size of x (product of its spatial dims). */
  s: number;
}

// Shared WGSL: tau for (row, b) and the mode term dt_c A_n, E = exp(dt_c A_n tau).
const MODE_LIB = `
fn tau_of(row: u32, b: u32) -> f32 { return select(1.0 - times[b], times[b], row == 0u); }
fn dt_of(c: u32) -> f32 { return exp(inv_dt[c]); }
fn a_of(n: u32) -> vec2<f32> { return vec2<f32>(-exp(a_real[n]), -a_imag[n]); }
fn coef_of(row: u32, c: u32, n: u32) -> vec2<f32> {
  let i = ((row * p.c + c) * p.nh + n) * 2u;
  return vec2<f32>(coef[i], coef[i + 1u]);
}`;

// Head of a main with one thread per element (row, b, c) of a (2, B, C) kernel array (needs p.nb, p.c).
const PER_K_MAIN = `
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= 2u * p.nb * p.c) { return; }
  let c = i % p.c;
  let b = (i / p.c) % p.nb;
  let row = i / (p.c * p.nb);`;

const PARAM_BINDINGS = `
@group(0) @binding(0) var<storage, read> inv_dt: array<f32>;
@group(0) @binding(1) var<storage, read> a_real: array<f32>;
@group(0) @binding(2) var<storage, read> a_imag: array<f32>;
@group(0) @binding(3) var<storage, read> coef: array<f32>;
@group(0) @binding(4) var<storage, read> times: array<f32>;`;

/**
 * Head of a kernel over the layer parameters: WGSL libs, PARAM_BINDINGS (0..4), the storage arrays `extra` from
 * binding 5 on (name, access), the geometry uniform p after them, and MODE_LIB.
 */
function paramKernelHead(extra: [string, 'read' | 'read_write'][]): string {
  const arrays = extra.map(([n, a], i) => `@group(0) @binding(${5 + i}) var<storage, ${a}> ${n}: array<f32>;`);
  return `${WGSL_GID}${WGSL_MATH}${PARAM_BINDINGS}
${arrays.join('\n')}
struct P { nb: u32, c: u32, nh: u32, s: u32 }
@group(0) @binding(${5 + extra.length}) var<uniform> p: P;
${MODE_LIB}`;
}

// t (B) from src (B, Cs, S'): mean of channel ch, · std + mean. One thread per sample (serial sum).
const TIMES_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> times: array<f32>;
struct P { nb: u32, cs: u32, s: u32, ch: u32, mean: f32, sd: f32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = flat_id(gid, nwg);
  if (b >= p.nb) { return; }
  let base = (b * p.cs + p.ch) * p.s;
  var acc = 0.0;
  for (var i = 0u; i < p.s; i++) { acc += src[base + i]; }
  times[b] = acc / f32(p.s) * p.sd + p.mean;
}`;

// K (2, B, C): row 0 = K+(t_b), row 1 = K-(1 - t_b).
const KERNEL_CODE = `${paramKernelHead([['k', 'read_write']])}${PER_K_MAIN}
  let tau = tau_of(row, b);
  let dt = dt_of(c);
  var acc = 0.0;
  for (var n = 0u; n < p.nh; n++) {
    let e = cexp(a_of(n) * (dt * tau));
    acc += 2.0 * cmul(coef_of(row, c, n), e).x;
  }
  k[i] = acc;
}`;

// y (B, C, S) = K[0, b, c] u0 + K[1, b, c] u1 (mode 0); dx (B, 2C, S) = K[row, b, c] gy (mode 1).
const APPLY_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
struct P { nb: u32, c: u32, s: u32, mode: u32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let j = i % p.s;
  if (p.mode == 0u) {
    if (i >= p.nb * p.c * p.s) { return; }
    let c = (i / p.s) % p.c;
    let b = i / (p.s * p.c);
    let u0 = a[(b * 2u * p.c + c) * p.s + j];
    let u1 = a[(b * 2u * p.c + p.c + c) * p.s + j];
    y[i] = k[b * p.c + c] * u0 + k[(p.nb + b) * p.c + c] * u1;
  } else {
    if (i >= p.nb * 2u * p.c * p.s) { return; }
    let ch = (i / p.s) % (2u * p.c);
    let b = i / (p.s * 2u * p.c);
    let row = ch / p.c;
    let c = ch % p.c;
    y[i] = k[(row * p.nb + b) * p.c + c] * a[(b * p.c + c) * p.s + j];
  }
}`;

// gK (2, B, C) = Σ_s gy[b, c, s] · x[b, row·C + c, s].
const GK_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> gy: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> gk: array<f32>;
struct P { nb: u32, c: u32, s: u32 }
@group(0) @binding(3) var<uniform> p: P;${PER_K_MAIN}
  let g0 = (b * p.c + c) * p.s;
  let x0 = (b * 2u * p.c + row * p.c + c) * p.s;
  var acc = 0.0;
  for (var j = 0u; j < p.s; j++) { acc += gy[g0 + j] * x[x0 + j]; }
  gk[i] = acc;
}`;

// Parameter gradients, one thread per parameter element (flat index over inv_dt (C), A_real (Nh), A_imag (Nh),
// C (2, C, Nh, 2)); with G = C± E:
//   dK/dC = (2 Re E, -2 Im E); dK/dA_real_n = 2 Re(A_n) dt τ Re G; dK/dA_imag_n = 2 dt τ Im G;
//   dK/dinv_dt_c = 2 dt τ Re Σ_n G A_n.
const PGRAD_CODE = `${paramKernelHead([
  ['gk', 'read'],
  ['g_dt', 'read_write'],
  ['g_ar', 'read_write'],
  ['g_ai', 'read_write'],
  ['g_c', 'read_write'],
])}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let total = p.c + 2u * p.nh + 4u * p.c * p.nh;
  if (i >= total) { return; }
  if (i < p.c) {
    let c = i;
    let dt = dt_of(c);
    var acc = 0.0;
    for (var row = 0u; row < 2u; row++) {
      for (var b = 0u; b < p.nb; b++) {
        let w = gk[(row * p.nb + b) * p.c + c] * 2.0 * dt * tau_of(row, b);
        var s = 0.0;
        for (var n = 0u; n < p.nh; n++) {
          let a = a_of(n);
          s += cmul(cmul(coef_of(row, c, n), cexp(a * (dt * tau_of(row, b)))), a).x;
        }
        acc += w * s;
      }
    }
    g_dt[c] = acc;
    return;
  }
  if (i < p.c + 2u * p.nh) {
    let n = (i - p.c) % p.nh;
    let imag = i >= p.c + p.nh;
    let a = a_of(n);
    var acc = 0.0;
    for (var row = 0u; row < 2u; row++) {
      for (var b = 0u; b < p.nb; b++) {
        let tau = tau_of(row, b);
        for (var c = 0u; c < p.c; c++) {
          let dt = dt_of(c);
          let g = cmul(coef_of(row, c, n), cexp(a * (dt * tau)));
          let w = gk[(row * p.nb + b) * p.c + c] * 2.0 * dt * tau;
          acc += w * select(a.x * g.x, g.y, imag);
        }
      }
    }
    if (imag) { g_ai[n] = acc; } else { g_ar[n] = acc; }
    return;
  }
  let q = i - p.c - 2u * p.nh; // ((row * C + c) * Nh + n) * 2 + part
  let part = q % 2u;
  let n = (q / 2u) % p.nh;
  let c = (q / (2u * p.nh)) % p.c;
  let row = q / (2u * p.nh * p.c);
  let dt = dt_of(c);
  let a = a_of(n);
  var acc = 0.0;
  for (var b = 0u; b < p.nb; b++) {
    let e = cexp(a * (dt * tau_of(row, b)));
    acc += gk[(row * p.nb + b) * p.c + c] * select(2.0 * e.x, -2.0 * e.y, part == 1u);
  }
  g_c[q] = acc;
}`;

/** t (B) from the saved tensor src (B, Cs, S'): mean over S' of channel `ch`, · std + mean. */
export function s4ndTimeTimes(
  rt: GpuRuntime,
  b: Batch,
  src: GpuTensor,
  srcShape: readonly number[],
  ch: number,
  mean: number,
  std: number,
): GpuTensor {
  const [nb = 1, cs = 1] = srcShape;
  const s = srcShape.slice(2).reduce((a, c) => a * c, 1);
  const times = rt.alloc([nb]); // (B)
  b.dispatch(
    { code: TIMES_CODE, label: 's4nd_time_times' },
    [src, times],
    new Params().u32(nb).u32(cs).u32(s).u32(ch).f32(mean).f32(std),
    grid1d(nb),
  );
  return times;
}

const geomParams = (g: S4ndTimeGeom): Params => new Params().u32(g.nb).u32(g.c).u32(g.nh).u32(g.s);

/** Forward: x (B, 2C, S), times (B) -> y (B, C, S) and the kernels K (2, B, C) the backward needs. */
export function s4ndTime(
  rt: GpuRuntime,
  b: Batch,
  x: GpuTensor,
  times: GpuTensor,
  prm: S4ndTimeParams,
  g: S4ndTimeGeom,
): { y: GpuTensor; k: GpuTensor } {
  const k = rt.alloc([2, g.nb, g.c]); // (2, B, C)
  b.dispatch(
    { code: KERNEL_CODE, label: 's4nd_time_kernel' },
    [prm.invDt, prm.aReal, prm.aImag, prm.coef, times, k],
    geomParams(g),
    grid1d(2 * g.nb * g.c),
  );
  const y = rt.alloc([g.nb, g.c, g.s]); // (B, C, S)
  b.dispatch(
    { code: APPLY_CODE, label: 's4nd_time_apply' },
    [x, k, y],
    new Params().u32(g.nb).u32(g.c).u32(g.s).u32(0),
    grid1d(y.size),
  );
  return { y, k };
}

/** Backward: dx (B, 2C, S) (when wanted) and the gradients of inv_dt, A_real, A_imag and C. */
export function s4ndTimeBackward(
  rt: GpuRuntime,
  b: Batch,
  gy: GpuTensor,
  x: GpuTensor,
  times: GpuTensor,
  k: GpuTensor,
  prm: S4ndTimeParams,
  g: S4ndTimeGeom,
  needDx: boolean,
): { dx: GpuTensor | null; dInvDt: GpuTensor; dAReal: GpuTensor; dAImag: GpuTensor; dCoef: GpuTensor } {
  let dx: GpuTensor | null = null;
  if (needDx) {
    dx = rt.alloc([g.nb, 2 * g.c, g.s]); // (B, 2C, S)
    b.dispatch(
      { code: APPLY_CODE, label: 's4nd_time_dx' },
      [gy, k, dx],
      new Params().u32(g.nb).u32(g.c).u32(g.s).u32(1),
      grid1d(dx.size),
    );
  }
  const gk = rt.alloc([2, g.nb, g.c]); // (2, B, C)
  b.dispatch(
    { code: GK_CODE, label: 's4nd_time_gk' },
    [gy, x, gk],
    new Params().u32(g.nb).u32(g.c).u32(g.s),
    grid1d(gk.size),
  );
  const dInvDt = rt.alloc([g.c, 1]);
  const dAReal = rt.alloc([1, g.nh]);
  const dAImag = rt.alloc([1, g.nh]);
  const dCoef = rt.alloc([2, g.c, g.nh, 2]);
  b.dispatch(
    { code: PGRAD_CODE, label: 's4nd_time_pgrad' },
    [prm.invDt, prm.aReal, prm.aImag, prm.coef, times, gk, dInvDt, dAReal, dAImag, dCoef],
    geomParams(g),
    grid1d(g.c + 2 * g.nh + 4 * g.c * g.nh),
  );
  rt.release(gk);
  return { dx, dInvDt, dAReal, dAImag, dCoef };
}
