// Batched tiled matmul with workgroup memory: C = op(A) op(B) (+ bias) (+ C when accumulating).
// op(A) is A (M, K) or, with transA, A stored as (K, M); op(B) is B (K, N) or, with transB, B stored as (N, K).
// Each 16x16 workgroup computes one 16x16 tile of C, staging 16x16 tiles of A and B in workgroup memory.
// Batch: workgroup z indexes the batch; strides (in elements) may be 0 to broadcast an operand.
import { type Batch, type GpuRuntime, type GpuTensor, Params } from '../runtime.js';
import { reduceAxis } from './basic.js';

const TILE = 16;

const MATMUL_CODE = `
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override BIAS_ROWS: bool = false;
override ACCUMULATE: bool = false;
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
struct P { m: u32, n: u32, k: u32, sa: u32, sb: u32, sc: u32 }
@group(0) @binding(4) var<uniform> p: P;
var<workgroup> As: array<array<f32, ${TILE}>, ${TILE}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TILE}>;
@compute @workgroup_size(${TILE}, ${TILE})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let row = wid.y * ${TILE}u + lid.y;
  let col = wid.x * ${TILE}u + lid.x;
  let oa = wid.z * p.sa;
  let ob = wid.z * p.sb;
  var acc = 0.0;
  let tiles = (p.k + ${TILE - 1}u) / ${TILE}u;
  for (var t = 0u; t < tiles; t++) {
    let ka = t * ${TILE}u + lid.x;
    var av = 0.0;
    if (row < p.m && ka < p.k) { av = A[oa + select(row * p.k + ka, ka * p.m + row, TRANS_A)]; }
    As[lid.y][lid.x] = av;
    let kb = t * ${TILE}u + lid.y;
    var bv = 0.0;
    if (kb < p.k && col < p.n) { bv = B[ob + select(kb * p.n + col, col * p.k + kb, TRANS_B)]; }
    Bs[lid.y][lid.x] = bv;
    workgroupBarrier();
    for (var q = 0u; q < ${TILE}u; q++) { acc += As[lid.y][q] * Bs[q][lid.x]; }
    workgroupBarrier();
  }
  if (row < p.m && col < p.n) {
    let ci = wid.z * p.sc + row * p.n + col;
    var v = acc;
    if (HAS_BIAS) { v += bias[select(col, row, BIAS_ROWS)]; }
    if (ACCUMULATE) { v += C[ci]; }
    C[ci] = v;
  }
}`;

export interface MatmulOptions {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  /** (N), added to every row; or (M), added to every column, with biasPerRow. */
  bias?: GpuTensor;
  /** Bias indexed by output row: the channels-first pointwise linear W (O, I) x_b (I, S) + bias[o]. */
  biasPerRow?: boolean;
  /** Number of matrices; A/B strides default to a full matrix each, 0 broadcasts. */
  batch?: number;
  strideA?: number;
  strideB?: number;
  /** Add into this tensor instead of allocating the output. */
  accumulateInto?: GpuTensor;
}

/** C (batch, M, N) = op(A) op(B) (+ bias). */
export function matmul(rt: GpuRuntime, b: Batch, A: GpuTensor, B: GpuTensor, o: MatmulOptions): GpuTensor {
  const batch = o.batch ?? 1;
  const sa = o.strideA ?? o.m * o.k;
  const sb = o.strideB ?? o.k * o.n;
  if (A.size < sa * (batch - 1) + o.m * o.k)
    throw new RangeError(`matmul: A has ${A.size} elements, too few for M=${o.m} K=${o.k} batch=${batch}`);
  if (B.size < sb * (batch - 1) + o.k * o.n)
    throw new RangeError(`matmul: B has ${B.size} elements, too few for K=${o.k} N=${o.n} batch=${batch}`);
  const biasLen = o.biasPerRow ? o.m : o.n;
  if (o.bias && o.bias.size !== biasLen) {
    throw new RangeError(`matmul: bias has ${o.bias.size} elements, expected ${o.biasPerRow ? 'M' : 'N'}=${biasLen}`);
  }
  const C = o.accumulateInto ?? rt.alloc(batch === 1 ? [o.m, o.n] : [batch, o.m, o.n]); // (batch, M, N)
  b.dispatch(
    {
      code: MATMUL_CODE,
      label: 'matmul',
      constants: {
        TRANS_A: o.transA ? 1 : 0,
        TRANS_B: o.transB ? 1 : 0,
        HAS_BIAS: o.bias ? 1 : 0,
        BIAS_ROWS: o.biasPerRow ? 1 : 0,
        ACCUMULATE: o.accumulateInto ? 1 : 0,
      },
    },
    [A, B, o.bias ?? rt.dummy(), C],
    new Params()
      .u32(o.m)
      .u32(o.n)
      .u32(o.k)
      .u32(sa)
      .u32(sb)
      .u32(o.m * o.n),
    [Math.ceil(o.n / TILE), Math.ceil(o.m / TILE), batch],
  );
  return C;
}

/**
 * Backward of Y = A B + bias for A (M, K), B (K, N) (no transposes, batch 1):
 * dA = dY B^T (M, K), dB = A^T dY (K, N), dbias = sum_rows dY (N).
 */
export function matmulBackward(
  rt: GpuRuntime,
  b: Batch,
  dY: GpuTensor,
  A: GpuTensor,
  B: GpuTensor,
  m: number,
  n: number,
  k: number,
  withBias: boolean,
): { dA: GpuTensor; dB: GpuTensor; dbias: GpuTensor | null } {
  const dA = matmul(rt, b, dY, B, { m, n: k, k: n, transB: true }); // (M, K)
  const dB = matmul(rt, b, A, dY, { m: k, n, k: m, transA: true }); // (K, N)
  const dbias = withBias ? reduceAxis(rt, b, dY, 1, m, n) : null; // (N)
  return { dA, dB, dbias };
}
