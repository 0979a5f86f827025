// GPU graph executor: runs a validated engine model spec (main/engine/spec.ts) on WebGPU with the same semantics as
// the CPU engine (native/src/graph, native/src/ops, native/src/optim). It starts from a CPU `Model`'s state
// (parameters, AdamW moments and step, read through the engine's checkpoint), keeps parameters, activations, gradients
// and optimizer state in GPU buffers, records a whole training step (forward, loss, backward, global grad norm,
// clipping, AdamW) into one command batch and reads back 8 bytes: the loss and the squared gradient norm.
//
// Layout conventions are the engine's: activations channels-first (B, C, ...size), (B, F) when flat.
// Anything the GPU cannot run raises GpuUnsupportedError("unsupported on webgpu: <op>") at build time, before any GPU
// work, so the caller keeps the whole model on the CPU (see backend.ts `selectBackend`).
import type {
  Batch as EngineBatch,
  Model,
  PredictOptions,
  Prediction,
  StepResult,
  TrainOptions,
} from '../../engine/model.js';
import { inferOutput, type NormalizedLayer, type NormalizedSpec, type SampleShape } from '../../engine/spec.js';
import {
  add,
  bceWithLogits,
  gelu,
  geluBackward,
  globalAvgPool,
  globalAvgPoolBackward,
  glu,
  gluBackward,
  l1Loss,
  layerNorm,
  layerNormBackward,
  mseLoss,
  reduceAxis,
  relu,
  reluBackward,
  sigmoid,
  sigmoidBackward,
  silu,
  siluBackward,
  softmaxCrossEntropy,
  sumAll,
} from '../ops/basic.js';
import { matmul } from '../ops/matmul.js';
import {
  adamWClipped,
  concat,
  concatBackward,
  conv,
  convBackward,
  convGeom,
  convTranspose2d,
  convTranspose2dBackward,
  convTransposeGeom,
  dropout,
  pool2d,
  pool2dBackward,
  softDice,
  sumSquaresInto,
  upsample,
  upsampleBackward,
} from '../ops/nn.js';
import { pool3d, pool3dBackward, pool3dOut, upsample3d, upsample3dBackward } from '../ops/resample3d.js';
import { type S4dAxisParams, type S4ndConfig, pyRound, s4ndBackward, s4ndForward, s4ndSizes } from '../ops/s4nd.js';
import { type DplrAxisParams, dplrKernel, dplrKernelBackward } from '../ops/dplr.js';
import { maxFftLength } from '../ops/fft.js';
import { s4ndTime, s4ndTimeBackward, s4ndTimeTimes } from '../ops/s4nd-time.js';
import type { Batch, GpuRuntime, GpuTensor } from '../runtime.js';
import { readTrainingState, writeTrainingState, type TrainingState } from './checkpoint.js';

/** The model (or an input size) needs something the WebGPU backend does not have. */
export class GpuUnsupportedError extends Error {
  constructor(
    readonly op: string,
    detail?: string,
  ) {
    super(`unsupported on webgpu: ${op}${detail ? ` (${detail})` : ''}`);
    this.name = 'GpuUnsupportedError';
  }
}

/** Why `spec` cannot run on the GPU (the first unsupported layer), or null when every layer can. */
export function gpuUnsupportedReason(spec: NormalizedSpec): string | null {
  const walk = (layers: NormalizedLayer[], where: string): string | null => {
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i];
      if (!l) continue;
      const at = `${where}[${i}]`;
      if (l.type === 's4nd' && l['mode'] === 'dplr' && l['bidirectional'] === false)
        return `unsupported on webgpu: s4nd mode 'dplr' with bidirectional=false (at ${at})`;
      if (l.layers) {
        const r = walk(l.layers, `${at}.layers`);
        if (r) return r;
      }
    }
    return null;
  };
  return walk(spec.layers, 'layers');
}

type Group = 'decay' | 'no_decay' | 'ssm';

interface GParam {
  name: string;
  shape: number[];
  group: Group;
  value: GpuTensor;
  m: GpuTensor;
  v: GpuTensor;
  grad: GpuTensor | null;
}

/** An activation during one run; `grad` accumulates during the backward pass. */
class V {
  grad: GpuTensor | null = null;
  constructor(
    readonly t: GpuTensor,
    readonly shape: readonly number[],
    readonly needsGrad: boolean,
  ) {}
}

interface Run {
  rt: GpuRuntime;
  b: Batch;
  train: boolean;
  rate: number;
  tape: (() => void)[];
  saved: Map<string, V>;
  nextSeed: () => bigint;
}

type Fn = (run: Run, x: V) => V;

const prod = (xs: readonly number[]): number => xs.reduce((a, c) => a * c, 1);

function accumulate(run: Run, target: { grad: GpuTensor | null }, g: GpuTensor): void {
  target.grad = target.grad ? add(run.rt, run.b, target.grad, g) : g;
}
function accV(run: Run, v: V, g: GpuTensor | null): void {
  if (g && v.needsGrad) accumulate(run, v, g);
}

