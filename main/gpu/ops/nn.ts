// Layer ops the engine graph needs beyond basic.ts: convolution (im2col + the tiled matmul), 2-D avg/max pooling,
// upsampling (nearest, bilinear align_corners=false), channel concat, seeded dropout (bit-identical mask to the CPU
// engine), soft Dice, sum of squares (global grad norm) and an AdamW update that applies global-norm clipping and skips
// the update when the loss is not finite (both read from a GPU buffer, so no readback is needed inside a step).
// Every rule mirrors native/src/ops/*.cc; every backward is a gather (no atomics: WGSL has no float atomics).
import { type Batch, type GpuRuntime, type GpuTensor, Params, grid1d } from '../runtime.js';
import { WGSL_GID } from '../wgsl-lib.js';
import { matmul } from './matmul.js';
import { reduceAxis, sumAll } from './basic.js';
import { LINEAR_TAPS_WGSL, POOL_FIRST_OUT_WGSL, ioBindings } from './resample-wgsl.js';

// ---- convolution (2-D and 3-D; 2-D is 3-D with depth 1) ----------------------------------------------------------

/** Geometry of a convolution as 3-D: 2-D convs have d = kd = od = 1, sd = 1, pd = 0. */
export interface ConvGeom {
  batch: number;
  cin: number;
  cout: number;
  d: number;
  h: number;
  w: number;
  kd: number;
  k: number;
  sd: number;
  s: number;
  pd: number;
  p: number;
  od: number;
  oh: number;
  ow: number;
}

/** Geometry from input (B, C, ...size), kernel k, stride, padding (same on every axis, as the spec allows). */
export function convGeom(xShape: readonly number[], cout: number, k: number, stride: number, pad: number): ConvGeom {
  const nsp = xShape.length - 2;
  if (nsp !== 2 && nsp !== 3) throw new RangeError(`conv: input must be (B, C, H, W) or (B, C, D, H, W)`);
  const [batch = 1, cin = 1] = xShape;
  const sp = xShape.slice(2);
  const d = nsp === 3 ? (sp[0] ?? 1) : 1;
  const h = sp[nsp - 2] ?? 1;
  const w = sp[nsp - 1] ?? 1;
  const o = (n: number): number => Math.floor((n + 2 * pad - k) / stride) + 1;
  return {
    batch,
    cin,
    cout,
    d,
    h,
    w,
    kd: nsp === 3 ? k : 1,
    k,
    sd: nsp === 3 ? stride : 1,
    s: stride,
    pd: nsp === 3 ? pad : 0,
    p: pad,
    od: nsp === 3 ? o(d) : 1,
    oh: o(h),
    ow: o(w),
  };
}

const CONV_STRUCT = `struct G { nb: u32, cin: u32, d: u32, h: u32, w: u32, kd: u32, k: u32, sd: u32, s: u32, pd: u32, p: u32,
  od: u32, oh: u32, ow: u32 }`;

function convParams(g: ConvGeom): Params {
  return new Params()
    .u32(g.batch)
    .u32(g.cin)
    .u32(g.d)
    .u32(g.h)
    .u32(g.w)
    .u32(g.kd)
    .u32(g.k)
    .u32(g.sd)
    .u32(g.s)
    .u32(g.pd)
    .u32(g.p)
    .u32(g.od)
    .u32(g.oh)
    .u32(g.ow);
}

