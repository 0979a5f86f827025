// 3-D pooling (avg / max, cubic kernel, no padding) and 3-D upsampling (nearest, trilinear align_corners=false) on
// volumes (planes = B·C, d, h, w). Every rule mirrors native/src/ops/resample3d.cc: max pooling gives the gradient to
// the first maximum in row-major (d, h, w) window order; trilinear interpolates along W, then H within each of the two
// depth slices, then along D, in the same float32 order as the CPU engine. Backwards are gathers (no atomics).
import { type Batch, type GpuRuntime, type GpuTensor, Params, grid1d } from '../runtime.js';
import { WGSL_GID } from '../wgsl-lib.js';
import { LINEAR_TAPS_WGSL, POOL_FIRST_OUT_WGSL, UNFLAT3_WGSL, ioBindings } from './resample-wgsl.js';

// ---- pooling --------------------------------------------------------------------------------------------------------

// Head of a gather backward's main: one thread per input voxel (ix, iy, iz) of plane `plane`.
const GATHER_MAIN = `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.planes * p.d * p.h * p.w) { return; }
  let v = unflat3(i, p.d, p.h, p.w);
  let ix = v.x;
  let iy = v.y;
  let iz = v.z;
  let plane = v.w;`;

const POOL_STRUCT = `${WGSL_GID}${UNFLAT3_WGSL}
struct P { planes: u32, d: u32, h: u32, w: u32, od: u32, oh: u32, ow: u32, k: u32, s: u32, is_max: u32 }`;

const POOL_FWD_CODE = `${POOL_STRUCT}${ioBindings('x', 'y')}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.planes * p.od * p.oh * p.ow) { return; }
  let o = unflat3(i, p.od, p.oh, p.ow);
  let ox = o.x;
  let oy = o.y;
  let oz = o.z;
  let base = o.w * p.d * p.h * p.w;
  var acc = select(0.0, x[base + (oz * p.s * p.h + oy * p.s) * p.w + ox * p.s], p.is_max != 0u);
  for (var dz = 0u; dz < p.k; dz++) {
    for (var dy = 0u; dy < p.k; dy++) {
      for (var dx = 0u; dx < p.k; dx++) {
        let v = x[base + ((oz * p.s + dz) * p.h + oy * p.s + dy) * p.w + ox * p.s + dx];
        if (p.is_max != 0u) { if (v > acc) { acc = v; } } else { acc += v; }
      }
    }
  }
  y[i] = select(acc * (1.0 / f32(p.k * p.k * p.k)), acc, p.is_max != 0u);
}`;

// Gather over the windows that contain input voxel (iz, iy, ix).
const POOL_BWD_CODE = `${POOL_STRUCT}${ioBindings('x', 'gy', 'gx')}${POOL_FIRST_OUT_WGSL}
${GATHER_MAIN}
  let base = plane * p.d * p.h * p.w;
  let here = (iz * p.h + iy) * p.w + ix;
  var acc = 0.0;
  for (var oz = first_out(iz); oz < p.od && oz * p.s <= iz; oz++) {
    for (var oy = first_out(iy); oy < p.oh && oy * p.s <= iy; oy++) {
      for (var ox = first_out(ix); ox < p.ow && ox * p.s <= ix; ox++) {
        let g = gy[((plane * p.od + oz) * p.oh + oy) * p.ow + ox];
        if (p.is_max == 0u) { acc += g * (1.0 / f32(p.k * p.k * p.k)); continue; }
        var best = (oz * p.s * p.h + oy * p.s) * p.w + ox * p.s;
        for (var dz = 0u; dz < p.k; dz++) {
          for (var dy = 0u; dy < p.k; dy++) {
            for (var dx = 0u; dx < p.k; dx++) {
              let j = ((oz * p.s + dz) * p.h + oy * p.s + dy) * p.w + ox * p.s + dx;
              if (x[base + j] > x[base + best]) { best = j; }
            }
          }
        }
        if (best == here) { acc += g; }
      }
    }
  }
  gx[i] = acc;
}`;

export interface Pool3dGeom {
  planes: number;
  d: number;
  h: number;
  w: number;
  k: number;
  s: number;
  isMax: boolean;
}

/** Output size of one axis of n under kernel k, stride s (no padding). */
const outLen = (n: number, k: number, s: number): number => Math.floor((n - k) / s) + 1;

