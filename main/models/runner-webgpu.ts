// onnxruntime's WebGPU execution provider as the GPU backend's runtime for models that have an ONNX file.
//
// Before a model first runs on that EP here, the registration parity check runs on it (main/onnx/parity.ts with the
// EP's session, the held-out inputs of the manager at two resolutions, PARITY_TOLERANCE): engine vs ORT-WebGPU. An
// imported third-party ONNX model has no engine; its reference is onnxruntime's CPU EP on seeded inputs at its
// declared size, compared with the same tolerance. The verdict (pass or fail, with the measured errors) is written to
// <cacheDir>/webgpu-parity.json keyed by model id + sha256 of the model files + ONNX variant + adapter description +
// machine fingerprint, so later uses check nothing; a corrupt or foreign file is ignored (and rewritten on the next
// verdict). An EP that cannot start or a failed check throws WebGpuUnavailableError with the reason: the caller
// (route.ts) falls back.
//
// Like the CPU chooser (runner.ts), inputs that are a non-uniform rescale of the training size (one S4ND rate for the
// engine, per-axis rates in the registered export) run on the checkpoint exported in memory with `rate` as an input,
// itself parity-checked on the EP (its own cache key, variant 'rate-input'); if that graph cannot be built or fails,
// those inputs run on the CPU engine, counted in cpuPredictions with the reason.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import type { RuntimeKind } from '../../contract/models.js';
import { Engine, type Model } from '../engine/model.js';
import { JsonRecordCache, modelFilesHash } from './json-cache.js';
import { parityInputs, PARITY_TOLERANCE, type RegisteredModel } from './manager.js';
import {
  disagreement,
  machineFingerprint,
  OnnxRunner,
  type OnnxVariant,
  type Output,
  type Predictor,
} from './runner.js';
import type { RunOptions } from './runner.js';

export const WEBGPU_PARITY_FILE = 'webgpu-parity.json';

/** The parity check's outcome for one model file set, ONNX variant, adapter and machine. */
export interface WebGpuVerdict {
  ok: boolean;
  /** Spatial sizes checked and max|ort-webgpu − reference| / max|reference| at each. */
  sizes: number[][];
  maxRel: number[];
  date: string;
}

/** Raised when a model cannot run on onnxruntime's WebGPU EP here; the message is the reason reported. */
export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

/** Counters, for tests and diagnostics: parity checks run here vs verdicts read from the cache file. */
export const webgpuParityStats = { checked: 0, cached: 0 };

const isVerdict = (v: unknown): v is WebGpuVerdict => {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return typeof d['ok'] === 'boolean' && Array.isArray(d['sizes']) && Array.isArray(d['maxRel']);
};

/** The verdicts file. Unreadable or malformed content reads as empty. */
export class WebGpuParityCache extends JsonRecordCache<WebGpuVerdict> {
  constructor(file: string) {
    super(file, 'verdicts', isVerdict);
  }
}

/**
 * [async] The adapter onnxruntime's WebGPU EP will use, as dawn.node describes it (both ask Dawn for the default
 * adapter on the same Vulkan environment); part of the verdict's key.
 */
export async function webGpuAdapterDescription(): Promise<string> {
  const { listAdapters } = await import('../gpu/device.js');
  const a = (await listAdapters().catch(() => []))[0];
  if (!a) return 'no adapter';
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'WebGPU adapter';
}