// col (B, Cin*kd*k*k, od*oh*ow): col[b, (c, z, y, x), (oz, oy, ox)] = x[b, c, oz*sd - pd + z, oy*s - p + y, ox*s - p + x]
const IM2COL_CODE = `${WGSL_GID}${CONV_STRUCT}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> col: array<f32>;
@group(0) @binding(2) var<uniform> g: G;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let so = g.od * g.oh * g.ow;
  let kk = g.kd * g.k * g.k;
  let rows = g.cin * kk;
  if (i >= g.nb * rows * so) { return; }
  let j = i % so;
  let r = (i / so) % rows;
  let b = i / (so * rows);
  let ox = j % g.ow;
  let oy = (j / g.ow) % g.oh;
  let oz = j / (g.ow * g.oh);
  let kx = r % g.k;
  let ky = (r / g.k) % g.k;
  let kz = (r / (g.k * g.k)) % g.kd;
  let c = r / kk;
  let iz = i32(oz * g.sd + kz) - i32(g.pd);
  let iy = i32(oy * g.s + ky) - i32(g.p);
  let ix = i32(ox * g.s + kx) - i32(g.p);
  var v = 0.0;
  if (iz >= 0 && iz < i32(g.d) && iy >= 0 && iy < i32(g.h) && ix >= 0 && ix < i32(g.w)) {
    v = x[(((b * g.cin + c) * g.d + u32(iz)) * g.h + u32(iy)) * g.w + u32(ix)];
  }
  col[i] = v;
}`;

// dx[b, c, z, y, x] = sum over kernel taps whose output position exists of dcol[b, (c, kz, ky, kx), (oz, oy, ox)]
const COL2IM_CODE = `${WGSL_GID}${CONV_STRUCT}
@group(0) @binding(0) var<storage, read> dcol: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> g: G;
fn tap(i: u32, k: u32, pad: u32, stride: u32, n: u32) -> i32 {
  let t = i32(i + pad) - i32(k);
  if (t < 0 || t % i32(stride) != 0) { return -1; }
  let o = t / i32(stride);
  return select(-1, o, o < i32(n));
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= g.nb * g.cin * g.d * g.h * g.w) { return; }
  let ix = i % g.w;
  let iy = (i / g.w) % g.h;
  let iz = (i / (g.w * g.h)) % g.d;
  let c = (i / (g.w * g.h * g.d)) % g.cin;
  let b = i / (g.w * g.h * g.d * g.cin);
  let so = g.od * g.oh * g.ow;
  let kk = g.kd * g.k * g.k;
  let base = (b * g.cin + c) * kk;
  var acc = 0.0;
  for (var kz = 0u; kz < g.kd; kz++) {
    let oz = tap(iz, kz, g.pd, g.sd, g.od);
    if (oz < 0) { continue; }
    for (var ky = 0u; ky < g.k; ky++) {
      let oy = tap(iy, ky, g.p, g.s, g.oh);
      if (oy < 0) { continue; }
      for (var kx = 0u; kx < g.k; kx++) {
        let ox = tap(ix, kx, g.p, g.s, g.ow);
        if (ox < 0) { continue; }
        let r = base + (kz * g.k + ky) * g.k + kx;
        acc += dcol[r * so + (u32(oz) * g.oh + u32(oy)) * g.ow + u32(ox)];
      }
    }
  }
  dx[i] = acc;
}`;

export interface ConvSaved {
  col: GpuTensor;
}

/** y (B, O, od*oh*ow) = W (O, Cin*kd*k*k) col_b + bias. */
export function conv(
  rt: GpuRuntime,
  b: Batch,
  x: GpuTensor,
  w: GpuTensor,
  bias: GpuTensor | null,
  g: ConvGeom,
): { y: GpuTensor; saved: ConvSaved } {
  const rows = g.cin * g.kd * g.k * g.k;
  const so = g.od * g.oh * g.ow;
  if (x.size !== g.batch * g.cin * g.d * g.h * g.w) throw new RangeError(`conv: x has ${x.size} values`);
  if (w.size !== g.cout * rows) throw new RangeError(`conv: weight has ${w.size} values, expected ${g.cout * rows}`);
  const col = rt.alloc([g.batch, rows, so]); // (B, Cin*kk, So)
  b.dispatch({ code: IM2COL_CODE, label: 'im2col' }, [x, col], convParams(g), grid1d(col.size));
  const opts = { m: g.cout, k: rows, n: so, batch: g.batch, strideA: 0, biasPerRow: true };
  const y = matmul(rt, b, w, col, bias ? { ...opts, bias } : opts); // (B, O, So)
  return { y, saved: { col } };
}

