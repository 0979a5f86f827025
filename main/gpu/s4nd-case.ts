// Runs an S4ND reference case (main/engine/s4nd-case.ts parses it) on the WebGPU backend, for
// `npm run s4nd:check -- --backend webgpu`. Same measure and tolerances as the CPU runner (max|ours - ref| / max|ref|
// against the official float32 outputs: OUTPUT_TOL for y and kernels, GRAD_TOL for gradients).
//
// Everything runs on the GPU: S4D (ZOH) and DPLR kernel generation (ops/dplr.ts, from C~ when the case gives
// l_kernel), the bidirectional FFT convolution, the D skip and the linear=false head (GELU -> Linear -> GLU), forward
// and backward. A DPLR case without l_kernel (C not yet rewritten to C~, a float64 CPU step) takes its kernels from
// the CPU engine and returns dk to the CPU's DPLR backward (the result says so in `notes`).
import { CaseError, GRAD_TOL, OUTPUT_TOL, packParams, type CheckResult, type S4ndCase } from '../engine/s4nd-case.js';
import type { S4ndNative } from '../engine/s4nd-native.js';
import { gelu, geluBackward, glu, gluBackward, reduceAxis } from './ops/basic.js';
import { matmul } from './ops/matmul.js';
import {
  type S4dAxisGrads,
  type S4dAxisParams,
  type S4ndConfig,
  s4dKernel,
  s4dKernelBackward,
  s4ndBackward,
  s4ndForward,
  s4ndSizes,
} from './ops/s4nd.js';
import type { GpuRuntime, GpuTensor } from './runtime.js';
import {
  type DplrAxisGrads,
  type DplrAxisParams,
  type DplrKernelShape,
  dplrKernel,
  dplrKernelBackward,
} from './ops/dplr.js';
import { pyRound } from './ops/s4nd.js';

export interface WebGpuCheckResult extends CheckResult {
  backend: 'webgpu';
  notes?: string;
}

function maxRel(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs((ours[i] ?? NaN) - (ref[i] ?? 0)));
    den = Math.max(den, Math.abs(ref[i] ?? 0));
  }
  if (ours.length !== ref.length || Number.isNaN(num)) return Infinity;
  return den === 0 ? num : num / den;
}

const AXIS_FIELDS = [
  ['invDt', 'inv_dt'],
  ['aReal', 'A_real'],
  ['aImag', 'A_imag'],
  ['b', 'B'],
  ['c', 'C'],
] as const;

/** Runs one reference case on the GPU. Throws CaseError for cases the GPU path cannot take. */
export async function checkCaseWebGpu(rt: GpuRuntime, native: S4ndNative, c: S4ndCase): Promise<WebGpuCheckResult> {
  rt.beginScope(); // every tensor of this case goes back to the pool at the end
  try {
    return await runCase(rt, native, c);
  } finally {
    rt.endScope();
  }
}

