// Elementwise ops, activations, GLU, layer norm, losses, reductions, pooling and the AdamW update.
// Every op records into a Batch and returns new pooled tensors (the caller releases them). Backward rules sit next
// to their forward op. Shapes are written on the line that makes each tensor.
import { type Batch, type GpuRuntime, type GpuTensor, Params, grid1d, numel } from '../runtime.js';
import { WGSL_GID, WGSL_MATH } from '../wgsl-lib.js';

// ---- generic elementwise map ------------------------------------------------------------------------------------

/**
 * Builds an elementwise kernel with `nIn` inputs x0.., `nOut` outputs y0.. and four f32 scalars s0..s3.
 * `body` is WGSL that reads `x0..` (f32 values at index i) and assigns `y0..`.
 */
function mapKernel(nIn: number, nOut: number, body: string): string {
  const ins = Array.from({ length: nIn }, (_, k) => `@group(0) @binding(${k}) var<storage, read> in${k}: array<f32>;`);
  const outs = Array.from(
    { length: nOut },
    (_, k) => `@group(0) @binding(${nIn + k}) var<storage, read_write> out${k}: array<f32>;`,
  );
  const reads = Array.from({ length: nIn }, (_, k) => `let x${k} = in${k}[i];`).join(' ');
  const decls = Array.from({ length: nOut }, (_, k) => `var y${k}: f32;`).join(' ');
  const writes = Array.from({ length: nOut }, (_, k) => `out${k}[i] = y${k};`).join(' ');
  return `${WGSL_MATH}${WGSL_GID}
${ins.join('\n')}
${outs.join('\n')}
struct P { n: u32, s0: f32, s1: f32, s2: f32, s3: f32 }
@group(0) @binding(${nIn + nOut}) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.n) { return; }
  let s0 = p.s0; let s1 = p.s1; let s2 = p.s2; let s3 = p.s3;
  ${reads}
  ${decls}
  ${body}
  ${writes}
}`;
}

const mapCache = new Map<string, string>();
function mapCode(nIn: number, nOut: number, body: string): string {
  const key = `${nIn}|${nOut}|${body}`;
  let c = mapCache.get(key);
  if (!c) {
    c = mapKernel(nIn, nOut, body);
    mapCache.set(key, c);
  }
  return c;
}

function sameShape(op: string, ...ts: GpuTensor[]): void {
  const n = ts[0]?.size ?? 0;
  for (const t of ts) {
    if (t.size !== n)
      throw new RangeError(`${op}: size mismatch (${ts.map((x) => `[${x.shape.join(',')}]`).join(' vs ')})`);
  }
}

/** Runs an elementwise body over same-size inputs; returns `nOut` new tensors shaped like the first input. */
export function map(
  rt: GpuRuntime,
  b: Batch,
  label: string,
  inputs: GpuTensor[],
  nOut: number,
  body: string,
  scalars: readonly number[] = [],
): GpuTensor[] {
  sameShape(label, ...inputs);
  const first = inputs[0];
  if (!first) throw new RangeError(`${label}: no inputs`);
  const outs = Array.from({ length: nOut }, () => rt.alloc(first.shape));
  const p = new Params().u32(first.size);
  for (let k = 0; k < 4; k++) p.f32(scalars[k] ?? 0);
  b.dispatch({ code: mapCode(inputs.length, nOut, body), label }, [...inputs, ...outs], p, grid1d(first.size));
  return outs;
}

function one(ts: GpuTensor[]): GpuTensor {
  const t = ts[0];
  if (!t) throw new Error('internal: missing output');
  return t;
}
function two(ts: GpuTensor[]): [GpuTensor, GpuTensor] {
  const [a, c] = ts;
  if (!a || !c) throw new Error('internal: missing outputs');
  return [a, c];
}

// ---- elementwise ------------------------------------------------------------------------------------------------

export const add = (rt: GpuRuntime, b: Batch, x: GpuTensor, y: GpuTensor): GpuTensor =>
  one(map(rt, b, 'add', [x, y], 1, 'y0 = x0 + x1;'));
/** add backward: dx = g, dy = g (the caller may reuse g directly; this makes copies for an explicit graph). */
export const addBackward = (rt: GpuRuntime, b: Batch, g: GpuTensor): [GpuTensor, GpuTensor] =>
  two(map(rt, b, 'add_bwd', [g], 2, 'y0 = x0; y1 = x0;'));
