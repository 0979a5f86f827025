// The engine's TypeScript API: validate a spec, build a model once, then train / predict / checkpoint it.
// Every heavy call is one async native call that runs on the engine thread; the JS thread stays free.
import { open } from 'node:fs/promises';

import {
  loadEngine,
  type EngineBinding,
  type NativeCancelToken,
  type NativeModel,
  type NativeParamInfo,
} from './binding.js';
import { inferOutput, validateSpec, type ModelSpec, type NormalizedSpec, type SampleShape } from './spec.js';

/** A batch: x is (B, C, ...size) channels-first; targets are class labels (B) or a tensor shaped like the output. */
export interface Batch {
  x: Float32Array;
  shape: number[];
  targets: Float32Array;
}

export interface TrainOptions {
  /** Base learning rate for this step (e.g. from warmupCosineLr). */
  lr: number;
  /** SSM-parameter learning rate; default lr * optimizer.ssm_lr_scale. */
  ssmLr?: number;
  /** S4ND resolution factor (1 = training resolution). */
  rate?: number;
  signal?: AbortSignal;
}

export interface PredictOptions {
  rate?: number;
  signal?: AbortSignal;
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  step: number;
}

export interface Prediction {
  data: Float32Array;
  shape: number[];
}

/** Rejection of an engine call. code: ERR_CANCELLED | ERR_ENGINE | ERR_ARGUMENT | ERR_DISPOSED. */
export class EngineError extends Error {
  constructor(
    message: string,
    readonly code: 'ERR_CANCELLED' | 'ERR_ENGINE' | 'ERR_ARGUMENT' | 'ERR_DISPOSED',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EngineError';
  }
}

function rethrow(err: unknown): never {
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    if (code === 'ERR_CANCELLED') throw new EngineError(err.message, 'ERR_CANCELLED', { cause: err });
    if (err.message.includes('was disposed')) throw new EngineError(err.message, 'ERR_DISPOSED', { cause: err });
    throw new EngineError(err.message, 'ERR_ENGINE', { cause: err });
  }
  throw new EngineError(String(err), 'ERR_ENGINE');
}

const argError = (msg: string): EngineError => new EngineError(msg, 'ERR_ARGUMENT');

/** Links an AbortSignal to a native cancel token for the duration of one call. */
async function withCancel<T>(
  binding: EngineBinding,
  what: string,
  signal: AbortSignal | undefined,
  run: (token: NativeCancelToken | undefined) => Promise<T>,
): Promise<T> {
  if (!signal) {
    try {
      return await run(undefined);
    } catch (err) {
      rethrow(err);
    }
  }
  if (signal.aborted) throw new EngineError(`${what} cancelled`, 'ERR_CANCELLED');
  const token = binding.createCancelToken();
  const onAbort = (): void => token.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await run(token);
  } catch (err) {
    rethrow(err);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function checkFinite(name: string, v: number, min = -Infinity): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min)
    throw argError(`${name} must be a finite number >= ${min}, got ${v}`);
}

export class Model {
  private readonly outputs = new Map<string, SampleShape>();
  private disposed = false;

  private constructor(
    private readonly binding: EngineBinding,
    private readonly native: NativeModel,
    /** The normalised spec the model was built from. */
    readonly spec: NormalizedSpec,
    readonly seed: number,
  ) {}

  /** Validates the spec (throws SpecError) and builds the model with parameters initialised from `seed`. */
  static create(spec: ModelSpec | unknown, seed: number, binding: EngineBinding = loadEngine()): Model {
    if (!Number.isSafeInteger(seed) || seed < 0) throw argError(`seed must be a non-negative integer, got ${seed}`);
    const { spec: normalized } = validateSpec(spec);
    const native = new binding.NativeModel(JSON.stringify(normalized), seed);
    return new Model(binding, native, normalized, seed);
  }

