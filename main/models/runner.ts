// Model runners: the same `predict(x, shape)` over the app's engine and over onnxruntime (CPU EP), and a chooser
// that runs each registered model on whichever is faster on this machine.
//
// The chooser decides per input size bucket (spatial dims rounded up to powers of two, batch 1 or more): the first
// time a model meets a bucket it runs both runtimes on that very input (one warm run each, then up to 5 timed runs
// each, alternating, within a ~2 s budget), keeps the faster by median, and writes the decision to a small JSON file
// in the app's cache dir keyed by model id + sha256 of the model files + bucket + machine fingerprint (CPU model,
// compute threads, arch). Later uses of that model at that bucket read the file and measure nothing. A corrupt or
// foreign cache file is ignored (and rewritten on the next decision).
//
// The measurement also compares the two outputs on that input: ONNX is only picked when they agree within the
// registration parity tolerance (AGREE_TOLERANCE). And ONNX is only a candidate where it computes what the engine
// computes: the registered export derives the S4ND rate per axis from the input size, the engine takes one rate (the
// geometric mean for a non-uniform rescale, e.g. a 182×218 MRI slice for a model trained at 96×96). For such inputs
// the ONNX candidate is the same checkpoint exported in memory with `rate` as an input (~20 ms), fed the engine's
// rate; its decisions are cached under their own key (…|rate-input) and it too must agree on the measured input.
// Imported third-party ONNX models have no engine checkpoint and always run on onnxruntime, through their
// input/output mapping. This is the CPU backend's runner; with WebGPU selected, route.ts runs models on onnxruntime's
// WebGPU EP (runner-webgpu.ts, OnnxRunner with ep 'webgpu') or the GPU executor, and this chooser is the last resort.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { OnnxIoMapping, RuntimeKind, RuntimeMode } from '../../contract/models.js';
import { Engine, type Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import type * as OnnxRuntime from '../onnx/runtime.js';
import type { OnnxSession } from '../onnx/runtime.js';
import { JsonRecordCache, modelFilesHash } from './json-cache.js';
import type * as RunnerOrt from './runner-ort.js';
import type { RegisteredModel } from './manager.js';

export interface RunOptions {
  rate?: number;
  signal?: AbortSignal;
}

export interface Output {
  data: Float32Array;
  shape: number[];
}

/** What inference needs from a model (the engine's Model satisfies it, and so does every runner here). */
export interface Predictor {
  predict(x: Float32Array, shape: number[], opts?: RunOptions): Promise<Output>;
}

export interface Runner extends Predictor {
  readonly kind: RuntimeKind;
  dispose(): Promise<void>;
}

/** Runs an engine checkpoint. */
export class EngineRunner implements Runner {
  readonly kind = 'engine' as const;
  constructor(readonly model: Model) {}

  static async open(checkpoint: string, engine: Engine = new Engine()): Promise<EngineRunner> {
    return new EngineRunner(await engine.loadModel(checkpoint));
  }

  predict(x: Float32Array, shape: number[], opts: RunOptions = {}): Promise<Output> {
    return this.model.predict(x, shape, opts);
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}

type OrtModule = typeof OnnxRuntime & typeof RunnerOrt;

/** The runtimes the CPU chooser picks between. */
export type CpuRuntime = Exclude<RuntimeKind, 'onnx-webgpu'>;

/** Compute threads the engine and onnxruntime use here (SSM_THREADS, else every logical core). */
export function computeThreads(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env['SSM_THREADS']);
  return Number.isInteger(n) && n > 0 ? n : os.availableParallelism();
}

/**
 * Runs an ONNX model with onnxruntime. Without `io` the model is one of ours (input `x`, output `y`, optional `rate`);
 * with `io` it is an imported model whose tensors are mapped onto (B, C, size...) in and class scores / per-class
 * logits (B, K[, size...]) out, so inference code treats both alike. `ep: 'webgpu'` opens the session on onnxruntime's
 * WebGPU execution provider (main/gpu/ort.ts; rejects with onnxruntime's message when the EP cannot start).
 */
export class OnnxRunner implements Runner {
  private constructor(
    private readonly rt: OrtModule,
    readonly session: OnnxSession,
    private readonly io: OnnxIoMapping | null,
    private readonly classes: number,
    private readonly task: string,
    readonly kind: 'onnx' | 'onnx-webgpu',
  ) {}

  static async open(
    bytes: Uint8Array,
    opts: {
      io?: OnnxIoMapping | null;
      classes?: number;
      task?: string;
      threads?: number;
      ep?: 'cpu' | 'webgpu';
    } = {},
  ): Promise<OnnxRunner> {
    const rt = { ...(await import('../onnx/runtime.js')), ...(await import('./runner-ort.js')) };
    const webgpu = opts.ep === 'webgpu';
    const session = webgpu
      ? await (await import('../gpu/ort.js')).createWebGpuSession(bytes)
      : await rt.createSession(bytes, opts.threads ?? 0);
    const kind = webgpu ? 'onnx-webgpu' : 'onnx';
    return new OnnxRunner(rt, session, opts.io ?? null, opts.classes ?? 0, opts.task ?? 'classify', kind);
  }

  /** Whether the graph takes the S4ND rate as an input (else it derives it per axis from the input size). */
  get takesRate(): boolean {
    return this.rt.takesRate(this.session);
  }

  async predict(x: Float32Array, shape: number[], opts: RunOptions = {}): Promise<Output> {
    opts.signal?.throwIfAborted();
    if (!this.io) {
      const out = await this.rt.runSession(this.session, x, shape, opts.rate ?? 1);
      opts.signal?.throwIfAborted();
      return out;
    }
    const io = this.io;
    const [b = 1, c = 1, ...size] = shape;
    const per = c * size.reduce((a, n) => a * n, 1);
    const feedShape = io.layout === 'nhwc' ? [1, ...size, c] : [1, c, ...size];
    const outs: Float32Array[] = [];
    let outShape: number[] = [];
    // One sample per run: third-party graphs often fix the batch dimension at 1.
    for (let i = 0; i < b; i++) {
      const sample = x.subarray(i * per, (i + 1) * per);
      const feed = io.layout === 'nhwc' ? toChannelsLast(sample, c, size) : Float32Array.from(sample);
      const res = await this.rt.runMapped(this.session, io.input, feed, feedShape, io.output);
      opts.signal?.throwIfAborted();
      const y = canonicalOutput(res.data, res.shape, io, this.task, this.classes);
      outs.push(y.data);
      outShape = y.shape;
    }
    const data = new Float32Array(outs.reduce((a, o) => a + o.length, 0));
    let off = 0;
    for (const o of outs) {
      data.set(o, off);
      off += o.length;
    }
    return { data, shape: [b, ...outShape] };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** (C, size...) -> (size..., C). */
export function toChannelsLast(x: Float32Array, c: number, size: number[]): Float32Array {
  const per = size.reduce((a, n) => a * n, 1);
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < per; p++) out[p * c + ch] = x[ch * per + p] as number;
  return out;
}

/** (size..., C) -> (C, size...). */
export function toChannelsFirst(x: Float32Array, c: number, size: number[]): Float32Array {
  const per = size.reduce((a, n) => a * n, 1);
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < per; p++) out[ch * per + p] = x[p * c + ch] as number;
  return out;
}

/**
 * One sample's mapped output -> what inference expects: classify (K) scores whose softmax is the class probability
 * (logits as they are, probabilities as their log); segment (K, size...) per-class scores where > 0 means "this
 * class" (per-class logits; logit(p) of sigmoid probabilities; with a background channel, each class's score minus
 * the background's, so the largest positive one is the overall argmax).
 */
export function canonicalOutput(
  data: Float32Array,
  shape: number[],
  io: OnnxIoMapping,
  task: string,
  classes: number,
): Output {
  const dims = shape.slice(1);
  if (task === 'classify') {
    const out = Float32Array.from(data);
    if (io.scores === 'probabilities')
      for (let i = 0; i < out.length; i++) out[i] = Math.log(Math.max(out[i] as number, 1e-12));
    return { data: out, shape: [out.length] };
  }
  const kOut = (io.layout === 'nhwc' ? dims.at(-1) : dims[0]) ?? 1;
  const size = io.layout === 'nhwc' ? dims.slice(0, -1) : dims.slice(1);
  const planes = io.layout === 'nhwc' ? toChannelsFirst(data, kOut, size) : data;
  const per = size.reduce((a, n) => a * n, 1);
  const out = new Float32Array(classes * per);
  const logit = (p: number): number => {
    const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
    return Math.log(q / (1 - q));
  };
  for (let k = 0; k < classes; k++)
    for (let p = 0; p < per; p++) {
      if (io.background) out[k * per + p] = (planes[(k + 1) * per + p] as number) - (planes[p] as number);
      else {
        const v = planes[k * per + p] as number;
        out[k * per + p] = io.scores === 'probabilities' ? logit(v) : v;
      }
    }
  return { data: out, shape: [classes, ...size] };
}

// --- the decision cache ---------------------------------------------------------------------------------------

export interface RuntimeDecision {
  runtime: CpuRuntime;
  /** Median milliseconds per predict of each runtime on the measured input. */
  engineMs: number;
  onnxMs: number;
  /** Shape measured (B, C, size...). */
  shape: number[];
  runs: number;
  date: string;
  /** max|onnx − engine| / max|engine| on the measured input; above AGREE_TOLERANCE the engine is kept. */
  maxRel?: number;
  /** The ONNX graph measured: the registered file, or the checkpoint exported with an explicit rate input. */
  onnx?: OnnxVariant;
}

/** 'file': the registered model.onnx; 'rate-input': the checkpoint exported in memory with `rate` as an input. */
export type OnnxVariant = 'file' | 'rate-input';

/** The measurement doubles as a parity check on the real input: ONNX is only picked within this (the registration
 *  parity tolerance). */
export const AGREE_TOLERANCE = { rel: 1e-3, abs: 1e-4 };

export function disagreement(a: Output, b: Output): { maxAbs: number; maxRel: number } {
  if (a.shape.join(',') !== b.shape.join(',') || a.data.length !== b.data.length)
    return { maxAbs: Infinity, maxRel: Infinity };
  let num = 0,
    den = 0;
  for (let i = 0; i < b.data.length; i++) {
    const d = Math.abs((a.data[i] as number) - (b.data[i] as number));
    num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(b.data[i] as number));
  }
  return { maxAbs: num, maxRel: den === 0 ? num : num / den };
}

