// The training loop: progressive resizing stages, augmentation, validation at several resolutions after every
// epoch, early stopping, a checkpoint after every epoch and when paused, and resume from the last checkpoint.
//
// Run folder layout (everything needed to resume after a crash):
//   state.json            progress (stage, epoch, batch, step), history, best score; written atomically AFTER the
//                         checkpoint it names, so it always points at a complete checkpoint
//   ckpt-<step>.safetensors   the last checkpoint (weights + AdamW moments + step); older ones are removed
//   best.safetensors      the best checkpoint by the validation score at the base resolution
// Data order and augmentation come from seeded generators keyed by (seed, stage, epoch), so a resumed run sees
// exactly the batches the interrupted one would have.
//
// Backend: with `config.backend.backend === 'webgpu'` every step (and validation) runs through the GPU Trainer
// (backend.ts); the CPU model is synced before every checkpoint or best-model save, and a GPU failure moves the run
// to the CPU without losing a step. Steps per backend are counted in state.extra (stepsCpu / stepsWebgpu).
import { copyFile, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

import type { Model } from '../engine/model.js';
import { EngineError } from '../engine/model.js';
import { warmupCosineLr } from '../engine/schedule.js';
import { writeFileAtomic } from '../project/atomic.js';
import type {
  BackendReport,
  ModelTask,
  Normalization,
  ResolutionMetrics,
  TrainMetrics,
  TrainStage,
} from '../../contract/models.js';
import { ModelBackend, type BackendOptions } from './backend.js';
import { atSize, makeBatch, permutation, rng, type Augment, type Sample } from './dataset.js';
import { argmax, dice, psnr, softmax, ssim } from './metrics.js';
import { rateFor } from './zoo.js';

export interface TrainConfig {
  task: ModelTask;
  schedule: TrainStage[];
  batchSize: number;
  lr: number;
  seed: number;
  validationSizes: number[];
  patience: number;
  augment: Augment | null;
  normalize: Normalization;
  /** Stop (as if paused) after this many optimizer steps in this call. */
  maxSteps?: number;
  /** Where the steps run (default: the CPU). */
  backend?: BackendOptions;
}

export interface EpochRecord {
  stage: number;
  size: number;
  epoch: number;
  trainLoss: number;
  samplesPerSecond: number;
  seconds: number;
  validation: ResolutionMetrics[];
}

export interface TrainState {
  version: 1;
  stage: number;
  epoch: number;
  /** Batches of the current epoch already trained (non-zero only after a pause or maxSteps). */
  batch: number;
  step: number;
  totalSteps: number;
  checkpoint: string | null;
  history: EpochRecord[];
  best: { score: number; stage: number; epoch: number } | null;
  /** Epochs since the best score in the current stage. */
  stale: number;
  stoppedEarly: boolean;
  done: boolean;
  seconds: number;
  /** Free-form data the caller keeps with the run (e.g. the project's run row id). */
  extra: Record<string, string | number>;
}

export interface TrainEvents {
  progress(done: number, total: number, message: string, metrics: TrainMetrics): void;
  epoch?(record: EpochRecord): void;
}

export interface TrainOutcome {
  state: TrainState;
  /** Checkpoint of the best model (or the last one when nothing was validated). */
  best: string;
  paused: boolean;
  /** Where the steps of this call ran (at its end). */
  backend: BackendReport;
}

const STATE = 'state.json';

export async function readTrainState(runDir: string): Promise<TrainState | null> {
  const text = await readFile(path.join(runDir, STATE), 'utf8').catch(() => null);
  if (text === null) return null;
  const s = JSON.parse(text) as TrainState;
  if (s.version !== 1) throw new Error(`${runDir}/${STATE}: unknown state version ${String(s.version)}`);
  return s;
}

export function batchesPerEpoch(n: number, batchSize: number): number {
  return Math.max(1, Math.floor(n / batchSize));
}

/** Metric used for best-model selection and early stopping (higher is better). */
export function scoreOf(task: ModelTask, m: Record<string, number>): number {
  if (task === 'classify') return m['accuracy'] ?? 0;
  if (task === 'segment') return m['dice'] ?? 0;
  return m['psnr'] ?? 0;
}

/** Evaluates `model` on `samples` resampled to `size` (S4ND rate = base / size). */
export async function evaluate(
  model: Model,
  task: ModelTask,
  samples: Sample[],
  size: number,
  normalize: Normalization,
  signal?: AbortSignal,
  batchSize = 64,
): Promise<Record<string, number>> {
  const base = model.spec.input.size;
  const dims = base.map(() => size);
  const data = atSize(samples, dims);
  const rate = rateFor(base, dims);
  let right = 0,
    nll = 0,
    diceSum = 0,
    psnrSum = 0,
    ssimSum = 0;
  for (let off = 0; off < data.length; off += batchSize) {
    const part = data.slice(off, off + batchSize);
    const b = makeBatch(part, null, rng(0));
    const out = await model.predict(b.x, b.shape, { rate, signal });
    if (task === 'classify') {
      const k = out.shape[1] ?? 1;
      part.forEach((s, i) => {
        const row = out.data.subarray(i * k, i * k + k);
        const p = softmax(row);
        if (argmax(row) === s.target) right++;
        nll -= Math.log(Math.max(1e-12, p[s.target as number] ?? 0));
      });
    } else {
      const per = out.data.length / part.length;
      part.forEach((s, i) => {
        const pred = out.data.subarray(i * per, (i + 1) * per);
        const t = s.target as Float32Array;
        if (task === 'segment') diceSum += dice(pred, t);
        else {
          const den = (v: Float32Array): Float32Array =>
            v.map((x) => Math.min(1, Math.max(0, x * normalize.std + normalize.mean)));
          const a = den(pred),
            c = den(t);
          psnrSum += psnr(a, c);
          ssimSum += ssim(a, c, s.targetChannels, dims[0] ?? 1, dims[1] ?? 1);
        }
      });
    }
  }
  const n = Math.max(1, data.length);
  if (task === 'classify') return { accuracy: right / n, loss: nll / n };
  if (task === 'segment') return { dice: diceSum / n };
  return { psnr: psnrSum / n, ssim: ssimSum / n };
}

export function initialState(config: TrainConfig, trainCount: number): TrainState {
  const totalSteps = config.schedule.reduce((a, s) => a + s.epochs * batchesPerEpoch(trainCount, config.batchSize), 0);
  return {
    version: 1,
    stage: 0,
    epoch: 0,
    batch: 0,
    step: 0,
    totalSteps,
    checkpoint: null,
    history: [],
    best: null,
    stale: 0,
    stoppedEarly: false,
    done: false,
    seconds: 0,
    extra: {},
  };
}

/** Work units of one step at `size`: pixels (voxels) relative to the base, so the ETA accounts for cheap early stages. */
function stepCost(size: number, base: number, dims = 2): number {
  return (size / base) ** dims;
}

/**
 * Trains `model` (fresh, or already loaded from `state.checkpoint` by the caller) through the schedule from `state`.
 * Cancelling via `signal` saves a checkpoint and returns paused: true; call again with the saved state to resume.
 */
export async function train(
  cpuModel: Model,
  trainSet: Sample[],
  valSet: Sample[],
  config: TrainConfig,
  state: TrainState,
  runDir: string,
  events: TrainEvents,
  signal?: AbortSignal,
): Promise<TrainOutcome> {
  const backend = await ModelBackend.open(cpuModel, config.backend ?? { backend: 'cpu' });
  try {
    return await trainOn(backend, trainSet, valSet, config, state, runDir, events, signal);
  } finally {
    backend.dispose();
  }
}

/** Steps per backend over the whole run (kept in state.extra so they survive a resume). */
export function backendSteps(state: TrainState): { cpu: number; webgpu: number } {
  return { cpu: Number(state.extra['stepsCpu'] ?? 0), webgpu: Number(state.extra['stepsWebgpu'] ?? 0) };
}

async function trainOn(
  backend: ModelBackend,
  trainSet: Sample[],
  valSet: Sample[],
  config: TrainConfig,
  state: TrainState,
  runDir: string,
  events: TrainEvents,
  signal?: AbortSignal,
): Promise<TrainOutcome> {
  const cpuModel = backend.model;
  // Validation predictions run on the backend too (the CPU model when the GPU cannot take an input size).
  const model = backend.asModel();
  const base = model.spec.input.size;
  const baseSize = base[0] ?? 1;
  const perEpoch = batchesPerEpoch(trainSet.length, config.batchSize);
  const costs = config.schedule.map((s) => stepCost(s.size, baseSize, base.length) * s.epochs * perEpoch);
  const totalWork = costs.reduce((a, b) => a + b, 0);
  const workDone = (): number => {
    let w = 0;
    for (let i = 0; i < state.stage && i < config.schedule.length; i++) w += costs[i] as number;
    const st = config.schedule[state.stage];
    if (st) w += stepCost(st.size, baseSize, base.length) * (state.epoch * perEpoch + state.batch);
    return w;
  };
  const scale = 1000 / Math.max(1e-9, totalWork);
  const latestVal: Record<string, Record<string, number>> = {};
  for (const r of state.history.at(-1)?.validation ?? []) latestVal[String(r.size)] = r.metrics;

  const saveCheckpoint = async (): Promise<void> => {
    const name = `ckpt-${state.step}.safetensors`;
    const prev = state.checkpoint;
    await backend.sync();
    await cpuModel.save(path.join(runDir, name));
    state.checkpoint = name;
    await writeFileAtomic(path.join(runDir, STATE), JSON.stringify(state, null, 1));
    if (prev && prev !== name) await rm(path.join(runDir, prev), { force: true });
  };

  const warmup = Math.min(Math.max(1, Math.round(state.totalSteps * 0.05)), state.totalSteps);
  let stepsThisCall = 0;
  let t0 = Date.now();
  const secondsAtStart = state.seconds;
  const clock = (): number => secondsAtStart + (Date.now() - t0) / 1000;

  while (state.stage < config.schedule.length && !state.done) {
    const stage = config.schedule[state.stage] as TrainStage;
    const dims = base.map(() => stage.size);
    const rate = rateFor(base, dims);
    const data = atSize(trainSet, dims);
    while (state.epoch < stage.epochs) {
      const order = permutation(data.length, config.seed * 1000003 + state.stage * 1009 + state.epoch);
      const augRng = rng(config.seed * 7919 + state.stage * 101 + state.epoch);
      // Skip the augmentation draws of batches already trained, so a resumed epoch sees the same batches.
      let lossSum = 0,
        lossCount = 0;
      const epochStart = Date.now();
      let epochSamples = 0;
      for (let b = 0; b < perEpoch; b++) {
        const idx = order.slice(b * config.batchSize, (b + 1) * config.batchSize);
        const samples = idx.map((i) => data[i] as Sample);
        const batch = makeBatch(samples, config.augment, augRng);
        if (b < state.batch) continue;
        if (signal?.aborted || (config.maxSteps !== undefined && stepsThisCall >= config.maxSteps)) {
          state.seconds = clock();
          await saveCheckpoint();
          return { state, best: await bestPath(runDir, state), paused: true, backend: backend.report() };
        }
        const lr = warmupCosineLr(state.step, { lr: config.lr, warmupSteps: warmup, totalSteps: state.totalSteps });
        let loss: number;
        let used: 'cpu' | 'webgpu';
        try {
          ({ loss, backend: used } = await backend.trainStep(batch, { lr, rate, signal }));
        } catch (err) {
          // The GPU honours an already-aborted signal only (with a plain Error): a cancel either way.
          if ((err instanceof EngineError && err.code === 'ERR_CANCELLED') || signal?.aborted) {
            state.seconds = clock();
            await saveCheckpoint();
            return { state, best: await bestPath(runDir, state), paused: true, backend: backend.report() };
          }
          throw err;
        }
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at step ${state.step}`);
        lossSum += loss;
        lossCount++;
        epochSamples += samples.length;
        state.step++;
        const key = used === 'webgpu' ? 'stepsWebgpu' : 'stepsCpu';
        state.extra[key] = Number(state.extra[key] ?? 0) + 1;
        state.batch = b + 1;
        stepsThisCall++;
        const sps = epochSamples / Math.max(1e-3, (Date.now() - epochStart) / 1000);
        events.progress(
          Math.round(workDone() * scale),
          1000,
          `stage ${state.stage + 1}/${config.schedule.length} (${stage.size}px) epoch ${state.epoch + 1}/${stage.epochs} step ${state.step}/${state.totalSteps} loss ${loss.toFixed(4)} on ${backend.describe()}`,
          {
            stage: state.stage,
            size: stage.size,
            epoch: state.epoch,
            step: state.step,
            loss,
            samplesPerSecond: sps,
            validation: latestVal,
            backend: backend.report(),
          },
        );
      }
      const seconds = (Date.now() - epochStart) / 1000;
      // The CPU model is current before validation (a prediction the GPU cannot take runs on it).
      await backend.sync();
      const validation: ResolutionMetrics[] = [];
      for (const size of config.validationSizes) {
        const metrics =
          valSet.length > 0 ? await evaluate(model, config.task, valSet, size, config.normalize, signal) : {};
        validation.push({ size, metrics });
        latestVal[String(size)] = metrics;
      }
      const record: EpochRecord = {
        stage: state.stage,
        size: stage.size,
        epoch: state.epoch,
        trainLoss: lossSum / Math.max(1, lossCount),
        samplesPerSecond: epochSamples / Math.max(1e-3, seconds),
        seconds,
        validation,
      };
      state.history.push(record);
      events.epoch?.(record);
      state.epoch++;
      state.batch = 0;
      // Best model and early stopping, scored at the base resolution.
      const atBase = validation.find((v) => v.size === baseSize) ?? validation.at(-1);
      let stop = false;
      if (atBase && valSet.length > 0) {
        const score = scoreOf(config.task, atBase.metrics);
        if (!state.best || score > state.best.score) {
          state.best = { score, stage: state.stage, epoch: state.epoch - 1 };
          state.stale = 0;
          await backend.sync();
          await cpuModel.save(path.join(runDir, 'best.safetensors'));
        } else {
          state.stale++;
          if (state.stale >= config.patience) stop = true;
        }
      }
      if (stop && state.epoch < stage.epochs) {
        state.stoppedEarly = true;
        // Skip the steps this stage will not take, so the step count and the LR schedule stay consistent.
        state.epoch = stage.epochs;
      }
      state.seconds = clock();
      await saveCheckpoint();
      if (stop && state.stage === config.schedule.length - 1) break;
    }
    state.stage++;
    state.epoch = 0;
    state.batch = 0;
    state.stale = 0;
  }
  state.done = true;
  state.seconds = clock();
  await saveCheckpoint();
  t0 = Date.now();
  return { state, best: await bestPath(runDir, state), paused: false, backend: backend.report() };
}

async function bestPath(runDir: string, state: TrainState): Promise<string> {
  const best = path.join(runDir, 'best.safetensors');
  const exists = await readFile(best).then(
    () => true,
    () => false,
  );
  if (exists) return best;
  const last = path.join(runDir, state.checkpoint ?? 'last.safetensors');
  await copyFile(last, best).catch(() => undefined);
  return best;
}
