// FFTs in WGSL: mixed-radix Stockham along any axis of a complex tensor, for any length up to maxFftLength()
// (1024 with WebGPU's default limits).
//
// One workgroup transforms one line, held in workgroup memory (2 P complex values, ping-pong). P is factored into
// radices 4, 2, 3, 5, 7, ... (any prime): a stage of radix R does P/R butterflies, each a direct R-point DFT with
// the twiddles folded in, so a prime length simply becomes one O(P^2) stage, the "DFT by matrix" fallback.
// Twiddles exp(-2 pi i t / P) are computed on the host in float64 and uploaded: SwiftShader's sin/cos (~2e-4) never
// touch the transform, which is therefore accurate to float32 rounding (relative error ~1e-7).
// Complex tensors are f32 with a trailing axis of size 2 (re, im). Real FFTs are a complex transform of the
// zero-imaginary line, keeping P/2+1 bins (no two-for-one packing yet).
import { type Batch, type GpuRuntime, type GpuTensor, Params, grid1d } from '../runtime.js';
import { WGSL_GID } from '../wgsl-lib.js';

/**
 * Longest line one workgroup can transform: two complex float32 buffers of P values must fit in workgroup memory
 * (16 KiB, WebGPU's default limit, gives 1024; SwiftShader offers 32 KiB, so 2048).
 */
export function maxFftLength(rt: GpuRuntime): number {
  return Math.floor(rt.device.limits.maxComputeWorkgroupStorageSize / 16);
}

/** Radix stages for length n: 4s first, then 2, then odd primes ascending. */
export function fftRadices(n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`fft: length ${n} is not a positive integer`);
  const out: number[] = [];
  let m = n;
  while (m % 4 === 0) {
    out.push(4);
    m /= 4;
  }
  if (m % 2 === 0) {
    out.push(2);
    m /= 2;
  }
  for (let f = 3; m > 1; f += 2) {
    while (m % f === 0) {
      out.push(f);
      m /= f;
    }
    if (f * f > m && m > 1) {
      out.push(m);
      m = 1;
    }
  }
  return out;
}

const FFT_CODE = `
override MAXP: u32 = 64u;
@group(0) @binding(0) var<storage, read_write> data: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read> tw: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> stages: array<u32>;
struct P { len: u32, inner: u32, lines: u32, nstages: u32, inverse: u32, scale: f32 }
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> buf: array<vec2<f32>, 2u * MAXP>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let line = wid.x + wid.y * nwg.x;
  if (line >= p.lines) { return; }
  let n = p.len;
  let o = line / p.inner;
  let i = line % p.inner;
  let base = o * n * p.inner + i;
  for (var k = lid; k < n; k += 64u) { buf[k] = data[base + k * p.inner]; }
  workgroupBarrier();
  var src = 0u;
  var ns = 1u;
  let sgn = select(1.0, -1.0, p.inverse != 0u);
  for (var s = 0u; s < p.nstages; s++) {
    let r = stages[s];
    let nb = n / r;
    let step = n / (ns * r);
    let dst = n - src;
    for (var j = lid; j < nb; j += 64u) {
      let kk = j % ns;
      let idx_d = (j / ns) * ns * r + kk;
      for (var t = 0u; t < r; t++) {
        let e0 = kk * step + t * nb;
        var acc = vec2<f32>(0.0, 0.0);
        for (var q = 0u; q < r; q++) {
          let w = tw[(q * e0) % n];
          let x = buf[src + j + q * nb];
          let ws = vec2<f32>(w.x, sgn * w.y);
          acc += vec2<f32>(x.x * ws.x - x.y * ws.y, x.x * ws.y + x.y * ws.x);
        }
        buf[dst + idx_d + t * ns] = acc;
      }
    }
    workgroupBarrier();
    src = dst;
    ns *= r;
  }
  for (var k = lid; k < n; k += 64u) { data[base + k * p.inner] = buf[src + k] * p.scale; }
}`;