const isDecision = (v: unknown): v is RuntimeDecision => {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return (
    (d['runtime'] === 'engine' || d['runtime'] === 'onnx') &&
    typeof d['engineMs'] === 'number' &&
    typeof d['onnxMs'] === 'number'
  );
};

/** The decisions file (`runtime-choice.json` in the cache dir). Unreadable or malformed content reads as empty. */
export class RuntimeChoiceCache extends JsonRecordCache<RuntimeDecision> {
  constructor(file: string) {
    super(file, 'decisions', isDecision);
  }
}

export const CACHE_FILE = 'runtime-choice.json';

/** CPU model, compute threads and arch: a decision measured on one machine/setting is not reused on another. */
export function machineFingerprint(): string {
  return `${os.cpus()[0]?.model.trim() ?? 'unknown-cpu'}|threads=${computeThreads()}|${process.arch}`;
}

/** Spatial dims rounded up to powers of two, batch 1 or many: "b1:32x32", "bN:256x256". */
export function sizeBucket(shape: number[]): string {
  const pow2 = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
  return `b${(shape[0] ?? 1) > 1 ? 'N' : '1'}:${shape.slice(2).map(pow2).join('x')}`;
}

/** Counters, for tests and diagnostics: how many decisions were measured vs. read from the cache file. */
export const chooserStats = { measured: 0, cached: 0 };

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