/** Backward of conv: dx (B, Cin, d, h, w), dW (O, Cin*kk), dbias (O). */
export function convBackward(
  rt: GpuRuntime,
  b: Batch,
  dy: GpuTensor,
  w: GpuTensor,
  saved: ConvSaved,
  g: ConvGeom,
  withBias: boolean,
  needDx = true,
): { dx: GpuTensor | null; dw: GpuTensor; dbias: GpuTensor | null } {
  const rows = g.cin * g.kd * g.k * g.k;
  const so = g.od * g.oh * g.ow;
  let dx: GpuTensor | null = null;
  if (needDx) {
    const dcol = matmul(rt, b, w, dy, { m: rows, k: g.cout, n: so, batch: g.batch, strideA: 0, transA: true }); // (B, rows, So)
    dx = rt.alloc([g.batch, g.cin, g.d, g.h, g.w]); // (B, Cin, d, h, w)
    b.dispatch({ code: COL2IM_CODE, label: 'col2im' }, [dcol, dx], convParams(g), grid1d(dx.size));
    rt.release(dcol);
  }
  const dwb = matmul(rt, b, dy, saved.col, { m: g.cout, k: so, n: rows, batch: g.batch, transB: true }); // (B, O, rows)
  const dw = reduceAxis(rt, b, dwb, 1, g.batch, g.cout * rows); // (O * rows)
  rt.release(dwb);
  let dbias: GpuTensor | null = null;
  if (withBias) {
    const s1 = reduceAxis(rt, b, dy, g.batch * g.cout, so, 1); // (B * O)
    dbias = reduceAxis(rt, b, s1, 1, g.batch, g.cout); // (O)
    rt.release(s1);
  }
  return { dx, dw, dbias };
}

// ---- 2-D pooling (no padding) ---------------------------------------------------------------------------------------

const POOL_STRUCT = `struct P { planes: u32, h: u32, w: u32, oh: u32, ow: u32, k: u32, s: u32, is_max: u32 }`;

const POOL_FWD_CODE = `${WGSL_GID}${POOL_STRUCT}${ioBindings('x', 'y')}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.planes * p.oh * p.ow) { return; }
  let ox = i % p.ow;
  let oy = (i / p.ow) % p.oh;
  let base = (i / (p.ow * p.oh)) * p.h * p.w;
  var acc = select(0.0, x[base + oy * p.s * p.w + ox * p.s], p.is_max != 0u);
  for (var dy = 0u; dy < p.k; dy++) {
    for (var dx = 0u; dx < p.k; dx++) {
      let v = x[base + (oy * p.s + dy) * p.w + ox * p.s + dx];
      if (p.is_max != 0u) { if (v > acc) { acc = v; } } else { acc += v; }
    }
  }
  y[i] = select(acc * (1.0 / f32(p.k * p.k)), acc, p.is_max != 0u);
}`;

// Gather over the windows that contain input pixel (iy, ix); max pooling gives the gradient to the first maximum in
// row-major window order, as the CPU engine does.
const POOL_BWD_CODE = `${WGSL_GID}${POOL_STRUCT}${ioBindings('x', 'gy', 'gx')}${POOL_FIRST_OUT_WGSL}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.planes * p.h * p.w) { return; }
  let ix = i % p.w;
  let iy = (i / p.w) % p.h;
  let plane = i / (p.w * p.h);
  let base = plane * p.h * p.w;
  let here = iy * p.w + ix;
  var acc = 0.0;
  let oy0 = first_out(iy);
  let ox0 = first_out(ix);
  for (var oy = oy0; oy < p.oh && oy * p.s <= iy; oy++) {
    for (var ox = ox0; ox < p.ow && ox * p.s <= ix; ox++) {
      let g = gy[(plane * p.oh + oy) * p.ow + ox];
      if (p.is_max == 0u) { acc += g * (1.0 / f32(p.k * p.k)); continue; }
      var best = oy * p.s * p.w + ox * p.s;
      for (var dy = 0u; dy < p.k; dy++) {
        for (var dx = 0u; dx < p.k; dx++) {
          let j = (oy * p.s + dy) * p.w + ox * p.s + dx;
          if (x[base + j] > x[base + best]) { best = j; }
        }
      }
      if (best == here) { acc += g; }
    }
  }
  gx[i] = acc;
}`;