interface FftPlan {
  n: number;
  radices: number[];
  twiddles: GpuTensor;
  stages: GpuTensor;
}

const plans = new WeakMap<GpuRuntime, Map<number, FftPlan>>();

function plan(rt: GpuRuntime, n: number): FftPlan {
  const max = maxFftLength(rt);
  if (n > max) {
    throw new RangeError(
      `fft: length ${n} > ${max} (the device's workgroup memory holds 2 x ${max} complex values); use the CPU engine`,
    );
  }
  let m = plans.get(rt);
  if (!m) {
    m = new Map();
    plans.set(rt, m);
  }
  let pl = m.get(n);
  if (!pl) {
    const tw = new Float32Array(2 * n);
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * t) / n;
      tw[2 * t] = Math.cos(a);
      tw[2 * t + 1] = Math.sin(a);
    }
    const radices = fftRadices(n);
    // Cached for the runtime's lifetime: never part of a step's allocation scope.
    pl = rt.untracked(() => ({
      n,
      radices,
      twiddles: rt.upload(tw, [n, 2]),
      stages: rt.upload(Uint32Array.from(radices.length ? radices : [1]), [Math.max(1, radices.length)]),
    }));
    m.set(n, pl);
  }
  return pl;
}

function lineGrid(lines: number): [number, number, number] {
  return lines <= 65535 ? [lines, 1, 1] : [65535, Math.ceil(lines / 65535), 1];
}

/**
 * In-place complex FFT along one axis of `data`, viewed as (outer, len, inner, 2).
 * Forward: X[f] = sum_t x[t] exp(-2 pi i f t / len). Inverse: conjugate twiddles, times `scale` (default 1/len).
 */
export function fftAxis(
  rt: GpuRuntime,
  b: Batch,
  data: GpuTensor,
  outer: number,
  len: number,
  inner: number,
  inverse = false,
  scale?: number,
): void {
  if (data.size !== outer * len * inner * 2) {
    throw new RangeError(
      `fftAxis: tensor has ${data.size} values, expected outer*len*inner*2 = ${outer * len * inner * 2}`,
    );
  }
  const pl = plan(rt, len);
  const s = scale ?? (inverse ? 1 / len : 1);
  const params = new Params()
    .u32(len)
    .u32(inner)
    .u32(outer * inner)
    .u32(pl.radices.length)
    .u32(inverse ? 1 : 0)
    .f32(s);
  b.dispatch(
    { code: FFT_CODE, label: 'fft_axis', constants: { MAXP: len } },
    [data, pl.twiddles, pl.stages],
    params,
    lineGrid(outer * inner),
  );
}

/**
 * Backward of the forward `fftAxis` (in place on the gradient): with L = sum(Re Y gr + Im Y gi), the gradient pair
 * (dL/dRe x, dL/dIm x) is F^H g, i.e. the unscaled inverse transform of g.
 */
export function fftAxisBackward(
  rt: GpuRuntime,
  b: Batch,
  grad: GpuTensor,
  outer: number,
  len: number,
  inner: number,
): void {
  fftAxis(rt, b, grad, outer, len, inner, true, 1);
}

/**
 * In-place N-D complex FFT over the trailing axes `dims` of `data` (batch, ...dims, 2).
 */
export function fftN(
  rt: GpuRuntime,
  b: Batch,
  data: GpuTensor,
  batch: number,
  dims: readonly number[],
  inverse = false,
): void {
  for (let a = 0; a < dims.length; a++) {
    const len = dims[a] ?? 1;
    const outer = batch * dims.slice(0, a).reduce((x, y) => x * y, 1);
    const inner = dims.slice(a + 1).reduce((x, y) => x * y, 1);
    fftAxis(rt, b, data, outer, len, inner, inverse);
  }
}