type Choice = {
  runtime: CpuRuntime;
  /** measured here / read from the cache file / the only runtime the model has / forced by the caller / engine
   *  because the input is a non-uniform rescale the ONNX export would run at per-axis rates. */
  source: 'measured' | 'cache' | 'only' | 'forced' | 'rate';
  decision?: RuntimeDecision;
  /** Which ONNX graph runs when runtime is 'onnx'. */
  onnx?: OnnxVariant;
};

export interface ChooserOptions {
  mode?: RuntimeMode;
  cacheFile: string;
  engine?: Engine;
  /** Total time the measurement of one bucket aims to stay within (default 2000 ms). */
  budgetMs?: number;
}

/**
 * The runner inference uses: dispatches each call to the engine or onnxruntime as decided for its size bucket.
 * Opens each runtime lazily (a cached 'onnx' decision never loads the engine model, and vice versa).
 */
export class ModelRunner implements Predictor {
  /** Runtimes that ran at least one call. */
  readonly used = new Set<RuntimeKind>();
  /** Decisions made in this runner, by decisionKey (with the measured times when measured here or read from cache). */
  readonly decisions = new Map<string, Choice>();
  private readonly deciding = new Map<string, Promise<{ choice: Choice; output?: Output }>>();
  private enginePromise: Promise<EngineRunner> | null = null;
  private onnxPromise: Promise<OnnxRunner> | null = null;
  private rateOnnxPromise: Promise<OnnxRunner> | null = null;
  private hashPromise: Promise<string> | null = null;
  private readonly cache: RuntimeChoiceCache;

