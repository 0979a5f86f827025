// The shape of the native engine binding (native/src/binding/engine_binding.cc, op_binding.cc), declared once.
// Every function is marked [sync] (runs on the calling thread) or [async] (queued on the engine's own thread,
// returns a Promise). Arguments are validated by the TypeScript layer (model.ts, spec.ts) before they get here;
// the native side re-checks only lengths and types needed for memory safety and throws TypeError on those.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A cancellation flag shared with native code. Created by {@link EngineBinding.createCancelToken}. */
export interface NativeCancelToken {
  /** [sync] Sets the flag; the running or queued call stops at its next op boundary. */
  cancel(): void;
  /** [sync] Whether cancel() was called. */
  readonly cancelled: boolean;
}

export interface NativeStepResult {
  /** Loss before the update. */
  loss: number;
  /** Global L2 norm of the gradients, before clipping. */
  gradNorm: number;
  /** Optimizer steps taken so far, including this one. */
  step: number;
}

export interface NativeTensor {
  data: Float32Array;
  shape: number[];
}

export interface NativeParamInfo {
  name: string;
  shape: number[];
  /** Optimizer group: 'decay' | 'no_decay' | 'ssm'. */
  group: string;
}

/**
 * A built model. Async calls on one model run in call order. Rejections are Errors with `code`
 * 'ERR_CANCELLED' (message "<call> cancelled") or 'ERR_ENGINE' (message "<call>: <reason>").
 */
export interface NativeModel {
  /** [async] One training step: forward, loss, backward, clip, AdamW update. Cancelled steps do not update. */
  trainStep(
    x: Float32Array,
    xShape: number[],
    targets: Float32Array,
    targetShape: number[],
    lr: number,
    ssmLr: number,
    rate: number,
    cancel: NativeCancelToken | undefined,
  ): Promise<NativeStepResult>;
  /** [async] Inference (no dropout, no tape). */
  predict(
    x: Float32Array,
    xShape: number[],
    rate: number,
    cancel: NativeCancelToken | undefined,
  ): Promise<NativeTensor>;
  /** [async] Loss without an update (evaluation mode). */
  evalLoss(
    x: Float32Array,
    xShape: number[],
    targets: Float32Array,
    targetShape: number[],
    rate: number,
    cancel: NativeCancelToken | undefined,
  ): Promise<number>;
  /** [async] Writes a safetensors checkpoint (atomic: temp file + rename). Rejects on I/O errors. */
  save(path: string): Promise<void>;
  /** [async] Loads a checkpoint saved from the same spec. Rejects (model untouched) on a missing/corrupt file,
   *  unknown or missing tensors, or shape mismatches. */
  load(path: string): Promise<void>;
  /** [sync] Named parameters in creation order. */
  params(): NativeParamInfo[];
  /** [sync] A copy of one parameter. Throws on an unknown name or while async calls are pending. */
  getParam(name: string): Float32Array;
  /** [sync] Overwrites one parameter. Throws on an unknown name, a wrong length, or while calls are pending. */
  setParam(name: string, values: Float32Array): void;
  /** [sync] Number of trainable scalars. */
  paramCount(): number;
  /** [sync] AdamW steps taken. */
  optimizerStep(): number;
  /** [sync] Releases the model (after pending calls finish). Later calls throw "the model was disposed". */
  dispose(): void;
}

export interface OpResult {
  output: Float32Array;
  shape: number[];
  /** Gradient per input, null for inputs that take none (loss targets). Empty when no upstream was given. */
  grads: (Float32Array | null)[];
}

export interface EngineBinding {
  readonly version: string;
  /** [sync] Builds a model from a normalised spec (see spec.ts) and a seed. Throws Error("createModel: ..."). */
  NativeModel: new (specJson: string, seed: number) => NativeModel;
  /** [sync] A fresh cancel token. */
  createCancelToken(): NativeCancelToken;
  /** [sync] Resizes the compute thread pool (n <= 0: machine default). Not while a call runs. */
  setThreads(n: number): void;
  /** [sync] Buffer pool statistics (fresh allocations so far, bytes held) and pool thread count. */
  poolStats(): { allocations: number; bytesHeld: number; threads: number };
  /** [sync] Test entry point: checks that an exception inside a parallel loop reaches the caller and that the
   *  pool still runs in parallel afterwards. Returns the caught message and the threads used after. */
  poolSelfTest(): { caught: string; threadsAfter: number };
  /** [sync] Frees the idle buffers of the tensor pool. Throws while async calls are running. */
  trimPool(): void;
  /**
   * [sync] Test entry point: runs one op (ops/ops.h) and back-propagates `upstream` through it.
   * attrsJson holds the op's options (e.g. {"stride":[2,2]}). Throws Error("opForwardBackward: ...").
   */
  opForwardBackward(
    op: string,
    inputs: Float32Array[],
    shapes: number[][],
    attrsJson: string,
    upstream: Float32Array | null,
  ): OpResult;
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** Finds the repository root from this file (main/engine/ in source, dist/main/engine/ when compiled). */
function repoRoot(): string {
  let dir = here;
  for (let i = 0; i < 5; i++) {
    if (path.basename(dir) === 'main') {
      const parent = path.dirname(dir);
      return path.basename(parent) === 'dist' ? path.dirname(parent) : parent;
    }
    dir = path.dirname(dir);
  }
  return path.resolve(here, '..', '..');
}

let cached: EngineBinding | undefined;

/** Loads the addon once. Throws with the build command when it is missing. */
export function loadEngine(): EngineBinding {
  if (cached) return cached;
  const file = path.join(repoRoot(), 'native', 'build', 'Release', 'ssm_engine.node');
  const require = createRequire(import.meta.url);
  try {
    cached = require(file) as EngineBinding;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `cannot load the native engine from ${file} (${reason}); build it with: node scripts/build.mjs native`,
    );
  }
  return cached;
}