export const mul = (rt: GpuRuntime, b: Batch, x: GpuTensor, y: GpuTensor): GpuTensor =>
  one(map(rt, b, 'mul', [x, y], 1, 'y0 = x0 * x1;'));
/** mul backward: dx = g * y, dy = g * x. */
export const mulBackward = (
  rt: GpuRuntime,
  b: Batch,
  g: GpuTensor,
  x: GpuTensor,
  y: GpuTensor,
): [GpuTensor, GpuTensor] => two(map(rt, b, 'mul_bwd', [g, x, y], 2, 'y0 = x0 * x2; y1 = x0 * x1;'));
/** out = x * alpha (scalar). */
export const scale = (rt: GpuRuntime, b: Batch, x: GpuTensor, alpha: number): GpuTensor =>
  one(map(rt, b, 'scale', [x], 1, 'y0 = x0 * s0;', [alpha]));

// ---- activations ------------------------------------------------------------------------------------------------

/** GELU with the exact erf: 0.5 x (1 + erf(x / sqrt 2)). */
export const gelu = (rt: GpuRuntime, b: Batch, x: GpuTensor): GpuTensor =>
  one(map(rt, b, 'gelu', [x], 1, 'y0 = 0.5 * x0 * one_plus_erf(x0 * 0.70710678118654752);'));
/** GELU backward: g * (0.5 (1 + erf(x/sqrt2)) + x * exp(-x^2/2) / sqrt(2 pi)). */
export const geluBackward = (rt: GpuRuntime, b: Batch, g: GpuTensor, x: GpuTensor): GpuTensor =>
  one(
    map(
      rt,
      b,
      'gelu_bwd',
      [g, x],
      1,
      'y0 = x0 * (0.5 * one_plus_erf(x1 * 0.70710678118654752) + x1 * exp(-0.5 * x1 * x1) * 0.39894228040143268);',
    ),
  );

/** SiLU: x * sigmoid(x). */
export const silu = (rt: GpuRuntime, b: Batch, x: GpuTensor): GpuTensor =>
  one(map(rt, b, 'silu', [x], 1, 'y0 = x0 / (1.0 + exp(-x0));'));
/** SiLU backward: g * s (1 + x (1 - s)), s = sigmoid(x). */
export const siluBackward = (rt: GpuRuntime, b: Batch, g: GpuTensor, x: GpuTensor): GpuTensor =>
  one(map(rt, b, 'silu_bwd', [g, x], 1, 'let s = 1.0 / (1.0 + exp(-x1)); y0 = x0 * s * (1.0 + x1 * (1.0 - s));'));

/** ReLU: max(x, 0). */
export const relu = (rt: GpuRuntime, b: Batch, x: GpuTensor): GpuTensor =>
  one(map(rt, b, 'relu', [x], 1, 'y0 = max(x0, 0.0);'));
/** ReLU backward: g * [x > 0]. */
export const reluBackward = (rt: GpuRuntime, b: Batch, g: GpuTensor, x: GpuTensor): GpuTensor =>
  one(map(rt, b, 'relu_bwd', [g, x], 1, 'y0 = select(0.0, x0, x1 > 0.0);'));
/** Sigmoid: 1 / (1 + exp(-x)). */
export const sigmoid = (rt: GpuRuntime, b: Batch, x: GpuTensor): GpuTensor =>
  one(map(rt, b, 'sigmoid', [x], 1, 'y0 = 1.0 / (1.0 + exp(-x0));'));
/** Sigmoid backward: g * s (1 - s). */
export const sigmoidBackward = (rt: GpuRuntime, b: Batch, g: GpuTensor, x: GpuTensor): GpuTensor =>
  one(map(rt, b, 'sigmoid_bwd', [g, x], 1, 'let s = 1.0 / (1.0 + exp(-x1)); y0 = x0 * s * (1.0 - s);'));

// ---- GLU --------------------------------------------------------------------------------------------------------