async function runCase(rt: GpuRuntime, native: S4ndNative, c: S4ndCase): Promise<WebGpuCheckResult> {
  if (!c.spec.bidirectional) throw new CaseError('unsupported on webgpu: bidirectional=false');
  const dplr = c.spec.mode === 'dplr';
  const { params, lKernel } = packParams(native, c);
  // DPLR kernels are generated on the GPU from C~ when the case gives l_kernel (C already rewritten); otherwise the
  // CPU engine generates them (the C -> C~ setup is a float64 CPU step).
  const gpuDplr = dplr && lKernel.length >= c.axes && lKernel.every((v) => v > 0);
  if (dplr && !gpuDplr && c.kind === 'kernels')
    throw new CaseError('unsupported on webgpu: DPLR kernel generation without l_kernel (C -> C~ setup is CPU-only)');
  const layout = native.paramLayout(c.spec);
  const slice = (name: string): { data: Float32Array; shape: number[] } => {
    const p = layout.find((q) => q.name === name);
    if (!p) throw new CaseError(`no parameter '${name}' in the layer layout`);
    return { data: params.slice(p.offset, p.offset + p.size), shape: p.shape };
  };
  const upload = (name: string): GpuTensor => {
    const s = slice(name);
    return rt.upload(s.data, s.shape);
  };
  const H = c.spec.d_model;
  const C = c.spec.channels;
  const n2 = c.spec.d_state / 2;
  const dparams = new Float32Array(params.length);
  const put = async (name: string, t: GpuTensor): Promise<void> => {
    const p = layout.find((q) => q.name === name);
    if (!p) return;
    const v = await rt.read(t);
    dparams.set(v.subarray(0, p.size), p.offset);
  };
  const rel: Record<string, number> = {};
  let ok = true;
  const record = (key: string, value: number, tol: number): void => {
    rel[key] = value;
    if (!(value <= tol)) ok = false;
  };
  const gradOf = (): void => {
    for (const [name, ref] of Object.entries(c.grads32)) {
      if (name === 'u') continue;
      const p = layout.find((q) => q.name === name);
      if (!p && !/^kernel\.\d+\./.test(name)) throw new CaseError(`grads.float32.${name}: no such parameter`);
      const ours = p ? dparams.subarray(p.offset, p.offset + p.size) : new Float32Array(ref.data.length);
      record(`grad.${name}`, maxRel(ours, ref.data), GRAD_TOL);
    }
  };
  const axisParams = (a: number): S4dAxisParams => ({
    invDt: upload(`kernel.${a}.inv_dt`),
    aReal: upload(`kernel.${a}.A_real`),
    aImag: upload(`kernel.${a}.A_imag`),
    b: upload(`kernel.${a}.B`),
    c: upload(`kernel.${a}.C`),
  });
  const putAxis = async (a: number, g: S4dAxisGrads): Promise<void> => {
    for (const [ours, theirs] of AXIS_FIELDS) await put(`kernel.${a}.${theirs}`, g[ours]);
  };
  const dplrParams = (a: number): DplrAxisParams => ({ ...axisParams(a), p: upload(`kernel.${a}.P`) });
  const putDplr = async (a: number, g: DplrAxisGrads): Promise<void> => {
    await putAxis(a, g);
    await put(`kernel.${a}.P`, g.p);
  };
  const dplrShape = (a: number, lkA: number): DplrKernelShape => {
    const m = pyRound((lKernel[a] ?? 0) / c.rate);
    if (m < lkA) throw new CaseError(`unsupported on webgpu: DPLR C~ growth (M = ${m} < Lk = ${lkA})`);
    return { rows: 2 * C, h: H, n2, m, lk: lkA, rate: c.rate, bandlimit };
  };
  const bandlimit = c.spec.bandlimit > 0 ? c.spec.bandlimit : null;

  if (c.kind === 'kernels') {
    for (let a = 0; a < c.axes; a++) {
      const gk = c.inputs[`Gk.${a}`];
      if (!gk) throw new CaseError(`missing inputs.Gk.${a}`);
      const lkA = gk.shape[2] ?? 1;
      const dk = rt.upload(Float32Array.from(gk.data), gk.shape);
      const ref = c.outputs32[`kernel.${a}`];
      if (ref === undefined || typeof ref === 'number') throw new CaseError(`missing outputs.float32.kernel.${a}`);
      if (gpuDplr) {
        const shape = dplrShape(a, lkA);
        const prm = dplrParams(a);
        const r = rt.run((b) => ({ k: dplrKernel(rt, b, shape, prm), g: dplrKernelBackward(rt, b, shape, prm, dk) }));
        record(`kernel.${a}`, maxRel(await rt.read(r.k), ref.data), OUTPUT_TOL);
        await putDplr(a, r.g);
      } else {
        const shape = { rows: 2 * C, h: H, n2, lk: lkA, rate: c.rate, bandlimit };
        const prm = axisParams(a);
        const r = rt.run((b) => ({ k: s4dKernel(rt, b, shape, prm), g: s4dKernelBackward(rt, b, shape, prm, dk) }));
        record(`kernel.${a}`, maxRel(await rt.read(r.k), ref.data), OUTPUT_TOL);
        await putAxis(a, r.g);
      }
    }
    gradOf();
    if (gpuDplr) {
      return {
        case: c.name,
        ok,
        max_rel: rel,
        backend: 'webgpu',
        notes:
          'DPLR kernels and gradients on the GPU; the derived float64 intermediates (A_full, Abar, ...) are CPU-only and not checked here',
      };
    }
    return { case: c.name, ok, max_rel: rel, backend: 'webgpu' };
  }

  const uT = c.inputs['u'];
  const gT = c.inputs['G'];
  if (!uT || !gT) throw new CaseError('missing inputs.u or inputs.G');
  const nb = uT.shape[0] ?? 1;
  const lengths = uT.shape.slice(2);
  const cfg: S4ndConfig = { batch: nb, h: H, channels: C, n2, lengths, lMax: c.spec.l_max, rate: c.rate, bandlimit };
  const { lk } = s4ndSizes(cfg);
  const u = rt.upload(Float32Array.from(uT.data), uT.shape);
  const G = rt.upload(Float32Array.from(gT.data), gT.shape);
  const D = upload('D');
  const axes = dplr ? [] : lengths.map((_, a) => axisParams(a));
  let kernels: GpuTensor[] | undefined;
  const dplrPrm = gpuDplr ? lengths.map((_, a) => dplrParams(a)) : [];
  const dplrShapes = gpuDplr ? lengths.map((_, a) => dplrShape(a, lk[a] ?? 1)) : [];
  if (dplr && !gpuDplr) {
    const k = await native.kernels(
      c.spec,
      params,
      lKernel,
      c.rate,
      lk,
      lk.map((l) => new Float64Array(2 * C * H * l)),
    );
    kernels = k.kernels.map((kd, a) => rt.upload(Float32Array.from(kd), [2 * C, H, lk[a] ?? 1]));
  }
  const linear = c.spec.linear;
  const s = lengths.reduce((x, y) => x * y, 1);
  const ch = C * H;
  const out = rt.run((b) => {
    if (gpuDplr) kernels = dplrShapes.map((sh, a) => dplrKernel(rt, b, sh, dplrPrm[a] as DplrAxisParams));
    const f = s4ndForward(rt, b, cfg, u, axes, D, kernels);
    let y = f.y;
    let dypre = G;
    const head: { w: GpuTensor; bias: GpuTensor } | null = linear
      ? null
      : { w: upload('output_linear.0.weight'), bias: upload('output_linear.0.bias') };
    let dW: GpuTensor | null = null;
    let dBias: GpuTensor | null = null;
    if (head) {
      const z = gelu(rt, b, f.y);
      const v = matmul(rt, b, head.w, z, {
        m: 2 * H,
        k: ch,
        n: s,
        batch: nb,
        strideA: 0,
        bias: head.bias,
        biasPerRow: true,
      }); // (B, 2H, S)
      y = glu(rt, b, v, nb, H * s);
      const dv = gluBackward(rt, b, G, v, nb, H * s);
      const dwb = matmul(rt, b, dv, z, { m: 2 * H, k: s, n: ch, batch: nb, transB: true });
      dW = reduceAxis(rt, b, dwb, 1, nb, 2 * H * ch);
      dBias = reduceAxis(rt, b, reduceAxis(rt, b, dv, nb * 2 * H, s, 1), 1, nb, 2 * H);
      const dz = matmul(rt, b, head.w, dv, { m: ch, k: 2 * H, n: s, batch: nb, strideA: 0, transA: true });
      dypre = geluBackward(rt, b, dz, f.y);
    }
    const g = s4ndBackward(rt, b, cfg, f.saved, dypre, axes, D);
    const gd = gpuDplr
      ? g.dk.map((dk, a) =>
          dplrKernelBackward(rt, b, dplrShapes[a] as DplrKernelShape, dplrPrm[a] as DplrAxisParams, dk),
        )
      : [];
    return { y, g, dW, dBias, gd };
  });
  const yRef = c.outputs32['y'];
  if (yRef === undefined || typeof yRef === 'number') throw new CaseError('missing outputs.float32.y');
  record('y', maxRel(await rt.read(out.y), yRef.data), OUTPUT_TOL);
  const duRef = c.grads32['u'];
  if (!duRef) throw new CaseError('missing grads.float32.u');
  record('grad.u', maxRel(await rt.read(out.g.du), duRef.data), GRAD_TOL);
  await put('D', out.g.dD);
  if (out.dW) await put('output_linear.0.weight', out.dW);
  if (out.dBias) await put('output_linear.0.bias', out.dBias);
  let notes: string | undefined;
  if (gpuDplr) {
    for (let a = 0; a < out.gd.length; a++) {
      const ga = out.gd[a];
      if (ga) await putDplr(a, ga);
    }
    notes = 'DPLR: kernels generated on the GPU from C~ (generating function at the M-th roots of unity), fwd and bwd';
  } else if (dplr) {
    const dk = await Promise.all(out.g.dk.map(async (t) => Float64Array.from(await rt.read(t))));
    const back = await native.kernels(c.spec, params, lKernel, c.rate, lk, dk);
    for (const p of layout)
      if (p.name.startsWith('kernel.')) dparams.set(back.dparams.subarray(p.offset, p.offset + p.size), p.offset);
    notes = 'DPLR: kernels generated on the CPU and uploaded; convolution, D skip and backward to dk on the GPU';
  } else {
    for (let a = 0; a < out.g.axes.length; a++) {
      const ga = out.g.axes[a];
      if (ga) await putAxis(a, ga);
    }
  }
  gradOf();
  const r: WebGpuCheckResult = { case: c.name, ok, max_rel: rel, backend: 'webgpu' };
  if (notes) r.notes = notes;
  return r;
}