export interface PoolGeom {
  planes: number;
  h: number;
  w: number;
  k: number;
  s: number;
  isMax: boolean;
}

function poolParams(g: PoolGeom): Params {
  return new Params()
    .u32(g.planes)
    .u32(g.h)
    .u32(g.w)
    .u32(Math.floor((g.h - g.k) / g.s) + 1)
    .u32(Math.floor((g.w - g.k) / g.s) + 1)
    .u32(g.k)
    .u32(g.s)
    .u32(g.isMax ? 1 : 0);
}

/** x (planes, h, w) -> (planes, oh, ow). */
export function pool2d(rt: GpuRuntime, b: Batch, x: GpuTensor, g: PoolGeom): GpuTensor {
  const oh = Math.floor((g.h - g.k) / g.s) + 1;
  const ow = Math.floor((g.w - g.k) / g.s) + 1;
  const y = rt.alloc([g.planes, oh, ow]); // (planes, oh, ow)
  b.dispatch({ code: POOL_FWD_CODE, label: 'pool2d' }, [x, y], poolParams(g), grid1d(y.size));
  return y;
}

export function pool2dBackward(rt: GpuRuntime, b: Batch, gy: GpuTensor, x: GpuTensor, g: PoolGeom): GpuTensor {
  const gx = rt.alloc(x.shape); // (planes, h, w)
  b.dispatch({ code: POOL_BWD_CODE, label: 'pool2d_bwd' }, [x, gy, gx], poolParams(g), grid1d(gx.size));
  return gx;
}

// ---- upsampling ---------------------------------------------------------------------------------------------------

const UP_COMMON = `${WGSL_GID}${LINEAR_TAPS_WGSL}
struct P { planes: u32, h: u32, w: u32, scale: u32, bilinear: u32 }`;

const UP_FWD_CODE = `${UP_COMMON}${ioBindings('x', 'y')}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let ho = p.h * p.scale;
  let wo = p.w * p.scale;
  if (i >= p.planes * ho * wo) { return; }
  let ox = i % wo;
  let oy = (i / wo) % ho;
  let base = (i / (wo * ho)) * p.h * p.w;
  if (p.bilinear == 0u) { y[i] = x[base + (oy / p.scale) * p.w + ox / p.scale]; return; }
  let ty = taps(oy, p.scale, p.h);
  let tx = taps(ox, p.scale, p.w);
  let y0 = u32(ty.x); let y1 = u32(ty.y); let x0 = u32(tx.x); let x1 = u32(tx.y);
  let top = x[base + y0 * p.w + x0] * (1.0 - tx.z) + x[base + y0 * p.w + x1] * tx.z;
  let bot = x[base + y1 * p.w + x0] * (1.0 - tx.z) + x[base + y1 * p.w + x1] * tx.z;
  y[i] = top * (1.0 - ty.z) + bot * ty.z;
}`;

// Gather: every output within 2*scale of the input pixel is checked for taps that land on it.
const UP_BWD_CODE = `${UP_COMMON}${ioBindings('gy', 'gx')}
fn wy_of(t: vec3<f32>, i: u32) -> f32 {
  var w = 0.0;
  if (u32(t.x) == i) { w += 1.0 - t.z; }
  if (u32(t.y) == i) { w += t.z; }
  return w;
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.planes * p.h * p.w) { return; }
  let ix = i % p.w;
  let iy = (i / p.w) % p.h;
  let plane = i / (p.w * p.h);
  let ho = p.h * p.scale;
  let wo = p.w * p.scale;
  let gb = plane * ho * wo;
  var acc = 0.0;
  if (p.bilinear == 0u) {
    for (var a = 0u; a < p.scale; a++) {
      for (var c = 0u; c < p.scale; c++) { acc += gy[gb + (iy * p.scale + a) * wo + ix * p.scale + c]; }
    }
    gx[i] = acc;
    return;
  }
  let oy0 = select(0u, (iy - 1u) * p.scale, iy >= 1u);
  let oy1 = min(ho, (iy + 2u) * p.scale);
  let ox0 = select(0u, (ix - 1u) * p.scale, ix >= 1u);
  let ox1 = min(wo, (ix + 2u) * p.scale);
  for (var oy = oy0; oy < oy1; oy++) {
    let wy = wy_of(taps(oy, p.scale, p.h), iy);
    if (wy == 0.0) { continue; }
    for (var ox = ox0; ox < ox1; ox++) {
      let wx = wy_of(taps(ox, p.scale, p.w), ix);
      if (wx != 0.0) { acc += gy[gb + oy * wo + ox] * wy * wx; }
    }
  }
  gx[i] = acc;
}`;