const GLU_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
struct P { outer: u32, half: u32, backward: u32 }
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.outer * p.half) { return; }
  let o = i / p.half;
  let j = i % p.half;
  let ia = o * 2u * p.half + j;
  let ib = ia + p.half;
  let a = x[ia];
  let s = 1.0 / (1.0 + exp(-x[ib]));
  if (p.backward == 0u) {
    out[i] = a * s;
  } else {
    let gi = g[i];
    out[ia] = gi * s;
    out[ib] = gi * a * s * (1.0 - s);
  }
}`;

/**
 * GLU over a split axis: x viewed as (outer, 2, half) -> (outer, half), out = a * sigmoid(b).
 * Channels-last (M, 2H): outer = M, half = H. Channels-first (B, 2H, L): outer = B, half = H * L.
 */
export function glu(rt: GpuRuntime, b: Batch, x: GpuTensor, outer: number, half: number): GpuTensor {
  if (x.size !== outer * 2 * half)
    throw new RangeError(`glu: size ${x.size} is not outer*2*half = ${outer * 2 * half}`);
  const out = rt.alloc([outer, half]); // (outer, half)
  b.dispatch(
    { code: GLU_CODE, label: 'glu' },
    [x, x, out],
    new Params().u32(outer).u32(half).u32(0),
    grid1d(outer * half),
  );
  return out;
}
/** GLU backward: da = g * s, db = g * a * s (1 - s). Returns dx shaped like x. */
export function gluBackward(
  rt: GpuRuntime,
  b: Batch,
  g: GpuTensor,
  x: GpuTensor,
  outer: number,
  half: number,
): GpuTensor {
  const dx = rt.alloc(x.shape); // (outer, 2, half)
  b.dispatch(
    { code: GLU_CODE, label: 'glu_bwd' },
    [x, g, dx],
    new Params().u32(outer).u32(half).u32(1),
    grid1d(outer * half),
  );
  return dx;
}

// ---- reductions -------------------------------------------------------------------------------------------------

const REDUCE_AXIS_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct P { outer: u32, r: u32, inner: u32, scale: f32, accumulate: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.outer * p.inner) { return; }
  let o = i / p.inner;
  let j = i % p.inner;
  var acc = 0.0;
  for (var k = 0u; k < p.r; k++) { acc += x[(o * p.r + k) * p.inner + j]; }
  var v = acc * p.scale;
  if (p.accumulate != 0u) { v += out[i]; }
  out[i] = v;
}`;

/** Sum over the middle axis of x viewed as (outer, r, inner), times `scale` -> (outer, inner). */
export function reduceAxis(
  rt: GpuRuntime,
  b: Batch,
  x: GpuTensor,
  outer: number,
  r: number,
  inner: number,
  scale = 1,
  into?: GpuTensor,
): GpuTensor {
  if (x.size !== outer * r * inner) throw new RangeError(`reduceAxis: size ${x.size} != ${outer}*${r}*${inner}`);
  const out = into ?? rt.alloc([outer, inner]); // (outer, inner)
  const p = new Params()
    .u32(outer)
    .u32(r)
    .u32(inner)
    .f32(scale)
    .u32(into ? 1 : 0);
  b.dispatch({ code: REDUCE_AXIS_CODE, label: 'reduce_axis' }, [x, out], p, grid1d(outer * inner));
  return out;
}

const SUM_ALL_CODE = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct P { n: u32, scale: f32 }
@group(0) @binding(2) var<uniform> p: P;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += 256u) { acc += x[i]; }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] += part[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = part[0] * p.scale; }
}`;

/** Sum of all elements times `scale`, as a 1-element tensor (one workgroup; fine for loss-sized inputs). */
export function sumAll(rt: GpuRuntime, b: Batch, x: GpuTensor, scale = 1): GpuTensor {
  const out = rt.alloc([1]); // ()
  b.dispatch({ code: SUM_ALL_CODE, label: 'sum_all' }, [x, out], new Params().u32(x.size).f32(scale), [1, 1, 1]);
  return out;
}

const BROADCAST_AXIS_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct P { outer: u32, r: u32, inner: u32, scale: f32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.outer * p.r * p.inner) { return; }
  let j = i % p.inner;
  let o = i / (p.r * p.inner);
  out[i] = g[o * p.inner + j] * p.scale;
}`;

/** Broadcast (outer, inner) to (outer, r, inner) times `scale` (the backward of reduceAxis). */
export function broadcastAxis(
  rt: GpuRuntime,
  b: Batch,
  g: GpuTensor,
  outer: number,
  r: number,
  inner: number,
  scale = 1,
): GpuTensor {
  const out = rt.alloc([outer, r, inner]); // (outer, r, inner)
  b.dispatch(
    { code: BROADCAST_AXIS_CODE, label: 'broadcast_axis' },
    [g, out],
    new Params().u32(outer).u32(r).u32(inner).f32(scale),
    grid1d(out.size),
  );
  return out;
}

/**
 * Global average pooling of x viewed as (outer, S, inner) over S.
 * Channels-first (B, C, S): outer = B*C, inner = 1. Channels-last (B, S, C): outer = B, inner = C.
 */