  constructor(
    readonly reg: RegisteredModel,
    private readonly opts: ChooserOptions,
  ) {
    this.cache = new RuntimeChoiceCache(opts.cacheFile);
    const mode = opts.mode ?? 'auto';
    if (mode === 'engine' && !reg.hasEngine)
      throw new AppError(
        'bad_request',
        `model '${reg.card.id}' has no engine checkpoint (an imported ONNX model); use --runtime onnx or auto`,
        'params.runtime',
      );
    if (mode === 'onnx' && !reg.onnx)
      throw new AppError(
        'bad_request',
        `model '${reg.card.id}' has no ONNX file; use --runtime engine or auto`,
        'params.runtime',
      );
  }

  /** The runtime that ran the last call (what the CLI reports for a single input). */
  runtime: RuntimeKind | null = null;

  private engineRunner(): Promise<EngineRunner> {
    this.enginePromise ??= EngineRunner.open(this.reg.checkpoint, this.opts.engine ?? new Engine());
    return this.enginePromise;
  }

  private onnxRunner(): Promise<OnnxRunner> {
    const file = this.reg.onnx;
    if (!file) return Promise.reject(new Error(`model '${this.reg.card.id}' has no ONNX file`));
    this.onnxPromise ??= readFile(file).then((bytes) =>
      OnnxRunner.open(bytes, {
        io: this.reg.card.onnx?.io ?? null,
        classes: Math.max(1, this.reg.card.classes.length),
        task: this.reg.card.task,
        threads: process.env['SSM_THREADS'] ? computeThreads() : 0,
      }),
    );
    return this.onnxPromise;
  }

  /** The checkpoint exported in memory with an explicit `rate` input (for non-uniformly rescaled inputs). */
  private rateOnnxRunner(): Promise<OnnxRunner> {
    this.rateOnnxPromise ??= (async () => {
      const engine = await this.engineRunner();
      const { exportOnnx, readExportState } = await import('../onnx/export.js');
      const state = await readExportState(this.reg.checkpoint);
      const bytes = exportOnnx(engine.model, { state, rate: 'input', producer: 'ssm-studio' });
      return OnnxRunner.open(bytes, { threads: process.env['SSM_THREADS'] ? computeThreads() : 0 });
    })();
    return this.rateOnnxPromise;
  }

