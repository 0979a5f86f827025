// Training on the selected backend with a clean CPU fallback.
//
// The CPU `Model` is always the model of record. With the WebGPU backend, a `GpuModel` is built from it and does the
// steps; every `snapshotEvery` steps its state (parameters, moments, step) is copied back into the CPU model, and the
// batches since the last snapshot are kept. If the device is lost (or WebGPU reports a command error) during a step,
// the CPU model — still at the last snapshot — replays the kept steps and then the failing one, and training goes on
// on the CPU: no step is lost, and the reason is in `status`. A model the GPU cannot run (GpuUnsupportedError) or no
// device at all starts on the CPU with the reason.
import type { Batch, Model, PredictOptions, Prediction, StepResult, TrainOptions } from '../../engine/model.js';
import { GpuCommandError, GpuDeviceLostError, acquireDevice } from '../device.js';
import { GpuRuntime } from '../runtime.js';
import { GpuModel, GpuUnsupportedError } from './executor.js';

export type BackendName = 'cpu' | 'webgpu';

export interface BackendStatus {
  /** The backend doing the work now. */
  backend: BackendName;
  /** The backend that was asked for. */
  requested: BackendName;
  /** Adapter description when on the GPU. */
  adapter: string | null;
  /** Why the work runs on the CPU although the GPU was asked for (null when it runs where asked). */
  reason: string | null;
}

export interface TrainerOptions {
  backend: BackendName;
  /** Copy the GPU state back to the CPU model every N steps (bounds the replay after a device loss). Default 20. */
  snapshotEvery?: number;
  /** A runtime to use instead of acquiring a device (tests, a shared runtime). */
  runtime?: GpuRuntime;
}

export type TrainerStep = StepResult & { backend: BackendName };

interface Logged {
  batch: Batch;
  opts: TrainOptions;
}

const copyBatch = (b: Batch): Batch => ({ x: b.x.slice(), shape: [...b.shape], targets: b.targets.slice() });
const replayOpts = (o: TrainOptions): TrainOptions => {
  const r: TrainOptions = { lr: o.lr };
  if (o.ssmLr !== undefined) r.ssmLr = o.ssmLr;
  if (o.rate !== undefined) r.rate = o.rate;
  return r;
};

export class Trainer {
  private gpu: GpuModel | null;
  private log: Logged[] = [];
  private readonly snapshotEvery: number;

  private constructor(
    readonly model: Model,
    gpu: GpuModel | null,
    private readonly ownRuntime: GpuRuntime | null,
    readonly status: BackendStatus,
    snapshotEvery: number,
  ) {
    this.gpu = gpu;
    this.snapshotEvery = Math.max(1, snapshotEvery);
  }

  /** Puts `model` on the requested backend, or on the CPU with the reason. Never throws for "no GPU". */
  static async create(model: Model, opts: TrainerOptions): Promise<Trainer> {
    const every = opts.snapshotEvery ?? 20;
    const cpu = (reason: string | null): Trainer =>
      new Trainer(model, null, null, { backend: 'cpu', requested: opts.backend, adapter: null, reason }, every);
    if (opts.backend === 'cpu') return cpu(null);
    let rt = opts.runtime ?? null;
    let own: GpuRuntime | null = null;
    if (!rt) {
      const r = await acquireDevice();
      if (!r.ok) return cpu(r.reason);
      rt = own = new GpuRuntime(r.context);
    }
    try {
      const gpu = await GpuModel.fromCpu(rt, model);
      const a = rt.context.adapter;
      const adapter = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'WebGPU adapter';
      return new Trainer(model, gpu, own, { backend: 'webgpu', requested: 'webgpu', adapter, reason: null }, every);
    } catch (e) {
      own?.context.destroy();
      if (e instanceof GpuUnsupportedError || e instanceof GpuDeviceLostError) return cpu(e.message);
      throw e;
    }
  }

  /** One step on the current backend; falls back to the CPU (replaying kept steps) when the GPU fails. */
  async trainStep(batch: Batch, opts: TrainOptions): Promise<TrainerStep> {
    const gpu = this.gpu;
    if (!gpu) return { ...(await this.model.trainStep(batch, opts)), backend: 'cpu' };
    const entry = { batch: copyBatch(batch), opts: replayOpts(opts) };
    try {
      const r = await gpu.trainStep(batch, opts);
      this.log.push(entry);
      if (this.log.length >= this.snapshotEvery) await this.snapshot();
      return { ...r, backend: 'webgpu' };
    } catch (e) {
      // Device loss, a WebGPU error, or an input the GPU cannot take (e.g. an FFT longer than the device allows at this
      // size): nothing of this step was applied; the CPU takes over from the last snapshot.
      if (!(e instanceof GpuDeviceLostError || e instanceof GpuCommandError || e instanceof GpuUnsupportedError))
        throw e;
      await this.fallBack(e.message);
      return { ...(await this.model.trainStep(batch, opts)), backend: 'cpu' };
    }
  }

  /** Copies the GPU state into the CPU model (call before saving a checkpoint or exporting). */
  async sync(): Promise<void> {
    if (this.gpu) {
      try {
        await this.snapshot();
      } catch (e) {
        if (!(e instanceof GpuDeviceLostError || e instanceof GpuCommandError)) throw e;
        await this.fallBack(e.message);
      }
    }
  }

  async predict(x: Float32Array, shape: number[], opts: PredictOptions = {}): Promise<Prediction> {
    if (this.gpu) {
      try {
        return await this.gpu.predict(x, shape, opts);
      } catch (e) {
        if (!(e instanceof GpuDeviceLostError || e instanceof GpuCommandError)) throw e;
        await this.fallBack(e.message);
      }
    }
    return this.model.predict(x, shape, opts);
  }

  /** Steps kept for replay since the last snapshot (0 on the CPU). */
  get pendingSteps(): number {
    return this.log.length;
  }

  private async snapshot(): Promise<void> {
    if (!this.gpu) return;
    await this.gpu.copyTo(this.model);
    this.log = [];
  }

  private async fallBack(why: string): Promise<void> {
    this.gpu?.dispose();
    this.gpu = null;
    this.ownRuntime?.context.destroy();
    const replay = this.log;
    this.log = [];
    for (const s of replay) await this.model.trainStep(s.batch, s.opts);
    this.status.backend = 'cpu';
    this.status.adapter = null;
    this.status.reason = `the GPU could not continue and the CPU took over after replaying ${replay.length} step(s): ${why}`;
  }

  dispose(): void {
    this.gpu?.dispose();
    this.gpu = null;
    this.ownRuntime?.context.destroy();
  }
}