const REAL_TO_COMPLEX_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec2<f32>>;
struct P { lines: u32, len: u32, plen: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.lines * p.plen) { return; }
  let l = i / p.plen;
  let t = i % p.plen;
  var v = 0.0;
  if (t < p.len) { v = x[l * p.len + t]; }
  out[i] = vec2<f32>(v, 0.0);
}`;

const HALF_SPECTRUM_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> full: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> half: array<vec2<f32>>;
struct P { lines: u32, plen: u32, nh: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.lines * p.nh) { return; }
  let l = i / p.nh;
  let f = i % p.nh;
  half[i] = full[l * p.plen + f];
}`;

const HERMITIAN_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> half: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> full: array<vec2<f32>>;
struct P { lines: u32, plen: u32, nh: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.lines * p.plen) { return; }
  let l = i / p.plen;
  let f = i % p.plen;
  var v: vec2<f32>;
  if (f < p.nh) { v = half[l * p.nh + f]; } else { let c = half[l * p.nh + (p.plen - f)]; v = vec2<f32>(c.x, -c.y); }
  // The DC and (even length) Nyquist bins of a real signal are real; drop any imaginary part, as numpy's irfft does.
  if (f == 0u || 2u * f == p.plen) { v.y = 0.0; }
  full[i] = v;
}`;

const REAL_PART_CODE = `${WGSL_GID}
@group(0) @binding(0) var<storage, read> z: array<vec2<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
struct P { lines: u32, plen: u32, len: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg);
  if (i >= p.lines * p.len) { return; }
  let l = i / p.len;
  let t = i % p.len;
  out[i] = z[l * p.plen + t].x;
}`;

/** Real FFT of `lines` rows of length `len`, zero-padded to `n`: returns (lines, n/2+1, 2). */
export function rfft(rt: GpuRuntime, b: Batch, x: GpuTensor, lines: number, len: number, n = len): GpuTensor {
  if (x.size !== lines * len) throw new RangeError(`rfft: ${x.size} values, expected lines*len = ${lines * len}`);
  if (n < len) throw new RangeError(`rfft: n = ${n} < len = ${len}`);
  const nh = Math.floor(n / 2) + 1;
  const full = rt.alloc([lines, n, 2]); // (lines, n, 2)
  b.dispatch(
    { code: REAL_TO_COMPLEX_CODE, label: 'real_to_complex' },
    [x, full],
    new Params().u32(lines).u32(len).u32(n),
    grid1d(lines * n),
  );
  fftAxis(rt, b, full, lines, n, 1);
  const half = rt.alloc([lines, nh, 2]); // (lines, n/2+1, 2)
  b.dispatch(
    { code: HALF_SPECTRUM_CODE, label: 'half_spectrum' },
    [full, half],
    new Params().u32(lines).u32(n).u32(nh),
    grid1d(lines * nh),
  );
  rt.release(full);
  return half;
}

/** Inverse real FFT: (lines, n/2+1, 2) -> (lines, len) with len <= n (the first len samples), scaled by 1/n. */
export function irfft(rt: GpuRuntime, b: Batch, X: GpuTensor, lines: number, n: number, len = n): GpuTensor {
  const nh = Math.floor(n / 2) + 1;
  if (X.size !== lines * nh * 2)
    throw new RangeError(`irfft: ${X.size} values, expected lines*(n/2+1)*2 = ${lines * nh * 2}`);
  const full = rt.alloc([lines, n, 2]); // (lines, n, 2)
  b.dispatch(
    { code: HERMITIAN_CODE, label: 'hermitian' },
    [X, full],
    new Params().u32(lines).u32(n).u32(nh),
    grid1d(lines * n),
  );
  fftAxis(rt, b, full, lines, n, 1, true);
  const out = rt.alloc([lines, len]); // (lines, len)
  b.dispatch(
    { code: REAL_PART_CODE, label: 'real_part' },
    [full, out],
    new Params().u32(lines).u32(n).u32(len),
    grid1d(lines * len),
  );
  rt.release(full);
  return out;
}