const U64 = (1n << 64n) - 1n;

export interface GpuModelInfo {
  /** Adapter description, for logs and the Settings view. */
  adapter: string;
}

export class GpuModel {
  private readonly params = new Map<string, GParam>();
  private readonly root: Fn;
  private step: number;
  private readonly lKernel: Record<string, number[]>;
  private disposed = false;

  private constructor(
    readonly rt: GpuRuntime,
    readonly spec: NormalizedSpec,
    readonly seed: number,
    state: TrainingState,
    groups: Map<string, { shape: number[]; group: Group }>,
  ) {
    this.step = state.step;
    this.lKernel = state.state;
    for (const [name, info] of groups) {
      const value = state.tensors.get(name);
      const m = state.tensors.get(`optim.exp_avg.${name}`);
      const v = state.tensors.get(`optim.exp_avg_sq.${name}`);
      if (!value || !m || !v) throw new Error(`GpuModel: the CPU model's state has no '${name}' (or its moments)`);
      this.params.set(name, {
        name,
        shape: info.shape,
        group: info.group,
        value: rt.upload(value, info.shape),
        m: rt.upload(m, info.shape),
        v: rt.upload(v, info.shape),
        grad: null,
      });
    }
    this.root = this.sequence(spec.layers, 'layers.');
  }