  /** Reads a checkpoint's spec and seed, builds that model, and loads the weights and optimizer state. */
  static async fromCheckpoint(path: string, binding: EngineBinding = loadEngine()): Promise<Model> {
    const meta = await readCheckpointMetadata(path);
    const specText = meta['spec'];
    const seedText = meta['seed'];
    if (specText === undefined || seedText === undefined)
      throw argError(`checkpoint '${path}': no model spec in its metadata`);
    let spec: unknown;
    try {
      spec = JSON.parse(specText);
    } catch {
      throw argError(`checkpoint '${path}': the model spec in its metadata is not JSON`);
    }
    const model = Model.create(spec, Number(seedText), binding);
    await model.load(path);
    return model;
  }

  private live(what: string): NativeModel {
    if (this.disposed) throw new EngineError(`${what}: the model was disposed`, 'ERR_DISPOSED');
    return this.native;
  }

  /** Output shape of one sample for a given spatial input size (validated like the spec). */
  outputShape(size: number[]): SampleShape {
    const key = size.join('x');
    let s = this.outputs.get(key);
    if (!s) {
      s = inferOutput(this.spec, size);
      this.outputs.set(key, s);
    }
    return s;
  }

  private checkInput(what: string, x: Float32Array, shape: number[]): { batch: number; out: SampleShape } {
    const want = 2 + this.spec.input.size.length;
    if (!Array.isArray(shape) || shape.length !== want || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw argError(
        `${what}: shape must be [B, ${this.spec.input.channels}, ${this.spec.input.size.map(() => '…').join(', ')}] with positive integers, got ${JSON.stringify(shape)}`,
      );
    }
    if (shape[1] !== this.spec.input.channels) {
      throw argError(`${what}: the model takes ${this.spec.input.channels} input channel(s), got ${shape[1]}`);
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (!(x instanceof Float32Array) || x.length !== n) {
      throw argError(
        `${what}: x must be a Float32Array of ${n} values for shape ${JSON.stringify(shape)}, got ${x instanceof Float32Array ? x.length : typeof x}`,
      );
    }
    return { batch: shape[0] ?? 0, out: this.outputShape(shape.slice(2)) };
  }

  private targetShape(what: string, batch: number, out: SampleShape, targets: Float32Array): number[] {
    if (!(targets instanceof Float32Array)) throw argError(`${what}: targets must be a Float32Array`);
    if (this.spec.loss.type === 'cross_entropy') {
      const k = out.kind === 'flat' ? out.features : 0;
      if (targets.length !== batch) throw argError(`${what}: expected ${batch} class labels, got ${targets.length}`);
      targets.forEach((v, i) => {
        if (!Number.isInteger(v) || v < 0 || v >= k)
          throw argError(`${what}: label ${v} at index ${i} is not a class in [0, ${k})`);
      });
      return [batch];
    }
    const dims = out.kind === 'flat' ? [out.features] : [out.channels, ...out.size];
    const shape = [batch, ...dims];
    const n = shape.reduce((a, b) => a * b, 1);
    if (targets.length !== n)
      throw argError(
        `${what}: targets need ${n} values for output shape ${JSON.stringify(shape)}, got ${targets.length}`,
      );
    return shape;
  }

  /** [async] One training step (forward, loss, backward, clipping, AdamW). Cancelling via `signal` rejects with
   *  EngineError code ERR_CANCELLED and leaves the parameters unchanged. */
  async trainStep(batch: Batch, opts: TrainOptions): Promise<StepResult> {
    const native = this.live('trainStep');
    const { batch: b, out } = this.checkInput('trainStep', batch.x, batch.shape);
    const tshape = this.targetShape('trainStep', b, out, batch.targets);
    checkFinite('lr', opts.lr, 0);
    const ssmLr = opts.ssmLr ?? opts.lr * this.spec.optimizer.ssm_lr_scale;
    checkFinite('ssmLr', ssmLr, 0);
    const rate = opts.rate ?? 1;
    checkFinite('rate', rate, 1e-3);
    return withCancel(this.binding, 'trainStep', opts.signal, (token) =>
      native.trainStep(batch.x, batch.shape, batch.targets, tshape, opts.lr, ssmLr, rate, token),
    );
  }

  /** [async] Inference (evaluation mode: no dropout). */
  async predict(x: Float32Array, shape: number[], opts: PredictOptions = {}): Promise<Prediction> {
    const native = this.live('predict');
    this.checkInput('predict', x, shape);
    const rate = opts.rate ?? 1;
    checkFinite('rate', rate, 1e-3);
    return withCancel(this.binding, 'predict', opts.signal, (token) => native.predict(x, shape, rate, token));
  }

  /** [async] Loss of a batch in evaluation mode, without an update. */
  async evalLoss(batch: Batch, opts: PredictOptions = {}): Promise<number> {
    const native = this.live('evalLoss');
    const { batch: b, out } = this.checkInput('evalLoss', batch.x, batch.shape);
    const tshape = this.targetShape('evalLoss', b, out, batch.targets);
    const rate = opts.rate ?? 1;
    checkFinite('rate', rate, 1e-3);
    return withCancel(this.binding, 'evalLoss', opts.signal, (token) =>
      native.evalLoss(batch.x, batch.shape, batch.targets, tshape, rate, token),
    );
  }

  /** [async] Saves weights, optimizer state and spec as a safetensors checkpoint. */
  async save(path: string): Promise<void> {
    const native = this.live('save');
    try {
      await native.save(path);
    } catch (err) {
      rethrow(err);
    }
  }

  /** [async] Loads a checkpoint of this model; on failure the model is unchanged. */
  async load(path: string): Promise<void> {
    const native = this.live('load');
    try {
      await native.load(path);
    } catch (err) {
      rethrow(err);
    }
  }

  params(): NativeParamInfo[] {
    return this.live('params').params();
  }

  getParam(name: string): Float32Array {
    try {
      return this.live('getParam').getParam(name);
    } catch (err) {
      rethrow(err);
    }
  }

  setParam(name: string, values: Float32Array): void {
    try {
      this.live('setParam').setParam(name, values);
    } catch (err) {
      rethrow(err);
    }
  }

  paramCount(): number {
    return this.live('paramCount').paramCount();
  }

  optimizerStep(): number {
    return this.live('optimizerStep').optimizerStep();
  }

  /** Frees the native model (after any pending call). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.native.dispose();
  }
}

/** Entry point: loads the addon once and makes models. */
export class Engine {
  constructor(readonly binding: EngineBinding = loadEngine()) {}

  /** Validates `spec` (throws SpecError) and builds it with parameters initialised from `seed`. */
  createModel(spec: ModelSpec | unknown, seed: number): Model {
    return Model.create(spec, seed, this.binding);
  }

  /** Builds the model stored in a checkpoint and loads its weights and optimizer state. */
  loadModel(path: string): Promise<Model> {
    return Model.fromCheckpoint(path, this.binding);
  }

  /** Compute threads for all models (n <= 0: machine default, or env SSM_THREADS). */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n > 256) throw argError(`threads must be an integer <= 256, got ${n}`);
    this.binding.setThreads(n);
  }
}

/** Reads the `__metadata__` of a safetensors file (only the header is read). Throws EngineError on a malformed
 *  header. */
export async function readCheckpointMetadata(path: string): Promise<Record<string, string>> {
  const bad = (what: string): EngineError => argError(`checkpoint '${path}': ${what}`);
  const file = await open(path, 'r');
  let text: string;
  try {
    const { size } = await file.stat();
    const len = Buffer.alloc(8);
    if (size < 8 || (await file.read(len, 0, 8, 0)).bytesRead !== 8) {
      throw bad(`file is ${size} bytes, too short for a safetensors header`);
    }
    const n = len.readBigUInt64LE(0);
    if (n > BigInt(size - 8) || n > 100n * 1024n * 1024n) {
      throw bad(`header length ${n} does not fit in a file of ${size} bytes`);
    }
    const header = Buffer.alloc(Number(n));
    await file.read(header, 0, header.length, 8);
    text = header.toString('utf8');
  } finally {
    await file.close();
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('header is not valid JSON');
  }
  const meta =
    typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['__metadata__'] : undefined;
  if (typeof meta !== 'object' || meta === null) throw bad('no __metadata__');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') out[k] = v;
  return out;
}