/** (od, oh, ow) of a 3-D pooling. */
export function pool3dOut(g: Pool3dGeom): [number, number, number] {
  return [outLen(g.d, g.k, g.s), outLen(g.h, g.k, g.s), outLen(g.w, g.k, g.s)];
}

function poolParams(g: Pool3dGeom): Params {
  const [od, oh, ow] = pool3dOut(g);
  return new Params()
    .u32(g.planes)
    .u32(g.d)
    .u32(g.h)
    .u32(g.w)
    .u32(od)
    .u32(oh)
    .u32(ow)
    .u32(g.k)
    .u32(g.s)
    .u32(g.isMax ? 1 : 0);
}

/** x (planes, d, h, w) -> (planes, od, oh, ow). */
export function pool3d(rt: GpuRuntime, b: Batch, x: GpuTensor, g: Pool3dGeom): GpuTensor {
  if (g.k < 1 || g.s < 1 || g.d < g.k || g.h < g.k || g.w < g.k) {
    throw new Error(`pool3d: kernel ${g.k} does not fit (${g.d}, ${g.h}, ${g.w})`);
  }
  const y = rt.alloc([g.planes, ...pool3dOut(g)]); // (planes, od, oh, ow)
  b.dispatch({ code: POOL_FWD_CODE, label: 'pool3d' }, [x, y], poolParams(g), grid1d(y.size));
  return y;
}

/** gy (planes, od, oh, ow), x (planes, d, h, w) -> gx (planes, d, h, w). */
export function pool3dBackward(rt: GpuRuntime, b: Batch, gy: GpuTensor, x: GpuTensor, g: Pool3dGeom): GpuTensor {
  const gx = rt.alloc([g.planes, g.d, g.h, g.w]); // (planes, d, h, w)
  b.dispatch({ code: POOL_BWD_CODE, label: 'pool3d_bwd' }, [x, gy, gx], poolParams(g), grid1d(gx.size));
  return gx;
}

// ---- upsampling -----------------------------------------------------------------------------------------------------

const UP_COMMON = `${WGSL_GID}${UNFLAT3_WGSL}${LINEAR_TAPS_WGSL}
struct P { planes: u32, d: u32, h: u32, w: u32, scale: u32, trilinear: u32 }`;

const UP_FWD_CODE = `${UP_COMMON}${ioBindings('x', 'y')}
fn bil(slice: u32, y0: u32, y1: u32, x0: u32, x1: u32, wy: f32, wx: f32) -> f32 {
  let top = x[slice + y0 * p.w + x0] * (1.0 - wx) + x[slice + y0 * p.w + x1] * wx;
  let bot = x[slice + y1 * p.w + x0] * (1.0 - wx) + x[slice + y1 * p.w + x1] * wx;
  return top * (1.0 - wy) + bot * wy;
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  let dz = p.d * p.scale;
  let ho = p.h * p.scale;
  let wo = p.w * p.scale;
  if (i >= p.planes * dz * ho * wo) { return; }
  let o = unflat3(i, dz, ho, wo);
  let ox = o.x;
  let oy = o.y;
  let oz = o.z;
  let base = o.w * p.d * p.h * p.w;
  if (p.trilinear == 0u) {
    y[i] = x[base + ((oz / p.scale) * p.h + oy / p.scale) * p.w + ox / p.scale];
    return;
  }
  let tz = taps(oz, p.scale, p.d);
  let ty = taps(oy, p.scale, p.h);
  let tx = taps(ox, p.scale, p.w);
  let y0 = u32(ty.x); let y1 = u32(ty.y); let x0 = u32(tx.x); let x1 = u32(tx.y);
  let va = bil(base + u32(tz.x) * p.h * p.w, y0, y1, x0, x1, ty.z, tx.z);
  let vb = bil(base + u32(tz.y) * p.h * p.w, y0, y1, x0, x1, ty.z, tx.z);
  y[i] = va * (1.0 - tz.z) + vb * tz.z;
}`;