export const globalAvgPool = (
  rt: GpuRuntime,
  b: Batch,
  x: GpuTensor,
  outer: number,
  s: number,
  inner: number,
): GpuTensor => reduceAxis(rt, b, x, outer, s, inner, 1 / s);
/** Global average pooling backward: dx[o, s, i] = g[o, i] / S. */
export const globalAvgPoolBackward = (
  rt: GpuRuntime,
  b: Batch,
  g: GpuTensor,
  outer: number,
  s: number,
  inner: number,
): GpuTensor => broadcastAxis(rt, b, g, outer, s, inner, 1 / s);

// ---- layer norm over the channel axis ------------------------------------------------------------------------
// x is viewed as (outer, C, inner) and normalised over C at every (outer, inner) position:
// channels-last (rows, C): outer = rows, inner = 1; channels-first (B, C, S): outer = B, inner = S.
// One workgroup per position; C is read with stride `inner`.

const LN_COMMON = `
struct P { outer: u32, c: u32, inner: u32, eps: f32 }
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
}`;

const LAYERNORM_FWD_CODE = `${LN_COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let pos = wid.x + wid.y * nwg.x;
  if (pos >= p.outer * p.inner) { return; }
  let base = (pos / p.inner) * p.c * p.inner + pos % p.inner;
  var s = 0.0;
  for (var k = lid; k < p.c; k += 256u) { s += x[base + k * p.inner]; }
  let mean = wg_sum(lid, s) / f32(p.c);
  var v = 0.0;
  for (var k = lid; k < p.c; k += 256u) { let d = x[base + k * p.inner] - mean; v += d * d; }
  let rstd = inverseSqrt(wg_sum(lid, v) / f32(p.c) + p.eps);
  for (var k = lid; k < p.c; k += 256u) {
    let i = base + k * p.inner;
    y[i] = (x[i] - mean) * rstd * gamma[k] + beta[k];
  }
  if (lid == 0u) { stats[2u * pos] = mean; stats[2u * pos + 1u] = rstd; }
}`;

const LAYERNORM_BWD_CODE = `${LN_COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> gxhat: array<f32>;
@group(0) @binding(6) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let pos = wid.x + wid.y * nwg.x;
  if (pos >= p.outer * p.inner) { return; }
  let base = (pos / p.inner) * p.c * p.inner + pos % p.inner;
  let mean = stats[2u * pos];
  let rstd = stats[2u * pos + 1u];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var k = lid; k < p.c; k += 256u) {
    let i = base + k * p.inner;
    let xh = (x[i] - mean) * rstd;
    let gg = g[i] * gamma[k];
    s1 += gg;
    s2 += gg * xh;
    gxhat[i] = g[i] * xh;
  }
  let m1 = wg_sum(lid, s1) / f32(p.c);
  let m2 = wg_sum(lid, s2) / f32(p.c);
  for (var k = lid; k < p.c; k += 256u) {
    let i = base + k * p.inner;
    let xh = (x[i] - mean) * rstd;
    dx[i] = rstd * (g[i] * gamma[k] - m1 - xh * m2);
  }
}`;

function rowGrid(rows: number): [number, number, number] {
  return rows <= 65535 ? [rows, 1, 1] : [65535, Math.ceil(rows / 65535), 1];
}

/** Shape of a layer-norm input as (outer, C, inner). */
export interface ChannelView {
  outer: number;
  c: number;
  /** 1 for channels-last, the spatial size for channels-first. */
  inner: number;
}

export interface LayerNormSaved {
  /** (outer * inner, 2): mean and 1/sqrt(var + eps) per position. */
  stats: GpuTensor;
}

/** Layer norm over C of x viewed as (outer, C, inner): y = (x - mean) / sqrt(var + eps) * gamma + beta. */
export function layerNorm(
  rt: GpuRuntime,
  b: Batch,
  x: GpuTensor,
  gamma: GpuTensor,
  beta: GpuTensor,
  v: ChannelView,
  eps = 1e-5,
): { y: GpuTensor; saved: LayerNormSaved } {
  if (x.size !== v.outer * v.c * v.inner || gamma.size !== v.c || beta.size !== v.c) {
    throw new RangeError(
      `layerNorm: x has ${x.size} values, gamma ${gamma.size}, beta ${beta.size}; view ${JSON.stringify(v)}`,
    );
  }
  const y = rt.alloc(x.shape); // (outer, C, inner)
  const stats = rt.alloc([v.outer * v.inner, 2]); // (outer * inner, 2)
  b.dispatch(
    { code: LAYERNORM_FWD_CODE, label: 'layernorm' },
    [x, gamma, beta, y, stats],
    new Params().u32(v.outer).u32(v.c).u32(v.inner).f32(eps),
    rowGrid(v.outer * v.inner),
  );
  return { y, saved: { stats } };
}

