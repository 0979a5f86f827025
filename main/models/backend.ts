// The compute backend of a training or inference job: the CPU engine, or WebGPU (main/gpu) with a CPU fallback.
//
// Selection: a job's params may name a backend; otherwise the job process reads the app's Settings.backend from
// <dataDir>/settings.json (the job host passes dataDir to every job; main/app/services.ts keeps that setting on the
// GPU detection's recommendation until the user picks one). The job process must see the same Vulkan environment
// as the app (it inherits the app's environment: VK_ICD_FILENAMES for SwiftShader on a machine without a GPU).
//
// `ModelBackend` wraps the GPU Trainer (main/gpu/graph/trainer.ts): the CPU `Model` stays the model of record, steps
// and predictions run on the GPU when asked for and possible, and any GPU failure moves the work to the CPU with the
// reason (nothing lost). Predictions at an input the GPU cannot take (e.g. an FFT longer than the device allows) run
// on the CPU for that call only.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import type { BackendReport } from '../../contract/models.js';
import type { Batch, Model, PredictOptions, Prediction, TrainOptions } from '../engine/model.js';
import { GpuUnsupportedError } from '../gpu/graph/executor.js';
import { Trainer, type BackendName, type TrainerStep } from '../gpu/graph/trainer.js';
import type { GpuRuntime } from '../gpu/runtime.js';

export type { BackendName };

export interface BackendOptions {
  backend: BackendName;
  /** A GPU runtime to use instead of acquiring a device (tests: a device they can destroy). */
  runtime?: GpuRuntime;
  /** GPU → CPU state copies every N steps (bounds the replay after a device loss; Trainer's default 20). */
  snapshotEvery?: number;
}

/** The app's Settings.backend as saved in <dataDir>/settings.json ('cpu' when missing or unreadable). */
export async function readBackendSetting(dataDir: string): Promise<BackendName> {
  try {
    const s = JSON.parse(await readFile(path.join(dataDir, 'settings.json'), 'utf8')) as { backend?: unknown };
    return s.backend === 'webgpu' ? 'webgpu' : 'cpu';
  } catch {
    return 'cpu';
  }
}

export class ModelBackend {
  /** Predictions that ran on the CPU although the GPU was in use (input sizes the GPU cannot take), and why. */
  cpuPredictions = 0;
  gpuPredictions = 0;
  private cpuPredictReason: string | null = null;

  private constructor(
    readonly model: Model,
    private readonly trainer: Trainer,
  ) {}

  /** Puts `model` on the requested backend, or on the CPU with the reason (never throws for "no GPU"). */
  static async open(model: Model, opts: BackendOptions): Promise<ModelBackend> {
    try {
      const t = await Trainer.create(model, {
        backend: opts.backend,
        ...(opts.runtime ? { runtime: opts.runtime } : {}),
        ...(opts.snapshotEvery ? { snapshotEvery: opts.snapshotEvery } : {}),
      });
      return new ModelBackend(model, t);
    } catch (e) {
      if (opts.backend === 'cpu') throw e;
      // Anything else that goes wrong putting the model on the GPU (a lost or broken device): the CPU, with why.
      const t = await Trainer.create(model, { backend: 'cpu' });
      t.status.requested = 'webgpu';
      t.status.reason = `the GPU could not take the model: ${e instanceof Error ? e.message : String(e)}`;
      return new ModelBackend(model, t);
    }
  }

  /** Where the work runs now. */
  report(): BackendReport {
    const s = this.trainer.status;
    let reason = s.reason;
    if (reason === null && s.backend === 'webgpu' && this.cpuPredictReason !== null)
      reason = `${this.cpuPredictions} prediction(s) ran on the CPU: ${this.cpuPredictReason}`;
    return { requested: s.requested, used: s.backend, adapter: s.adapter, reason };
  }

  /** One line for progress messages: "webgpu (adapter)" or "cpu (webgpu: reason)". */
  describe(): string {
    const r = this.report();
    if (r.used === 'webgpu') return `webgpu${r.adapter ? ` (${r.adapter})` : ''}`;
    return r.requested === 'webgpu' ? `cpu (webgpu not used: ${r.reason ?? 'unknown reason'})` : 'cpu';
  }

  trainStep(batch: Batch, opts: TrainOptions): Promise<TrainerStep> {
    return this.trainer.trainStep(batch, opts);
  }

  /** Brings the CPU model up to date with the GPU state (before saving it or reading its parameters). */
  async sync(): Promise<void> {
    // Every GPU step since the last copy is kept for replay: none kept means the CPU model is current.
    if (this.trainer.pendingSteps > 0) await this.trainer.sync();
  }

  async predict(x: Float32Array, shape: number[], opts: PredictOptions = {}): Promise<Prediction> {
    if (this.trainer.status.backend === 'webgpu') {
      try {
        const p = await this.trainer.predict(x, shape, opts);
        if (this.trainer.status.backend === 'webgpu') this.gpuPredictions++;
        return p;
      } catch (e) {
        if (!(e instanceof GpuUnsupportedError)) throw e;
        // This input only: the GPU stays in use for the others. The CPU model must be current first.
        if (this.trainer.pendingSteps > 0) await this.trainer.sync();
        this.cpuPredictions++;
        this.cpuPredictReason = e.message;
      }
    }
    return this.model.predict(x, shape, opts);
  }

  /** The model with `predict` running here, for code written against the engine's Model (inference, evaluation). */
  asModel(): Model {
    const predict = this.predict.bind(this);
    return new Proxy(this.model, {
      get: (target, prop, receiver): unknown => (prop === 'predict' ? predict : Reflect.get(target, prop, receiver)),
    });
  }

  /** Frees the GPU side (the CPU model stays with its owner). */
  dispose(): void {
    this.trainer.dispose();
  }
}