/** Whether `shape` (B, C, size...) is a uniform rescale of `base` (one S4ND rate on every axis). */
function uniform(base: number[], shape: number[]): boolean {
  const rates = shape.slice(2).map((s, a) => (base[a] ?? s) / s);
  const r0 = rates[0] ?? 1;
  return rates.every((r) => Math.abs(r - r0) <= 1e-9 * r0);
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export interface WebGpuRunnerOptions {
  /** App cache dir (the verdicts file). */
  cacheDir: string;
  engine?: Engine;
  /** The model's checkpoint already loaded by the caller (kept by the caller; else loaded when needed). */
  model?: Model;
}

/** A registered model on onnxruntime's WebGPU EP, after its parity check. */
export class WebGpuOnnxRunner implements Predictor {
  readonly kind = 'onnx-webgpu' as const;
  /** Runtimes that ran at least one call ('engine': inputs the EP graph could not take, on the CPU). */
  readonly used = new Set<RuntimeKind>();
  /** Predictions that ran on the CPU engine (non-uniform rescales whose rate-input graph is unavailable), and why. */
  cpuPredictions = 0;
  cpuReason: string | null = null;
  private rateRunner: Promise<OnnxRunner | null> | null = null;
  private modelPromise: Promise<Model> | null;
  private ownModel: Promise<Model> | null = null;

  private constructor(
    readonly reg: RegisteredModel,
    private readonly opts: WebGpuRunnerOptions,
    private readonly file: OnnxRunner,
    /** The adapter description (dawn.node's view of the default adapter). */
    readonly adapter: string,
    private readonly hash: string,
    private readonly cache: WebGpuParityCache,
  ) {
    this.modelPromise = opts.model ? Promise.resolve(opts.model) : null;
  }

  /**
   * [async] Opens the model's ONNX file on the WebGPU EP and checks it (or reads its cached verdict). Throws
   * WebGpuUnavailableError with the reason when the model has no ONNX file, the EP cannot start, or the check fails.
   */
  static async open(reg: RegisteredModel, opts: WebGpuRunnerOptions): Promise<WebGpuOnnxRunner> {
    if (!reg.onnx) throw new WebGpuUnavailableError(`model '${reg.card.id}' has no ONNX file`);
    const bytes = new Uint8Array(await readFile(reg.onnx));
    const hash = await modelFilesHash(reg, bytes);
    const adapter = await webGpuAdapterDescription();
    const cache = new WebGpuParityCache(path.join(opts.cacheDir, WEBGPU_PARITY_FILE));
    const key = WebGpuOnnxRunner.key(reg, hash, 'file', adapter);
    const hit = await cache.get(key);
    if (hit && !hit.ok) {
      webgpuParityStats.cached++;
      throw new WebGpuUnavailableError(`${failure(hit)} (verdict cached ${hit.date})`);
    }
    const file = await OnnxRunner.open(bytes, {
      ep: 'webgpu',
      io: reg.card.onnx?.io ?? null,
      classes: Math.max(1, reg.card.classes.length),
      task: reg.card.task,
    }).catch((e: unknown) => {
      throw new WebGpuUnavailableError(`onnxruntime's WebGPU EP could not start: ${message(e).split('\n')[0]}`);
    });
    const runner = new WebGpuOnnxRunner(reg, opts, file, adapter, hash, cache);
    if (hit) {
      webgpuParityStats.cached++;
      return runner;
    }
    try {
      const verdict = await runner.check(file, bytes);
      await cache.put(key, verdict).catch(() => undefined); // an unwritable cache costs a re-check, never the result
      if (!verdict.ok) throw new WebGpuUnavailableError(failure(verdict));
      return runner;
    } catch (e) {
      await runner.dispose();
      throw e instanceof WebGpuUnavailableError ? e : new WebGpuUnavailableError(`parity check: ${message(e)}`);
    }
  }

  private static key(reg: RegisteredModel, hash: string, variant: OnnxVariant, adapter: string): string {
    return `${reg.card.id}|${hash}|${variant}|${adapter}|${machineFingerprint()}`;
  }

  /** The engine model (parity reference, rate-input export, CPU fallback). */
  private model(): Promise<Model> {
    if (!this.modelPromise) {
      this.ownModel = (this.opts.engine ?? new Engine()).loadModel(this.reg.checkpoint);
      this.modelPromise = this.ownModel;
    }
    return this.modelPromise;
  }

  /** The parity check of one graph on the EP: engine vs EP (ours), or onnxruntime CPU vs EP (imported). */
  private async check(runner: OnnxRunner, bytes: Uint8Array): Promise<WebGpuVerdict> {
    webgpuParityStats.checked++;
    const date = new Date().toISOString();
    if (this.reg.hasEngine) {
      const { checkParity } = await import('../onnx/parity.js');
      const model = await this.model();
      const inputs = parityInputs(model, this.reg.card.input.multiple);
      const r = await checkParity(model, bytes, inputs, PARITY_TOLERANCE, { session: runner.session });
      return { ok: r.ok, sizes: r.resolutions.map((x) => x.size), maxRel: r.resolutions.map((x) => x.maxRel), date };
    }
    // Imported: seeded inputs at the declared size, onnxruntime CPU as the reference.
    const cpu = await OnnxRunner.open(bytes, {
      io: this.reg.card.onnx?.io ?? null,
      classes: Math.max(1, this.reg.card.classes.length),
      task: this.reg.card.task,
    });
    try {
      const size = this.reg.card.onnx?.io?.fixedSize ?? this.reg.card.input.size;
      const shape = [1, this.reg.card.input.channels, ...size];
      let s = 12345;
      const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
        s = (s * 1103515245 + 12345) % 2147483648;
        return (s / 2147483648) * 2 - 1;
      });
      const e = disagreement(await runner.predict(x, shape), await cpu.predict(x, shape));
      const ok = e.maxRel <= PARITY_TOLERANCE.rel || e.maxAbs <= PARITY_TOLERANCE.abs;
      return { ok, sizes: [size], maxRel: [e.maxRel], date };
    } finally {
      await cpu.dispose();
    }
  }

  /** The checkpoint exported with an explicit rate input, checked on the EP; null (with cpuReason) when unavailable. */
  private rateInputRunner(): Promise<OnnxRunner | null> {
    this.rateRunner ??= (async () => {
      try {
        const model = await this.model();
        const { exportOnnx, readExportState } = await import('../onnx/export.js');
        const state = await readExportState(this.reg.checkpoint);
        const bytes = exportOnnx(model, { state, rate: 'input', producer: 'ssm-studio' });
        const key = WebGpuOnnxRunner.key(this.reg, this.hash, 'rate-input', this.adapter);
        const hit = await this.cache.get(key);
        if (hit && !hit.ok) throw new WebGpuUnavailableError(failure(hit));
        const runner = await OnnxRunner.open(bytes, { ep: 'webgpu' });
        if (hit) webgpuParityStats.cached++;
        else {
          const verdict = await this.check(runner, bytes);
          await this.cache.put(key, verdict).catch(() => undefined);
          if (!verdict.ok) {
            await runner.dispose();
            throw new WebGpuUnavailableError(failure(verdict));
          }
        }
        return runner;
      } catch (e) {
        this.cpuReason = `non-uniformly rescaled inputs: the rate-input export is unavailable on webgpu (${message(e)})`;
        return null;
      }
    })();
    return this.rateRunner;
  }

  async predict(x: Float32Array, shape: number[], opts: RunOptions = {}): Promise<Output> {
    if (!this.reg.hasEngine || this.file.takesRate || uniform(this.reg.card.input.size, shape)) {
      this.used.add('onnx-webgpu');
      return this.file.predict(x, shape, opts);
    }
    const rated = await this.rateInputRunner();
    if (rated) {
      this.used.add('onnx-webgpu');
      return rated.predict(x, shape, opts);
    }
    this.used.add('engine');
    this.cpuPredictions++;
    return (await this.model()).predict(x, shape, opts);
  }

  async dispose(): Promise<void> {
    const rate = this.rateRunner;
    this.rateRunner = null;
    await Promise.allSettled([this.file.dispose(), rate?.then((r) => r?.dispose())]);
    const own = this.ownModel;
    this.ownModel = this.modelPromise = null;
    if (own) (await own.catch(() => null))?.dispose();
  }
}

function failure(v: WebGpuVerdict): string {
  const at = v.sizes.map((s, i) => `${s.join('×')} max rel ${(v.maxRel[i] ?? NaN).toExponential(2)}`).join(', ');
  return `the ONNX parity check failed on onnxruntime webgpu: ${at} (tolerance ${PARITY_TOLERANCE.rel})`;
}