  /**
   * Builds the GPU copy of a CPU model: same spec, same parameters, moments and optimizer step. Throws
   * GpuUnsupportedError (before touching the GPU) when a layer has no GPU kernel.
   */
  static async fromCpu(rt: GpuRuntime, model: Model): Promise<GpuModel> {
    const reason = gpuUnsupportedReason(model.spec);
    if (reason) throw new GpuUnsupportedError(reason.replace(/^unsupported on webgpu: /, ''));
    const groups = new Map<string, { shape: number[]; group: Group }>();
    for (const p of model.params()) {
      const g = p.group === 'ssm' || p.group === 'no_decay' ? p.group : 'decay';
      groups.set(p.name, { shape: p.shape, group: g });
    }
    let state = await readTrainingState(model);
    // A DPLR layer rewrites C -> C~ on its first forward (CPU engine, float64, not part of autograd). If it has not
    // happened yet, let the CPU do it now (one forward at the training size; the rewrite does not depend on the input
    // or the rate) so both backends continue from the same C~.
    const fresh = Object.entries(state.state).some(([k, v]) => k.endsWith('l_kernel') && v.some((x) => x === 0));
    if (fresh) {
      const shape = [1, model.spec.input.channels, ...model.spec.input.size];
      await model.predict(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
      state = await readTrainingState(model);
    }
    return new GpuModel(rt, model.spec, model.seed, state, groups);
  }

  get optimizerStep(): number {
    return this.step;
  }

  private param(name: string): GParam {
    const p = this.params.get(name);
    if (!p) throw new Error(`GpuModel: no parameter '${name}'`);
    return p;
  }
  private maybeParam(name: string): GParam | null {
    return this.params.get(name) ?? null;
  }

  // ---- graph construction (mirrors native/src/graph/layers.cc) ----------------------------------------------------

  private sequence(layers: readonly NormalizedLayer[], prefix: string): Fn {
    const fns = layers.map((l, i) => this.layer(l, `${prefix}${i}.`));
    return (run, x) => fns.reduce((v, f) => f(run, v), x);
  }

  private layer(l: NormalizedLayer, prefix: string): Fn {
    const num = (k: string, d: number): number => (typeof l[k] === 'number' ? (l[k] as number) : d);
    switch (l.type) {
      case 'conv2d':
      case 'conv3d':
        return this.convLayer(prefix, num('out', 1), num('kernel', 3), num('stride', 1), num('padding', 0));
      case 'conv_transpose2d':
        return this.convTransposeLayer(prefix, num('out', 1), num('kernel', 2), num('stride', 2), num('padding', 0));
      case 'linear':
        return this.linearLayer(prefix);
      case 'layernorm':
        return this.layerNormLayer(prefix, num('eps', 1e-5));
      case 'gelu':
      case 'silu':
      case 'relu':
      case 'sigmoid':
        return activation(l.type);
      case 'glu':
        return (run, x) => {
          const [nb = 1, c = 1] = x.shape;
          const half = (c / 2) * prod(x.shape.slice(2));
          const y = glu(run.rt, run.b, x.t, nb, half);
          const out = new V(y, [nb, c / 2, ...x.shape.slice(2)], x.needsGrad);
          if (run.train && x.needsGrad)
            run.tape.push(() => out.grad && accV(run, x, gluBackward(run.rt, run.b, out.grad, x.t, nb, half)));
          return out;
        };
      case 'dropout': {
        const p = num('p', 0.1);
        return (run, x) => {
          if (!run.train || p <= 0) return x;
          const seed = run.nextSeed();
          const out = new V(dropout(run.rt, run.b, x.t, p, seed), x.shape, x.needsGrad);
          if (x.needsGrad) run.tape.push(() => out.grad && accV(run, x, dropout(run.rt, run.b, out.grad, p, seed)));
          return out;
        };
      }
      case 'avg_pool':
      case 'max_pool': {
        const k = num('kernel', 2);
        const s = num('stride', k);
        const isMax = l.type === 'max_pool';
        return (run, x) => {
          if (x.shape.length === 5) return pool3dLayer(run, x, k, s, isMax);
          const [nb = 1, c = 1, h = 1, w = 1] = x.shape;
          const g = { planes: nb * c, h, w, k, s, isMax };
          const y = pool2d(run.rt, run.b, x.t, g);
          const out = new V(y, [nb, c, Math.floor((h - k) / s) + 1, Math.floor((w - k) / s) + 1], x.needsGrad);
          if (run.train && x.needsGrad)
            run.tape.push(() => out.grad && accV(run, x, pool2dBackward(run.rt, run.b, out.grad, x.t, g)));
          return out;
        };
      }
      case 'global_avg_pool':
        return (run, x) => {
          const [nb = 1, c = 1] = x.shape;
          const s = prod(x.shape.slice(2));
          const out = new V(globalAvgPool(run.rt, run.b, x.t, nb * c, s, 1), [nb, c], x.needsGrad);
          if (run.train && x.needsGrad)
            run.tape.push(() => out.grad && accV(run, x, globalAvgPoolBackward(run.rt, run.b, out.grad, nb * c, s, 1)));
          return out;
        };
      case 'flatten':
        return (run, x) => {
          const out = new V(x.t, [x.shape[0] ?? 1, prod(x.shape.slice(1))], x.needsGrad);
          if (run.train && x.needsGrad) run.tape.push(() => accV(run, x, out.grad));
          return out;
        };
      case 'upsample': {
        const scale = num('scale', 2);
        const mode = typeof l['mode'] === 'string' ? l['mode'] : 'nearest';
        const bilinear = mode === 'bilinear';
        const rank = mode === 'bilinear' ? 4 : mode === 'trilinear' ? 5 : 0; // nearest: 2-D or 3-D
        return (run, x) => {
          if (rank && x.shape.length !== rank)
            throw new Error(`upsample: mode '${mode}' does not take input (${x.shape.join(', ')})`);
          if (x.shape.length === 5) return upsample3dLayer(run, x, scale, mode === 'trilinear');
          const [nb = 1, c = 1, h = 1, w = 1] = x.shape;
          const g = { planes: nb * c, h, w, scale, bilinear };
          const out = new V(upsample(run.rt, run.b, x.t, g), [nb, c, h * scale, w * scale], x.needsGrad);
          if (run.train && x.needsGrad)
            run.tape.push(() => out.grad && accV(run, x, upsampleBackward(run.rt, run.b, out.grad, g)));
          return out;
        };
      }
      case 'residual': {
        const body = this.sequence(l.layers ?? [], `${prefix}layers.`);
        return (run, x) => {
          const f = body(run, x);
          const out = new V(add(run.rt, run.b, x.t, f.t), x.shape, x.needsGrad || f.needsGrad);
          if (run.train)
            run.tape.push(() => {
              accV(run, x, out.grad);
              accV(run, f, out.grad);
            });
          return out;
        };
      }
      case 'save': {
        const name = String(l['name']);
        return (run, x) => {
          run.saved.set(name, x);
          return x;
        };
      }
      case 'concat': {
        const name = String(l['with']);
        return (run, x) => {
          const o = run.saved.get(name);
          if (!o) throw new Error(`concat: no saved activation named '${name}'`);
          const [nb = 1, c1 = 1] = x.shape;
          const c2 = o.shape[1] ?? 1;
          const s = prod(x.shape.slice(2));
          const y = concat(run.rt, run.b, x.t, o.t, nb, c1, c2, s);
          const out = new V(y, [nb, c1 + c2, ...x.shape.slice(2)], x.needsGrad || o.needsGrad);
          if (run.train)
            run.tape.push(() => {
              if (!out.grad) return;
              const [da, dc] = concatBackward(run.rt, run.b, out.grad, nb, c1, c2, s);
              accV(run, x, da);
              accV(run, o, dc);
            });
          return out;
        };
      }
      case 's4nd':
        return this.s4ndLayer(l, prefix);
      case 's4nd_time':
        return this.s4ndTimeLayer(l, prefix);
      default:
        throw new GpuUnsupportedError(l.type);
    }
  }

  private convLayer(prefix: string, cout: number, k: number, stride: number, pad: number): Fn {
    const w = this.param(`${prefix}weight`);
    const bias = this.maybeParam(`${prefix}bias`);
    return (run, x) => {
      const g = convGeom(x.shape, cout, k, stride, pad);
      const { y, saved } = conv(run.rt, run.b, x.t, w.value, bias?.value ?? null, g);
      const outSize = x.shape.length === 5 ? [g.od, g.oh, g.ow] : [g.oh, g.ow];
      const out = new V(y, [g.batch, cout, ...outSize], true);
      if (run.train)
        run.tape.push(() => {
          if (!out.grad) return;
          const r = convBackward(run.rt, run.b, out.grad, w.value, saved, g, bias !== null, x.needsGrad);
          accV(run, x, r.dx);
          accumulate(run, w, r.dw);
          if (bias && r.dbias) accumulate(run, bias, r.dbias);
        });
      return out;
    };
  }

  private convTransposeLayer(prefix: string, cout: number, k: number, stride: number, pad: number): Fn {
    const w = this.param(`${prefix}weight`);
    const bias = this.maybeParam(`${prefix}bias`);
    return (run, x) => {
      const g = convTransposeGeom(x.shape, cout, k, stride, pad);
      const y = convTranspose2d(run.rt, run.b, x.t, w.value, bias?.value ?? null, g);
      const out = new V(y, [g.batch, cout, g.oh, g.ow], true);
      if (run.train)
        run.tape.push(() => {
          if (!out.grad) return;
          const r = convTranspose2dBackward(run.rt, run.b, out.grad, x.t, w.value, g, bias !== null, x.needsGrad);
          accV(run, x, r.dx);
          accumulate(run, w, r.dw);
          if (bias && r.dbias) accumulate(run, bias, r.dbias);
        });
      return out;
    };
  }

  private linearLayer(prefix: string): Fn {
    const w = this.param(`${prefix}weight`);
    const bias = this.maybeParam(`${prefix}bias`);
    const [nOut = 1, nIn = 1] = w.shape;
    return (run, x) => {
      const nb = x.shape[0] ?? 1;
      const o = { m: nb, k: nIn, n: nOut, transB: true };
      const y = matmul(run.rt, run.b, x.t, w.value, bias ? { ...o, bias: bias.value } : o); // (B, out)
      const out = new V(y, [nb, nOut], true);
      if (run.train)
        run.tape.push(() => {
          const g = out.grad;
          if (!g) return;
          if (x.needsGrad) accV(run, x, matmul(run.rt, run.b, g, w.value, { m: nb, k: nOut, n: nIn })); // (B, in)
          accumulate(run, w, matmul(run.rt, run.b, g, x.t, { m: nOut, k: nb, n: nIn, transA: true })); // (out, in)
          if (bias) accumulate(run, bias, reduceAxis(run.rt, run.b, g, 1, nb, nOut)); // (out)
        });
      return out;
    };
  }

  private layerNormLayer(prefix: string, eps: number): Fn {
    const gamma = this.param(`${prefix}weight`);
    const beta = this.param(`${prefix}bias`);
    return (run, x) => {
      const view = { outer: x.shape[0] ?? 1, c: x.shape[1] ?? 1, inner: prod(x.shape.slice(2)) };
      const { y, saved } = layerNorm(run.rt, run.b, x.t, gamma.value, beta.value, view, eps);
      const out = new V(y, x.shape, true);
      if (run.train)
        run.tape.push(() => {
          if (!out.grad) return;
          const r = layerNormBackward(run.rt, run.b, out.grad, x.t, gamma.value, saved, view);
          accV(run, x, r.dx);
          accumulate(run, gamma, r.dgamma);
          accumulate(run, beta, r.dbeta);
        });
      return out;
    };
  }

  /** s4nd_time (ops/s4nd-time.ts): x (B, 2C, S...) -> (B, C, S...) at the t read from a saved plane. */
  private s4ndTimeLayer(l: NormalizedLayer, prefix: string): Fn {
    const time = l['time'] as { from: string; channel: number; mean: number; std: number };
    const ps = ['inv_dt', 'A_real', 'A_imag', 'C'].map((n) => this.param(`${prefix}kernel.${n}`)) as [
      GParam,
      GParam,
      GParam,
      GParam,
    ];
    const [invDt, aReal, aImag, coef] = ps;
    const prm = { invDt: invDt.value, aReal: aReal.value, aImag: aImag.value, coef: coef.value };
    return (run, x) => {
      const src = run.saved.get(time.from);
      if (!src) throw new Error(`s4nd_time: no saved activation named '${time.from}'`);
      const [nb = 1, c2 = 2] = x.shape;
      const g = { nb, c: c2 / 2, nh: aReal.shape[1] ?? 1, s: prod(x.shape.slice(2)) };
      const times = s4ndTimeTimes(run.rt, run.b, src.t, src.shape, time.channel, time.mean, time.std); // (B)
      const { y, k } = s4ndTime(run.rt, run.b, x.t, times, prm, g);
      const out = new V(y, [nb, g.c, ...x.shape.slice(2)], true);
      if (run.train)
        run.tape.push(() => {
          if (!out.grad) return;
          const r = s4ndTimeBackward(run.rt, run.b, out.grad, x.t, times, k, prm, g, x.needsGrad);
          accV(run, x, r.dx);
          accumulate(run, invDt, r.dInvDt);
          accumulate(run, aReal, r.dAReal);
          accumulate(run, aImag, r.dAImag);
          accumulate(run, coef, r.dCoef);
        });
      return out;
    };
  }

  private s4ndLayer(l: NormalizedLayer, prefix: string): Fn {
    const h = Number(l['d_model']);
    const c = Number(l['channels'] ?? 1);
    const n2 = Number(l['d_state']) / 2;
    const lMax = (l['l_max'] as number[]).slice();
    const bandlimit = Number(l['bandlimit'] ?? 0);
    const linear = l['linear'] === true;
    // Unidirectional layers run as bidirectional ones whose backward kernel rows are zero (C padded with C zero rows):
    // the same causal convolution. Their C gradient is the first half of the padded one.
    const bidirectional = l['bidirectional'] !== false;
    const dParam = this.param(`${prefix}D`);
    const dplr = l['mode'] === 'dplr';
    const lKernel = this.lKernel[`${prefix}l_kernel`] ?? [];
    const pParams = dplr ? lMax.map((_, a) => this.param(`${prefix}kernel.${a}.P`)) : [];
    const axes = lMax.map((_, a) => {
      const k = `${prefix}kernel.${a}.`;
      return {
        invDt: this.param(`${k}inv_dt`),
        aReal: this.param(`${k}A_real`),
        aImag: this.param(`${k}A_imag`),
        b: this.param(`${k}B`),
        c: this.param(`${k}C`),
      };
    });
    const axisValues: S4dAxisParams[] = axes.map((a) => ({
      invDt: a.invDt.value,
      aReal: a.aReal.value,
      aImag: a.aImag.value,
      b: a.b.value,
      c: a.c.value,
    }));
    const wOut = linear ? null : this.param(`${prefix}output_linear.0.weight`);
    const bOut = linear ? null : this.param(`${prefix}output_linear.0.bias`);
    return (run, x) => {
      const nb = x.shape[0] ?? 1;
      const lengths = x.shape.slice(2);
      const cfg: S4ndConfig = {
        batch: nb,
        h,
        channels: c,
        n2,
        lengths,
        lMax,
        rate: run.rate,
        bandlimit: bandlimit > 0 ? bandlimit : null,
      };
      const { p } = s4ndSizes(cfg);
      const maxP = maxFftLength(run.rt);
      if (p.some((n) => n > maxP))
        throw new GpuUnsupportedError(
          's4nd FFT length',
          `L + Lk = ${Math.max(...p)} exceeds this device's single-workgroup FFT limit of ${maxP}`,
        );
      // DPLR: kernels generated on the GPU (ops/dplr.ts) and given to the convolution; their gradient comes back as dk.
      const { lk } = s4ndSizes(cfg);
      const dplrShapes = dplr
        ? lMax.map((_, a) => {
            const lkA = lk[a] ?? 1;
            const lkern = lKernel[a] ?? 0;
            const m = pyRound(lkern / run.rate);
            if (lkern <= 0 || pyRound(run.rate * lkA) > lkern || m < lkA || m > maxP)
              throw new GpuUnsupportedError(
                's4nd dplr kernel length',
                `l_kernel ${lkern}, rate ${run.rate}, Lk ${lkA}: the CPU engine would grow C~ here, or M = ${m} is out of range`,
              );
            return { rows: 2 * c, h, n2, m, lk: lkA, rate: run.rate, bandlimit: cfg.bandlimit };
          })
        : [];
      const dplrValues: DplrAxisParams[] = axes.map((a, i) => ({
        invDt: a.invDt.value,
        aReal: a.aReal.value,
        aImag: a.aImag.value,
        b: a.b.value,
        p: pParams[i]?.value ?? a.b.value,
        c: a.c.value,
      }));
      const kernels = dplr
        ? dplrShapes.map((sh, a) => dplrKernel(run.rt, run.b, sh, dplrValues[a] as DplrAxisParams))
        : undefined;
      const values = bidirectional
        ? axisValues
        : axisValues.map((av) => {
            const cPad = run.rt.alloc([2 * c, h, n2, 2]); // (2C, H, N/2, 2): C, then zeros
            run.b.zero(cPad);
            run.b.copy(av.c, cPad, av.c.size);
            return { ...av, c: cPad };
          });
      const { y: ypre, saved } = s4ndForward(run.rt, run.b, cfg, x.t, dplr ? [] : values, dParam.value, kernels);
      const s = prod(lengths);
      const ch = c * h;
      let yOut = ypre;
      let z: GpuTensor | null = null;
      let v: GpuTensor | null = null;
      if (wOut && bOut) {
        z = gelu(run.rt, run.b, ypre); // (B, CH, S)
        v = matmul(run.rt, run.b, wOut.value, z, {
          m: 2 * h,
          k: ch,
          n: s,
          batch: nb,
          strideA: 0,
          bias: bOut.value,
          biasPerRow: true,
        }); // (B, 2H, S)
        yOut = glu(run.rt, run.b, v, nb, h * s); // (B, H, S)
      }
      const out = new V(yOut, [nb, linear ? ch : h, ...lengths], true);
      if (run.train)
        run.tape.push(() => {
          if (!out.grad) return;
          let dypre = out.grad;
          if (wOut && bOut && z && v) {
            const dv = gluBackward(run.rt, run.b, out.grad, v, nb, h * s); // (B, 2H, S)
            const dwb = matmul(run.rt, run.b, dv, z, { m: 2 * h, k: s, n: ch, batch: nb, transB: true }); // (B, 2H, CH)
            accumulate(run, wOut, reduceAxis(run.rt, run.b, dwb, 1, nb, 2 * h * ch));
            const db1 = reduceAxis(run.rt, run.b, dv, nb * 2 * h, s, 1); // (B * 2H)
            accumulate(run, bOut, reduceAxis(run.rt, run.b, db1, 1, nb, 2 * h));
            const dz = matmul(run.rt, run.b, wOut.value, dv, {
              m: ch,
              k: 2 * h,
              n: s,
              batch: nb,
              strideA: 0,
              transA: true,
            }); // (B, CH, S)
            dypre = geluBackward(run.rt, run.b, dz, ypre);
          }
          const g = s4ndBackward(run.rt, run.b, cfg, saved, dypre, dplr ? [] : values, dParam.value);
          if (dplr) {
            g.dk.forEach((dk, a) => {
              const sh = dplrShapes[a];
              const pa = axes[a];
              const pp = pParams[a];
              if (!sh || !pa || !pp) return;
              const gd = dplrKernelBackward(run.rt, run.b, sh, dplrValues[a] as DplrAxisParams, dk);
              accumulate(run, pa.invDt, gd.invDt);
              accumulate(run, pa.aReal, gd.aReal);
              accumulate(run, pa.aImag, gd.aImag);
              accumulate(run, pa.b, gd.b);
              accumulate(run, pp, gd.p);
              accumulate(run, pa.c, gd.c);
            });
          }
          accV(run, x, g.du);
          accumulate(run, dParam, g.dD);
          g.axes.forEach((ga, a) => {
            const pa = axes[a];
            if (!pa) return;
            accumulate(run, pa.invDt, ga.invDt);
            accumulate(run, pa.aReal, ga.aReal);
            accumulate(run, pa.aImag, ga.aImag);
            accumulate(run, pa.b, ga.b);
            if (bidirectional) accumulate(run, pa.c, ga.c);
            else {
              const gc = run.rt.alloc(pa.c.shape); // (C, H, N/2, 2): the forward rows
              run.b.copy(ga.c, gc, gc.size);
              accumulate(run, pa.c, gc);
            }
          });
        });
      return out;
    };
  }

  // ---- running -----------------------------------------------------------------------------------------------------

  private live(what: string): void {
    if (this.disposed) throw new Error(`GpuModel.${what}: the model was disposed`);
  }

  private checkInput(what: string, x: Float32Array, shape: readonly number[]): SampleShape {
    const want = 2 + this.spec.input.size.length;
    if (shape.length !== want || shape.some((d) => !Number.isInteger(d) || d < 1))
      throw new RangeError(`${what}: shape must have ${want} positive integer dims, got ${JSON.stringify(shape)}`);
    if (shape[1] !== this.spec.input.channels)
      throw new RangeError(`${what}: the model takes ${this.spec.input.channels} input channel(s), got ${shape[1]}`);
    if (x.length !== prod(shape)) throw new RangeError(`${what}: x has ${x.length} values, shape needs ${prod(shape)}`);
    return inferOutput(this.spec, shape.slice(2));
  }

  private newRun(b: Batch, train: boolean, rate: number): Run {
    // native/src/graph/model.cc TrainStep + Tape::NextSeed, in wrapping 64-bit arithmetic.
    const tapeSeed = (BigInt(this.seed) * 0x2545f4914f6cdd1dn + BigInt(this.step)) & U64;
    let counter = 0n;
    return {
      rt: this.rt,
      b,
      train,
      rate,
      tape: [],
      saved: new Map(),
      nextSeed: () => {
        counter += 1n;
        return (tapeSeed + 0x9e3779b97f4a7c15n * counter) & U64;
      },
    };
  }

  /** Loss (1 element) and its gradient w.r.t. the model output. */
  private loss(run: Run, out: V, targets: Float32Array, nb: number): { loss: GpuTensor; dOut: GpuTensor } {
    const { rt, b } = run;
    const l = this.spec.loss;
    switch (l.type) {
      case 'cross_entropy': {
        const k = out.shape[1] ?? 1;
        const labels = rt.upload(Uint32Array.from(targets), [nb], 'u32');
        const r = softmaxCrossEntropy(rt, b, out.t, labels, nb, k, l.label_smoothing ?? 0);
        return { loss: r.loss, dOut: r.dz };
      }
      case 'bce_with_logits': {
        const r = bceWithLogits(rt, b, out.t, rt.upload(targets, out.shape));
        return { loss: r.loss, dOut: r.dx };
      }
      case 'mse': {
        const r = mseLoss(rt, b, out.t, rt.upload(targets, out.shape));
        return { loss: r.loss, dOut: r.dx };
      }
      case 'l1': {
        const r = l1Loss(rt, b, out.t, rt.upload(targets, out.shape));
        return { loss: r.loss, dOut: r.dx };
      }
      case 'dice': {
        const prob = sigmoid(rt, b, out.t);
        const r = softDice(rt, b, prob, rt.upload(targets, out.shape), nb, l.smooth ?? 1);
        return { loss: r.loss, dOut: sigmoidBackward(rt, b, r.dp, out.t) };
      }
      default:
        throw new GpuUnsupportedError(`loss ${String(l.type)}`);
    }
  }

  private checkTargets(what: string, out: SampleShape, nb: number, targets: Float32Array): void {
    if (this.spec.loss.type === 'cross_entropy') {
      const k = out.kind === 'flat' ? out.features : 0;
      if (targets.length !== nb) throw new RangeError(`${what}: expected ${nb} class labels, got ${targets.length}`);
      targets.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || v >= k)
          throw new RangeError(`${what}: label ${v} at index ${i} is not a class in [0, ${k})`);
      });
      return;
    }
    const n = nb * (out.kind === 'flat' ? out.features : out.channels * prod(out.size));
    if (targets.length !== n) throw new RangeError(`${what}: targets need ${n} values, got ${targets.length}`);
  }

  /**
   * One training step, as Model.trainStep: forward, loss, backward, global grad norm, clipping, AdamW, all in one
   * submission. A non-finite loss leaves parameters and moments untouched (the update kernel checks it) and throws.
   * Rejects with GpuDeviceLostError if the device goes away (the GPU state is then gone: see trainer.ts).
   */
  async trainStep(batch: EngineBatch, opts: TrainOptions): Promise<StepResult> {
    this.live('trainStep');
    const out0 = this.checkInput('trainStep', batch.x, batch.shape);
    const nb = batch.shape[0] ?? 1;
    this.checkTargets('trainStep', out0, nb, batch.targets);
    const o = this.spec.optimizer;
    const ssmLr = opts.ssmLr ?? opts.lr * o.ssm_lr_scale;
    const rate = opts.rate ?? 1;
    if (opts.signal?.aborted) throw new Error('trainStep cancelled');
    const { rt } = this;
    const stats = rt.alloc([2]); // [loss, sum of squared grads]; allocated outside the scope, released below
    rt.beginScope();
    try {
      rt.run((b) => {
        const run = this.newRun(b, true, rate);
        const x = new V(rt.upload(batch.x, batch.shape), batch.shape, false);
        const out = this.root(run, x);
        const { loss, dOut } = this.loss(run, out, batch.targets, nb);
        out.grad = dOut;
        for (let i = run.tape.length - 1; i >= 0; i--) run.tape[i]?.();
        const list = [...this.params.values()];
        const partial = rt.alloc([list.length]); // (n_params)
        list.forEach((p, i) => {
          if (!p.grad) {
            p.grad = rt.alloc(p.shape);
            b.zero(p.grad);
          }
          sumSquaresInto(b, p.grad, partial, i);
        });
        const n2 = sumAll(rt, b, partial); // ()
        b.copy(loss, stats, 1, 0, 0);
        b.copy(n2, stats, 1, 0, 1);
        for (const p of list) {
          const grad = p.grad;
          if (!grad) continue;
          adamWClipped(b, p.value, grad, p.m, p.v, stats, {
            lr: p.group === 'ssm' ? ssmLr : opts.lr,
            weightDecay: p.group === 'decay' ? o.weight_decay : 0,
            beta1: o.betas[0],
            beta2: o.betas[1],
            eps: o.eps,
            step: this.step + 1,
            maxNorm: o.clip_grad_norm,
          });
        }
      });
    } finally {
      for (const p of this.params.values()) p.grad = null;
      rt.endScope();
    }
    let s: Float32Array;
    try {
      s = await rt.read(stats);
    } finally {
      rt.release(stats);
    }
    const loss = s[0] ?? NaN;
    if (!Number.isFinite(loss)) throw new Error(`trainStep: loss is not finite (${loss}); parameters were not updated`);
    this.step += 1;
    return { loss, gradNorm: Math.sqrt(s[1] ?? 0), step: this.step };
  }

  /** Forward pass in evaluation mode (no dropout); one readback of the output. */
  async predict(x: Float32Array, shape: number[], opts: PredictOptions = {}): Promise<Prediction> {
    this.live('predict');
    this.checkInput('predict', x, shape);
    const { rt } = this;
    let y: GpuTensor | null = null;
    let outShape: readonly number[] = [];
    rt.beginScope();
    try {
      rt.run((b) => {
        const run = this.newRun(b, false, opts.rate ?? 1);
        const out = this.root(run, new V(rt.upload(x, shape), shape, false));
        y = out.t;
        outShape = out.shape;
      });
    } catch (e) {
      rt.endScope();
      throw e;
    }
    const t = y as GpuTensor | null;
    if (!t) throw new Error('predict: no output');
    rt.endScope([t]);
    try {
      return { data: await rt.read(t), shape: [...outShape] };
    } finally {
      rt.release(t);
    }
  }

  /** Loss of a batch in evaluation mode, without an update. */
  async evalLoss(batch: EngineBatch, opts: PredictOptions = {}): Promise<number> {
    this.live('evalLoss');
    const out0 = this.checkInput('evalLoss', batch.x, batch.shape);
    const nb = batch.shape[0] ?? 1;
    this.checkTargets('evalLoss', out0, nb, batch.targets);
    const { rt } = this;
    let l: GpuTensor | null = null;
    rt.beginScope();
    try {
      rt.run((b) => {
        const run = this.newRun(b, false, opts.rate ?? 1);
        const out = this.root(run, new V(rt.upload(batch.x, batch.shape), batch.shape, false));
        l = this.loss(run, out, batch.targets, nb).loss;
      });
    } catch (e) {
      rt.endScope();
      throw e;
    }
    const t = l as GpuTensor | null;
    if (!t) throw new Error('evalLoss: no loss');
    rt.endScope([t]);
    try {
      return (await rt.read(t))[0] ?? NaN;
    } finally {
      rt.release(t);
    }
  }

  /** Reads one parameter back (tests, export). */
  async getParam(name: string): Promise<Float32Array> {
    return this.rt.read(this.param(name).value);
  }

  /** Parameters, moments and step, read back from the GPU (in the engine checkpoint's names). */
  async state(): Promise<TrainingState> {
    const tensors = new Map<string, Float32Array>();
    for (const p of this.params.values()) {
      tensors.set(p.name, await this.rt.read(p.value));
      tensors.set(`optim.exp_avg.${p.name}`, await this.rt.read(p.m));
      tensors.set(`optim.exp_avg_sq.${p.name}`, await this.rt.read(p.v));
    }
    return { tensors, step: this.step, state: this.lKernel };
  }

  /** Copies the GPU training state into a CPU model of the same spec (e.g. before saving a checkpoint). */
  async copyTo(model: Model): Promise<void> {
    await writeTrainingState(model, await this.state());
  }

  /** Returns every GPU buffer of this model to the pool. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params.values()) this.rt.release(p.value, p.m, p.v);
    this.params.clear();
  }
}

function activation(kind: 'gelu' | 'silu' | 'relu' | 'sigmoid'): Fn {
  const fwd = { gelu, silu, relu, sigmoid }[kind];
  const bwd = { gelu: geluBackward, silu: siluBackward, relu: reluBackward, sigmoid: sigmoidBackward }[kind];
  return (run, x) => {
    const out = new V(fwd(run.rt, run.b, x.t), x.shape, x.needsGrad);
    if (run.train && x.needsGrad) run.tape.push(() => out.grad && accV(run, x, bwd(run.rt, run.b, out.grad, x.t)));
    return out;
  };
}

/** avg_pool / max_pool on a volume x (B, C, D, H, W) -> (B, C, Do, Ho, Wo). */
function pool3dLayer(run: Run, x: V, k: number, s: number, isMax: boolean): V {
  const [nb = 1, c = 1, d = 1, h = 1, w = 1] = x.shape;
  const g = { planes: nb * c, d, h, w, k, s, isMax };
  const out = new V(pool3d(run.rt, run.b, x.t, g), [nb, c, ...pool3dOut(g)], x.needsGrad);
  if (run.train && x.needsGrad)
    run.tape.push(() => out.grad && accV(run, x, pool3dBackward(run.rt, run.b, out.grad, x.t, g)));
  return out;
}

/** upsample (nearest or trilinear) on a volume x (B, C, D, H, W) -> (B, C, D·s, H·s, W·s). */
function upsample3dLayer(run: Run, x: V, scale: number, trilinear: boolean): V {
  const [nb = 1, c = 1, d = 1, h = 1, w = 1] = x.shape;
  const g = { planes: nb * c, d, h, w, scale, trilinear };
  const out = new V(upsample3d(run.rt, run.b, x.t, g), [nb, c, d * scale, h * scale, w * scale], x.needsGrad);
  if (run.train && x.needsGrad)
    run.tape.push(() => out.grad && accV(run, x, upsample3dBackward(run.rt, run.b, out.grad, g)));
  return out;
}