  private onnxFor(variant: OnnxVariant): Promise<OnnxRunner> {
    return variant === 'rate-input' ? this.rateOnnxRunner() : this.onnxRunner();
  }

  /** sha256 over the model's files (checkpoint, then ONNX): a retrained or replaced model is measured afresh. */
  private modelHash(): Promise<string> {
    this.hashPromise ??= modelFilesHash(this.reg);
    return this.hashPromise;
  }

  /** The cache key of a bucket: model id, files hash, bucket, machine. */
  async cacheKey(shape: number[]): Promise<string> {
    return `${this.reg.card.id}|${await this.modelHash()}|${sizeBucket(shape)}|${machineFingerprint()}`;
  }

  /**
   * The ONNX graph that computes what the engine computes for this input: the registered file for a uniform rescale
   * (or when it takes the rate as an input), else the rate-input export of the checkpoint.
   */
  private async variantFor(shape: number[]): Promise<OnnxVariant> {
    if (!this.reg.hasEngine || this.uniform(shape)) return 'file';
    return (await this.onnxRunner()).takesRate ? 'file' : 'rate-input';
  }

  /** Whether the input is a uniform rescale of the training size (one S4ND rate on every axis). */
  private uniform(shape: number[]): boolean {
    const base = this.reg.card.input.size;
    const rates = shape.slice(2).map((s, a) => (base[a] ?? s) / s);
    const r0 = rates[0] ?? 1;
    return rates.every((r) => Math.abs(r - r0) <= 1e-9 * r0);
  }

  /** Key of `decisions`: the size bucket, plus '|rate-input' for a non-uniform rescale of an engine model. */
  decisionKey(shape: number[]): string {
    return `${sizeBucket(shape)}${this.reg.hasEngine && !this.uniform(shape) ? '|rate-input' : ''}`;
  }

  async predict(x: Float32Array, shape: number[], opts: RunOptions = {}): Promise<Output> {
    const bucket = this.decisionKey(shape);
    let d = this.decisions.get(bucket);
    const pending = this.deciding.get(bucket);
    if (!d && pending) d = (await pending).choice; // a concurrent call is deciding this bucket: wait for it
    if (!d) {
      const deciding = this.decide(x, shape, opts);
      this.deciding.set(bucket, deciding);
      const made = await deciding.finally(() => this.deciding.delete(bucket));
      d = made.choice;
      this.decisions.set(bucket, d);
      if (made.output) {
        this.used.add(d.runtime);
        this.runtime = d.runtime;
        return made.output;
      }
    }
    this.used.add(d.runtime);
    this.runtime = d.runtime;
    const runner = d.runtime === 'engine' ? await this.engineRunner() : await this.onnxFor(d.onnx ?? 'file');
    return runner.predict(x, shape, opts);
  }