export interface UpsampleGeom {
  planes: number;
  h: number;
  w: number;
  scale: number;
  bilinear: boolean;
}

function upParams(g: UpsampleGeom): Params {
  return new Params()
    .u32(g.planes)
    .u32(g.h)
    .u32(g.w)
    .u32(g.scale)
    .u32(g.bilinear ? 1 : 0);
}

/** x (planes, h, w) -> (planes, h*scale, w*scale). */
export function upsample(rt: GpuRuntime, b: Batch, x: GpuTensor, g: UpsampleGeom): GpuTensor {
  const y = rt.alloc([g.planes, g.h * g.scale, g.w * g.scale]); // (planes, h*s, w*s)
  b.dispatch({ code: UP_FWD_CODE, label: 'upsample' }, [x, y], upParams(g), grid1d(y.size));
  return y;
}

export function upsampleBackward(rt: GpuRuntime, b: Batch, gy: GpuTensor, g: UpsampleGeom): GpuTensor {
  const gx = rt.alloc([g.planes, g.h, g.w]); // (planes, h, w)
  b.dispatch({ code: UP_BWD_CODE, label: 'upsample_bwd' }, [gy, gx], upParams(g), grid1d(gx.size));
  return gx;
}

// ---- concat on channels ---------------------------------------------------------------------------------------------