/**
 * Layer norm backward: dx = rstd (g gamma - mean_C(g gamma) - xhat mean_C(g gamma xhat)),
 * dgamma = sum over (outer, inner) of g xhat, dbeta = sum of g.
 */
export function layerNormBackward(
  rt: GpuRuntime,
  b: Batch,
  g: GpuTensor,
  x: GpuTensor,
  gamma: GpuTensor,
  saved: LayerNormSaved,
  v: ChannelView,
): { dx: GpuTensor; dgamma: GpuTensor; dbeta: GpuTensor } {
  const dx = rt.alloc(x.shape); // (outer, C, inner)
  const gxhat = rt.alloc(x.shape); // (outer, C, inner)
  b.dispatch(
    { code: LAYERNORM_BWD_CODE, label: 'layernorm_bwd' },
    [x, gamma, saved.stats, g, dx, gxhat],
    new Params().u32(v.outer).u32(v.c).u32(v.inner).f32(0),
    rowGrid(v.outer * v.inner),
  );
  const sumOuterInner = (t: GpuTensor): GpuTensor => {
    const s1 = reduceAxis(rt, b, t, 1, v.outer, v.c * v.inner); // (C * inner)
    const s2 = reduceAxis(rt, b, s1, v.c, v.inner, 1); // (C)
    rt.release(s1);
    return s2;
  };
  const dgamma = sumOuterInner(gxhat);
  const dbeta = sumOuterInner(g);
  rt.release(gxhat);
  return { dx, dgamma, dbeta };
}

// ---- losses -----------------------------------------------------------------------------------------------------

const SOFTMAX_CE_CODE = `
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> rowloss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;
struct P { rows: u32, k: u32, smoothing: f32, gscale: f32 }
@group(0) @binding(4) var<uniform> p: P;
var<workgroup> part: array<f32, 256>;
fn wg_reduce(lid: u32, v: f32, is_max: bool) -> f32 {
  part[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) { part[lid] = select(part[lid] + part[lid + s], max(part[lid], part[lid + s]), is_max); }
    workgroupBarrier();
  }
  let r = part[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.k;
  let label = labels[row];
  let off = p.smoothing / f32(p.k);
  var m = -3.4e38;
  for (var j = lid; j < p.k; j += 256u) { m = max(m, z[base + j]); }
  m = wg_reduce(lid, m, true);
  var se = 0.0;
  var qz = 0.0;
  for (var j = lid; j < p.k; j += 256u) {
    let v = z[base + j];
    se += exp(v - m);
    qz += (off + select(0.0, 1.0 - p.smoothing, j == label)) * v;
  }
  let lse = m + log(wg_reduce(lid, se, false));
  qz = wg_reduce(lid, qz, false);
  if (lid == 0u) { rowloss[row] = lse - qz; }
  for (var j = lid; j < p.k; j += 256u) {
    let q = off + select(0.0, 1.0 - p.smoothing, j == label);
    dz[base + j] = (exp(z[base + j] - lse) - q) * p.gscale;
  }
}`;

/**
 * Softmax cross-entropy with label smoothing, mean over rows, fused with its backward.
 * z: (rows, K) logits; labels: (rows) u32. Target q = (1 - eps) onehot + eps / K.
 * loss = mean_rows (logsumexp(z) - sum_k q_k z_k); dz = (softmax(z) - q) * gLoss / rows.
 */
export function softmaxCrossEntropy(
  rt: GpuRuntime,
  b: Batch,
  z: GpuTensor,
  labels: GpuTensor,
  rows: number,
  k: number,
  smoothing = 0,
  gLoss = 1,
): { loss: GpuTensor; dz: GpuTensor } {
  if (z.size !== rows * k || labels.size !== rows || labels.dtype !== 'u32') {
    throw new RangeError('softmaxCrossEntropy: expected z (rows, K) f32 and labels (rows) u32');
  }
  const rowloss = rt.alloc([rows]); // (rows)
  const dz = rt.alloc(z.shape); // (rows, K)
  b.dispatch(
    { code: SOFTMAX_CE_CODE, label: 'softmax_ce' },
    [z, labels, rowloss, dz],
    new Params()
      .u32(rows)
      .u32(k)
      .f32(smoothing)
      .f32(gLoss / rows),
    rowGrid(rows),
  );
  const loss = sumAll(rt, b, rowloss, 1 / rows); // ()
  rt.release(rowloss);
  return { loss, dz };
}