  private async decide(
    x: Float32Array,
    shape: number[],
    opts: RunOptions,
  ): Promise<{ choice: Choice; output?: Output }> {
    const mode = this.opts.mode ?? 'auto';
    if (mode === 'engine') return { choice: { runtime: 'engine', source: 'forced' } };
    if (!this.reg.onnx) return { choice: { runtime: 'engine', source: 'only' } };
    if (!this.reg.hasEngine) return { choice: { runtime: 'onnx', source: 'only', onnx: 'file' } };
    let onnx = await this.variantFor(shape);
    if (onnx === 'rate-input') {
      // A layer the exporter cannot give a rate input (none today) leaves such inputs to the engine.
      const ok = await this.rateOnnxRunner().then(
        () => true,
        () => false,
      );
      if (!ok) {
        if (mode === 'onnx') onnx = 'file';
        else return { choice: { runtime: 'engine', source: 'rate' } };
      }
    }
    if (mode === 'onnx') return { choice: { runtime: 'onnx', source: 'forced', onnx } };
    const key = `${await this.cacheKey(shape)}${onnx === 'rate-input' ? '|rate-input' : ''}`;
    const hit = await this.cache.get(key);
    if (hit) {
      chooserStats.cached++;
      return { choice: { runtime: hit.runtime, source: 'cache', decision: hit, onnx } };
    }
    const { decision, output } = await this.measure(x, shape, opts, onnx);
    chooserStats.measured++;
    // A cache that cannot be written (read-only dir) costs a re-measurement next time, never the result.
    await this.cache.put(key, decision).catch(() => undefined);
    return { choice: { runtime: decision.runtime, source: 'measured', decision, onnx }, output };
  }

  /** Both runtimes on this input: one warm run each, then alternating timed runs; the faster median wins. */
  private async measure(
    x: Float32Array,
    shape: number[],
    opts: RunOptions,
    variant: OnnxVariant,
  ): Promise<{ decision: RuntimeDecision; output: Output }> {
    const runners: Record<CpuRuntime, Runner> = {
      engine: await this.engineRunner(),
      onnx: await this.onnxFor(variant),
    };
    const times: Record<CpuRuntime, number[]> = { engine: [], onnx: [] };
    const last: Partial<Record<CpuRuntime, Output>> = {};
    const once = async (k: CpuRuntime): Promise<number> => {
      const t0 = performance.now();
      last[k] = await runners[k].predict(x, shape, opts);
      return performance.now() - t0;
    };
    const warm = (await once('engine')) + (await once('onnx'));
    const reps = Math.max(1, Math.min(5, Math.floor((this.opts.budgetMs ?? 2000) / Math.max(warm, 1e-3))));
    for (let i = 0; i < reps; i++) {
      // Alternate which goes first so a slow-down in the middle of the measurement hits both.
      for (const k of i % 2 ? (['onnx', 'engine'] as const) : (['engine', 'onnx'] as const))
        times[k].push(await once(k));
    }
    const engineMs = median(times.engine);
    const onnxMs = median(times.onnx);
    if (!last.engine || !last.onnx) throw new Error('unreachable: no output after measuring');
    const e = disagreement(last.onnx, last.engine);
    const agree = e.maxRel <= AGREE_TOLERANCE.rel || e.maxAbs <= AGREE_TOLERANCE.abs;
    const runtime: CpuRuntime = agree && onnxMs < engineMs ? 'onnx' : 'engine';
    return {
      decision: {
        runtime,
        engineMs,
        onnxMs,
        shape,
        runs: reps,
        date: new Date().toISOString(),
        maxRel: Number.isFinite(e.maxRel) ? e.maxRel : -1,
        onnx: variant,
      },
      output: last[runtime] as Output,
    };
  }

  async dispose(): Promise<void> {
    const all = [this.onnxPromise, this.rateOnnxPromise, this.enginePromise];
    this.enginePromise = this.onnxPromise = this.rateOnnxPromise = null;
    // ONNX sessions first: the rate-input export holds no reference to the engine model once built.
    await Promise.allSettled(all.map((p) => p?.then((r) => r.dispose())));
  }
}

/** Opens the chooser over a registered model; decisions go to <cacheDir>/runtime-choice.json. */
export function openRunner(
  reg: RegisteredModel,
  opts: { cacheDir: string; mode?: RuntimeMode; engine?: Engine; budgetMs?: number },
): ModelRunner {
  return new ModelRunner(reg, {
    cacheFile: path.join(opts.cacheDir, CACHE_FILE),
    mode: opts.mode ?? 'auto',
    ...(opts.engine ? { engine: opts.engine } : {}),
    ...(opts.budgetMs !== undefined ? { budgetMs: opts.budgetMs } : {}),
  });
}