// Forward: y (B, C1 + C2, S) from a (B, C1, S) and c (B, C2, S). Backward (split = 1): da, dc from gy.
const CONCAT_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
struct P { nb: u32, c1: u32, c2: u32, s: u32, split: u32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let ct = p.c1 + p.c2;
  if (i >= p.nb * ct * p.s) { return; }
  let j = i % p.s;
  let ch = (i / p.s) % ct;
  let b = i / (p.s * ct);
  if (p.split == 0u) {
    if (ch < p.c1) { y[i] = a[(b * p.c1 + ch) * p.s + j]; } else { y[i] = c[(b * p.c2 + ch - p.c1) * p.s + j]; }
  } else {
    if (ch < p.c1) { a[(b * p.c1 + ch) * p.s + j] = y[i]; } else { c[(b * p.c2 + ch - p.c1) * p.s + j] = y[i]; }
  }
}`;

/** Concatenates a (B, C1, S) and c (B, C2, S) on channels. */
export function concat(
  rt: GpuRuntime,
  b: Batch,
  a: GpuTensor,
  c: GpuTensor,
  nb: number,
  c1: number,
  c2: number,
  s: number,
): GpuTensor {
  const y = rt.alloc([nb, c1 + c2, s]); // (B, C1 + C2, S)
  b.dispatch(
    { code: CONCAT_CODE, label: 'concat' },
    [a, c, y],
    new Params().u32(nb).u32(c1).u32(c2).u32(s).u32(0),
    grid1d(y.size),
  );
  return y;
}

export function concatBackward(
  rt: GpuRuntime,
  b: Batch,
  gy: GpuTensor,
  nb: number,
  c1: number,
  c2: number,
  s: number,
): [GpuTensor, GpuTensor] {
  const da = rt.alloc([nb, c1, s]); // (B, C1, S)
  const dc = rt.alloc([nb, c2, s]); // (B, C2, S)
  b.dispatch(
    { code: CONCAT_CODE, label: 'concat_bwd' },
    [da, dc, gy],
    new Params().u32(nb).u32(c1).u32(c2).u32(s).u32(1),
    grid1d(gy.size),
  );
  return [da, dc];
}

// ---- dropout (the CPU engine's HashUniform, in 64-bit arithmetic emulated with u32 pairs) --------------------------

const U64_LIB = `
fn mul32(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}
// (lo, hi) pairs; products and sums wrap mod 2^64
fn mul64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let l = mul32(a.x, b.x);
  return vec2<u32>(l.x, l.y + a.x * b.y + a.y * b.x);
}
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn shr64(a: vec2<u32>, n: u32) -> vec2<u32> {
  if (n >= 32u) { return vec2<u32>(a.y >> (n - 32u), 0u); }
  return vec2<u32>((a.x >> n) | (a.y << (32u - n)), a.y >> n);
}
fn hash_uniform(seed: vec2<u32>, index: u32) -> f32 {
  var z = add64(add64(mul64(seed, vec2<u32>(0x7F4A7C15u, 0x9E3779B9u)), mul64(vec2<u32>(index, 0u),
          vec2<u32>(0xD192ED03u, 0xD1B54A32u))), vec2<u32>(0xD9B4E019u, 0x632BE59Bu));
  z = mul64(z ^ shr64(z, 30u), vec2<u32>(0x1CE4E5B9u, 0xBF58476Du));
  z = mul64(z ^ shr64(z, 27u), vec2<u32>(0x133111EBu, 0x94D049BBu));
  z = z ^ shr64(z, 31u);
  return f32(z.y >> 8u) * (1.0 / 16777216.0);
}`;

const DROPOUT_CODE = `${WGSL_GID}${U64_LIB}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct P { n: u32, seed_lo: u32, seed_hi: u32, p: f32, scale: f32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.n) { return; }
  y[i] = select(x[i] * p.scale, 0.0, hash_uniform(vec2<u32>(p.seed_lo, p.seed_hi), i) < p.p);
}`;

/**
 * Dropout with the CPU engine's mask: element i is dropped when HashUniform(seed, i) < p, kept ones scale by
 * 1/(1-p). The backward is the same op on the upstream gradient (same seed).
 */
export function dropout(rt: GpuRuntime, b: Batch, x: GpuTensor, p: number, seed: bigint): GpuTensor {
  const y = rt.alloc(x.shape);
  const s = BigInt.asUintN(64, seed);
  b.dispatch(
    { code: DROPOUT_CODE, label: 'dropout' },
    [x, y],
    new Params()
      .u32(x.size)
      .u32(Number(s & 0xffffffffn))
      .u32(Number(s >> 32n))
      .f32(p)
      .f32(Math.fround(1 / Math.fround(1 - Math.fround(p)))),
    grid1d(x.size),
  );
  return y;
}

// ---- soft Dice on probabilities (one workgroup per sample) ---------------------------------------------------------

const DICE_CODE = `
@group(0) @binding(0) var<storage, read> prob: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> rowloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dp: array<f32>;
struct P { nb: u32, s: u32, smooth_: f32, gscale: f32 }
@group(0) @binding(4) var<uniform> p: P;
var<workgroup> part: array<f32, 256>;
fn wg_sum(lid: u32, v: f32) -> f32 {
  part[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] += part[lid + s]; }
    workgroupBarrier();
  }
  let r = part[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let b = wid.x;
  if (b >= p.nb) { return; }
  let base = b * p.s;
  var si = 0.0;
  var su = 0.0;
  for (var j = lid; j < p.s; j += 256u) { si += prob[base + j] * t[base + j]; su += prob[base + j] + t[base + j]; }
  let inter = wg_sum(lid, si);
  let u = wg_sum(lid, su) + p.smooth_;
  let num = 2.0 * inter + p.smooth_;
  if (lid == 0u) { rowloss[b] = 1.0 - num / u; }
  for (var j = lid; j < p.s; j += 256u) { dp[base + j] = p.gscale * -(2.0 * t[base + j] * u - num) / (u * u); }
}`;

/** Soft Dice: mean over B of 1 - (2 sum(p t) + s) / (sum p + sum t + s), fused with d loss / d p. */
export function softDice(
  rt: GpuRuntime,
  b: Batch,
  prob: GpuTensor,
  t: GpuTensor,
  nb: number,
  smooth: number,
): { loss: GpuTensor; dp: GpuTensor } {
  const s = prob.size / nb;
  const rowloss = rt.alloc([nb]); // (B)
  const dp = rt.alloc(prob.shape);
  b.dispatch(
    { code: DICE_CODE, label: 'soft_dice' },
    [prob, t, rowloss, dp],
    new Params()
      .u32(nb)
      .u32(s)
      .f32(smooth)
      .f32(1 / nb),
    [nb, 1, 1],
  );
  const loss = sumAll(rt, b, rowloss, 1 / nb); // ()
  rt.release(rowloss);
  return { loss, dp };
}

// ---- global gradient norm and the clipped AdamW update --------------------------------------------------------------

const SUMSQ_CODE = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct P { n: u32, slot: u32 }
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += 256u) { acc += x[i] * x[i]; }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] += part[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[p.slot] = part[0]; }
}`;