// Gather: every output within 2·scale of the input voxel along each axis is checked for taps that land on it. The
// CPU engine scatters g·(1 - wz) (or g·wz) times the (y, x) weights; the same products are formed here.
const UP_BWD_CODE = `${UP_COMMON}${ioBindings('gy', 'gx')}
// Weight of input index i in the taps t; (a, b) = (weight via i0, weight via i1) kept apart so that products are
// formed in the CPU engine's order.
fn w_of(t: vec3<f32>, i: u32) -> vec2<f32> {
  return vec2<f32>(select(0.0, 1.0 - t.z, u32(t.x) == i), select(0.0, t.z, u32(t.y) == i));
}
${GATHER_MAIN}
  let dz = p.d * p.scale;
  let ho = p.h * p.scale;
  let wo = p.w * p.scale;
  let gb = plane * dz * ho * wo;
  var acc = 0.0;
  if (p.trilinear == 0u) {
    for (var a = 0u; a < p.scale; a++) {
      for (var c = 0u; c < p.scale; c++) {
        for (var e = 0u; e < p.scale; e++) {
          acc += gy[gb + ((iz * p.scale + a) * ho + iy * p.scale + c) * wo + ix * p.scale + e];
        }
      }
    }
    gx[i] = acc;
    return;
  }
  let oz0 = select(0u, (iz - 1u) * p.scale, iz >= 1u);
  let oz1 = min(dz, (iz + 2u) * p.scale);
  let oy0 = select(0u, (iy - 1u) * p.scale, iy >= 1u);
  let oy1 = min(ho, (iy + 2u) * p.scale);
  let ox0 = select(0u, (ix - 1u) * p.scale, ix >= 1u);
  let ox1 = min(wo, (ix + 2u) * p.scale);
  for (var oz = oz0; oz < oz1; oz++) {
    let tz = taps(oz, p.scale, p.d);
    let wz = w_of(tz, iz);
    if (wz.x == 0.0 && wz.y == 0.0) { continue; }
    for (var oy = oy0; oy < oy1; oy++) {
      let wy = w_of(taps(oy, p.scale, p.h), iy);
      if (wy.x == 0.0 && wy.y == 0.0) { continue; }
      for (var ox = ox0; ox < ox1; ox++) {
        let wx = w_of(taps(ox, p.scale, p.w), ix);
        if (wx.x == 0.0 && wx.y == 0.0) { continue; }
        let g = gy[gb + (oz * ho + oy) * wo + ox];
        // CPU: slice a gets g·(1 - wz), slice b g·wz; then ·(y weight)·(x weight), four taps each.
        for (var sz = 0u; sz < 2u; sz++) {
          let gzv = g * select(wz.x, wz.y, sz == 1u);
          if (select(wz.x, wz.y, sz == 1u) == 0.0) { continue; }
          for (var sy = 0u; sy < 2u; sy++) {
            let wyv = select(wy.x, wy.y, sy == 1u);
            if (wyv == 0.0) { continue; }
            for (var sx = 0u; sx < 2u; sx++) {
              let wxv = select(wx.x, wx.y, sx == 1u);
              if (wxv != 0.0) { acc += gzv * wyv * wxv; }
            }
          }
        }
      }
    }
  }
  gx[i] = acc;
}`;

export interface Upsample3dGeom {
  planes: number;
  d: number;
  h: number;
  w: number;
  scale: number;
  trilinear: boolean;
}

function upParams(g: Upsample3dGeom): Params {
  return new Params()
    .u32(g.planes)
    .u32(g.d)
    .u32(g.h)
    .u32(g.w)
    .u32(g.scale)
    .u32(g.trilinear ? 1 : 0);
}

/** x (planes, d, h, w) -> (planes, d·scale, h·scale, w·scale). */
export function upsample3d(rt: GpuRuntime, b: Batch, x: GpuTensor, g: Upsample3dGeom): GpuTensor {
  if (g.scale < 1) throw new Error(`upsample3d: scale must be >= 1, got ${g.scale}`);
  const y = rt.alloc([g.planes, g.d * g.scale, g.h * g.scale, g.w * g.scale]); // (planes, d·s, h·s, w·s)
  b.dispatch({ code: UP_FWD_CODE, label: 'upsample3d' }, [x, y], upParams(g), grid1d(y.size));
  return y;
}

/** gy (planes, d·s, h·s, w·s) -> gx (planes, d, h, w). */
export function upsample3dBackward(rt: GpuRuntime, b: Batch, gy: GpuTensor, g: Upsample3dGeom): GpuTensor {
  const gx = rt.alloc([g.planes, g.d, g.h, g.w]); // (planes, d, h, w)
  b.dispatch({ code: UP_BWD_CODE, label: 'upsample3d_bwd' }, [gy, gx], upParams(g), grid1d(gx.size));
  return gx;
}