/** Mean squared error mean((x - t)^2) and its gradient 2 (x - t) gLoss / n. */
export function mseLoss(
  rt: GpuRuntime,
  b: Batch,
  x: GpuTensor,
  t: GpuTensor,
  gLoss = 1,
): { loss: GpuTensor; dx: GpuTensor } {
  const n = x.size;
  const [sq, dx] = two(map(rt, b, 'mse', [x, t], 2, 'let d = x0 - x1; y0 = d * d; y1 = d * s0;', [(2 * gLoss) / n]));
  const loss = sumAll(rt, b, sq, 1 / n);
  rt.release(sq);
  return { loss, dx };
}

/** Mean absolute error mean|x - t| and its gradient sign(x - t) gLoss / n (sign(0) = 0, as PyTorch). */
export function l1Loss(
  rt: GpuRuntime,
  b: Batch,
  x: GpuTensor,
  t: GpuTensor,
  gLoss = 1,
): { loss: GpuTensor; dx: GpuTensor } {
  const n = x.size;
  const [ab, dx] = two(map(rt, b, 'l1', [x, t], 2, 'let d = x0 - x1; y0 = abs(d); y1 = sign(d) * s0;', [gLoss / n]));
  const loss = sumAll(rt, b, ab, 1 / n);
  rt.release(ab);
  return { loss, dx };
}

/**
 * Binary cross-entropy on logits, mean over elements: max(z, 0) - z t + log(1 + exp(-|z|)); gradient
 * (sigmoid(z) - t) gLoss / n. log1p is evaluated by its series when exp(-|z|) < 1e-4 (WGSL has no log1p).
 */
export function bceWithLogits(
  rt: GpuRuntime,
  b: Batch,
  z: GpuTensor,
  t: GpuTensor,
  gLoss = 1,
): { loss: GpuTensor; dx: GpuTensor } {
  const n = z.size;
  const [l, dx] = two(
    map(
      rt,
      b,
      'bce_logits',
      [z, t],
      2,
      `let e = exp(-abs(x0));
  let lp = select(log(1.0 + e), e * (1.0 - 0.5 * e), e < 1e-4);
  y0 = max(x0, 0.0) - x0 * x1 + lp;
  y1 = (1.0 / (1.0 + exp(-x0)) - x1) * s0;`,
      [gLoss / n],
    ),
  );
  const loss = sumAll(rt, b, l, 1 / n);
  rt.release(l);
  return { loss, dx };
}

// ---- AdamW ------------------------------------------------------------------------------------------------------

const ADAMW_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
struct P { n: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, decay: f32, bc1: f32, bc2: f32, omb1: f32, omb2: f32 }
@group(0) @binding(4) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.n) { return; }
  let g = grad[i];
  let mi = p.beta1 * m[i] + p.omb1 * g;
  let vi = p.beta2 * v[i] + p.omb2 * g * g;
  m[i] = mi;
  v[i] = vi;
  let w = param[i] * p.decay;
  param[i] = w - p.lr * (mi / p.bc1) / (sqrt(vi / p.bc2) + p.eps);
}`;

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 1-based step count (for bias correction). */
  step: number;
}

/**
 * In-place AdamW (PyTorch semantics): p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 */
export function adamW(b: Batch, param: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, o: AdamWOptions): void {
  sameShape('adamW', param, grad, m, v);
  const beta1 = o.beta1 ?? 0.9;
  const beta2 = o.beta2 ?? 0.999;
  const p = new Params()
    .u32(param.size)
    .f32(o.lr)
    .f32(beta1)
    .f32(beta2)
    .f32(o.eps ?? 1e-8)
    .f32(1 - o.lr * (o.weightDecay ?? 0.01))
    .f32(1 - Math.pow(beta1, o.step))
    .f32(1 - Math.pow(beta2, o.step))
    // 1 - beta in float64 then rounded (as PyTorch passes it): 1 - fround(0.999) in float32 would be off by 1e-5.
    .f32(1 - beta1)
    .f32(1 - beta2);
  b.dispatch({ code: ADAMW_CODE, label: 'adamw' }, [param, grad, m, v], p, grid1d(param.size));
}

export { numel };