/** out[slot] = sum(x^2) (one workgroup). */
export function sumSquaresInto(b: Batch, x: GpuTensor, out: GpuTensor, slot: number): void {
  b.dispatch({ code: SUMSQ_CODE, label: 'sum_squares' }, [x, out], new Params().u32(x.size).u32(slot), [1, 1, 1]);
}

// stats = [loss, sum of squared grads]; the update is skipped when the loss is not finite (the CPU engine throws
// before updating), and gradients are scaled by max_norm / (norm + 1e-6) when norm > max_norm > 0.
const ADAMW_CLIP_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
struct P { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, decay: f32, c1: f32, c2: f32, omb1: f32, omb2: f32,
  max_norm: f32 }
@group(0) @binding(5) var<uniform> p: P;
fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.n || !finite(stats[0])) { return; }
  let norm = sqrt(stats[1]);
  var g = grad[i];
  if (p.max_norm > 0.0 && norm > p.max_norm) { g = g * (p.max_norm / (norm + 1e-6)); }
  let mi = p.beta1 * m[i] + p.omb1 * g;
  let vi = p.beta2 * v[i] + p.omb2 * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] = param[i] * p.decay - p.lr * (mi * p.c1) / (sqrt(vi * p.c2) + p.eps);
}`;

export interface AdamWClipOptions {
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step. */
  step: number;
  maxNorm: number;
}

/** AdamW exactly as native/src/optim/adamw.cc (float32 constants rounded the same way), with clipping from `stats`. */
export function adamWClipped(
  b: Batch,
  param: GpuTensor,
  grad: GpuTensor,
  m: GpuTensor,
  v: GpuTensor,
  stats: GpuTensor,
  o: AdamWClipOptions,
): void {
  const f = Math.fround;
  const b1 = f(o.beta1);
  const b2 = f(o.beta2);
  const p = new Params()
    .u32(param.size)
    .f32(o.lr)
    .f32(b1)
    .f32(b2)
    .f32(o.eps)
    .f32(f(1 - f(f(o.lr) * f(o.weightDecay))))
    .f32(f(1 / f(1 - Math.pow(b1, o.step))))
    .f32(f(1 / f(1 - Math.pow(b2, o.step))))
    .f32(f(1 - b1))
    .f32(f(1 - b2))
    .f32(o.maxNorm);
  b.dispatch({ code: ADAMW_CLIP_CODE, label: 'adamw_clip' }, [param, grad, m, v, stats], p, grid1d(param.size));
}

// ---- transposed 2-D convolution (PyTorch ConvTranspose2d, weight (C, O, k, k)) ------------------------------------
// It is the adjoint of a convolution from (O, Ho, Wo) to (C, H, W): cols = W^T x, then the col2im gather scatters
// them onto the output grid; the backward is im2col of dy, then W dcol (dx) and x dcol^T (dW).

const BIAS_CHANNELS_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> bias: array<f32>;
struct P { n: u32, c: u32, s: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.n) { return; }
  y[i] = y[i] + bias[(i / p.s) % p.c];
}`;

export interface ConvTransposeGeom {
  batch: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  k: number;
  s: number;
  p: number;
  oh: number;
  ow: number;
}

export function convTransposeGeom(
  xShape: readonly number[],
  cout: number,
  k: number,
  s: number,
  p: number,
): ConvTransposeGeom {
  const [batch = 1, cin = 1, h = 1, w = 1] = xShape;
  return { batch, cin, cout, h, w, k, s, p, oh: (h - 1) * s - 2 * p + k, ow: (w - 1) * s - 2 * p + k };
}

/** The convolution whose adjoint this is: input (O, oh, ow), output grid (h, w). */
function adjointGeom(g: ConvTransposeGeom): ConvGeom {
  return {
    batch: g.batch,
    cin: g.cout,
    cout: g.cin,
    d: 1,
    h: g.oh,
    w: g.ow,
    kd: 1,
    k: g.k,
    sd: 1,
    s: g.s,
    pd: 0,
    p: g.p,
    od: 1,
    oh: g.h,
    ow: g.w,
  };
}

/** y (B, O, oh, ow) = ConvTranspose2d(x (B, C, h, w), w (C, O, k, k)) + bias. */
export function convTranspose2d(
  rt: GpuRuntime,
  b: Batch,
  x: GpuTensor,
  w: GpuTensor,
  bias: GpuTensor | null,
  g: ConvTransposeGeom,
): GpuTensor {
  const okk = g.cout * g.k * g.k;
  const hw = g.h * g.w;
  const cols = matmul(rt, b, w, x, { m: okk, k: g.cin, n: hw, batch: g.batch, strideA: 0, transA: true }); // (B, Okk, hw)
  const y = rt.alloc([g.batch, g.cout, g.oh, g.ow]); // (B, O, oh, ow)
  b.dispatch({ code: COL2IM_CODE, label: 'conv_t_col2im' }, [cols, y], convParams(adjointGeom(g)), grid1d(y.size));
  rt.release(cols);
  if (bias)
    b.dispatch(
      { code: BIAS_CHANNELS_CODE, label: 'bias_channels' },
      [y, bias],
      new Params()
        .u32(y.size)
        .u32(g.cout)
        .u32(g.oh * g.ow),
      grid1d(y.size),
    );
  return y;
}

export function convTranspose2dBackward(
  rt: GpuRuntime,
  b: Batch,
  dy: GpuTensor,
  x: GpuTensor,
  w: GpuTensor,
  g: ConvTransposeGeom,
  withBias: boolean,
  needDx = true,
): { dx: GpuTensor | null; dw: GpuTensor; dbias: GpuTensor | null } {
  const okk = g.cout * g.k * g.k;
  const hw = g.h * g.w;
  const dcol = rt.alloc([g.batch, okk, hw]); // (B, Okk, hw)
  b.dispatch({ code: IM2COL_CODE, label: 'conv_t_im2col' }, [dy, dcol], convParams(adjointGeom(g)), grid1d(dcol.size));
  const dx = needDx ? matmul(rt, b, w, dcol, { m: g.cin, k: okk, n: hw, batch: g.batch, strideA: 0 }) : null; // (B, C, hw)
  const dwb = matmul(rt, b, x, dcol, { m: g.cin, k: hw, n: okk, batch: g.batch, transB: true }); // (B, C, Okk)
  const dw = reduceAxis(rt, b, dwb, 1, g.batch, g.cin * okk); // (C * Okk)
  rt.release(dcol, dwb);
  let dbias: GpuTensor | null = null;
  if (withBias) {
    const s1 = reduceAxis(rt, b, dy, g.batch * g.cout, g.oh * g.ow, 1); // (B * O)
    dbias = reduceAxis(rt, b, s1, 1, g.batch, g.cout); // (O)
    rt.release(s1);
  }
  return { dx, dw, dbias };
}
