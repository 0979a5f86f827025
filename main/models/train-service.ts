// The training service behind the `train` job and `ssm-studio train`: data from a project, a zoo model (or a
// registered parent with a new head when the classes differ), the training loop, and registration of the result.
// Runs live in <project>/runs/<runId>/ (config.json + train.ts's state and checkpoints); starting a job with the
// same runId resumes from the last checkpoint, after a pause or after the process was killed.
// The compute backend is `params.backend` (the train job fills it from Settings.backend; default here: the CPU); it
// is a property of the call, not of the run (a run paused on the GPU may resume on the CPU and vice versa), and the
// card's lineage.backend counts the steps that ran on each.
// 3-D architectures (zooEntry(arch).dims === 3) train on video clips (classify) or volume slabs (segment) from the
// project (project-data-3d.ts); every stage is a cube of its size and S4ND's rate = base / size on every axis.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ModelCard, TrainMetrics, TrainParams, TrainResult } from '../../contract/models.js';
import { Engine, type Model } from '../engine/model.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import type { ModelSpec } from '../engine/spec.js';
import { AppError } from '../ipc/app-error.js';
import { ProjectStore } from '../project/store.js';
import { ModelBackend, type BackendOptions } from './backend.js';
import { datasetHash, type Augment } from './dataset.js';
import type { ModelManager } from './manager.js';
import { loadProjectData } from './project-data.js';
import { backendSteps, evaluate, initialState, readTrainState, train, type TrainConfig } from './train.js';
import { DEFAULT_ARCHITECTURE, zooEntry } from './zoo.js';

export interface TrainServiceContext {
  signal: AbortSignal;
  progress(done: number, total: number, message: string, metrics?: TrainMetrics): void;
  manager: ModelManager;
  engine?: Engine;
  /** WebGPU options (tests: a runtime they can destroy mid-run; the GPU → CPU snapshot interval). */
  gpu?: { runtime?: GpuRuntime; snapshotEvery?: number };
}

const DEFAULT_AUGMENT: Record<TrainParams['task'], Augment> = {
  classify: { flip: true, crop: 0.1, intensity: 0.1 },
  segment: { flip: true, crop: 0.05, intensity: 0.1 },
  interpolate: { flip: true, crop: 0, intensity: 0 },
};

/** Copies every parameter whose name and shape match from `from` into `to` (a new head keeps its own init). */
function transferWeights(from: Model, to: Model): { copied: number; skipped: string[] } {
  const src = new Map(from.params().map((p) => [p.name, p.shape.join('x')]));
  let copied = 0;
  const skipped: string[] = [];
  for (const p of to.params()) {
    if (src.get(p.name) === p.shape.join('x')) {
      to.setParam(p.name, from.getParam(p.name));
      copied++;
    } else skipped.push(p.name);
  }
  return { copied, skipped };
}

/** The parent's spec with the output layer resized to `outputs`. */
function withHead(spec: ModelSpec, outputs: number): ModelSpec {
  const layers = [...spec.layers];
  const last = layers.at(-1);
  if (!last || (last.type !== 'linear' && last.type !== 'conv2d' && last.type !== 'conv3d'))
    throw new AppError('unsupported', 'the parent model does not end in a linear or 1×1 conv head');
  layers[layers.length - 1] = { ...last, out: outputs };
  return { ...spec, layers };
}

export async function runTraining(params: TrainParams, ctx: TrainServiceContext): Promise<TrainResult> {
  const engine = ctx.engine ?? new Engine();
  const store = ProjectStore.open(params.project, { create: false });
  try {
    const runId = params.runId ?? randomUUID();
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(runId)) throw new AppError('bad_request', `bad runId '${runId}'`, 'params.runId');
    const runDir = path.join(params.project, 'runs', runId);
    await mkdir(runDir, { recursive: true });
    const saved = await readTrainState(runDir);
    const resumed = saved !== null;
    // A resumed run uses the parameters it started with (only maxSteps may change).
    const p: TrainParams = resumed
      ? {
          ...(JSON.parse(await readFile(path.join(runDir, 'config.json'), 'utf8')) as TrainParams),
          maxSteps: params.maxSteps,
          backend: params.backend,
        }
      : params;
    if (!resumed) {
      const { backend: _b, ...kept } = p;
      await writeFile(path.join(runDir, 'config.json'), JSON.stringify({ ...kept, runId }, null, 1));
    }
    const backendOpts: BackendOptions = { backend: p.backend ?? 'cpu', ...ctx.gpu };
    if (p.schedule.length === 0) throw new AppError('bad_request', 'the schedule has no stages', 'params.schedule');

    const parent = p.from ? await ctx.manager.get(p.from) : null;
    const architecture = parent?.card.architecture ?? p.architecture ?? DEFAULT_ARCHITECTURE[p.task];
    const entry = zooEntry(architecture);
    if (entry.task !== p.task)
      throw new AppError('bad_request', `architecture '${architecture}' is for ${entry.task}, not ${p.task}`);
    for (const st of p.schedule)
      if (st.size % entry.multiple !== 0)
        throw new AppError(
          'bad_request',
          `stage size ${st.size} must be a multiple of ${entry.multiple} for ${architecture}`,
          'params.schedule',
        );

    ctx.progress(0, 1000, 'loading data');
    const data = await loadProjectData(store, p.task, {
      channels: parent?.card.input.channels,
      normalize: parent?.card.input.normalize,
      signal: ctx.signal,
      frameSize: Math.max(...p.schedule.map((s) => s.size)),
      split: p.split,
      dims: entry.dims,
    });
    const seed = p.seed ?? 1;
    const baseSize = parent ? (parent.card.input.size[0] ?? 28) : Math.max(...p.schedule.map((s) => s.size));
    const dimsBase = Array.from({ length: entry.dims }, () => baseSize);
    const outputs = p.task === 'interpolate' ? 3 : data.classes.length;

    let model: Model;
    let parentNote = '';
    if (parent) {
      const pm = await engine.loadModel(parent.checkpoint);
      const sameHead = p.task === 'interpolate' || JSON.stringify(parent.card.classes) === JSON.stringify(data.classes);
      const spec = sameHead ? (pm.spec as unknown as ModelSpec) : withHead(pm.spec as unknown as ModelSpec, outputs);
      model = engine.createModel(spec, seed);
      const t = transferWeights(pm, model);
      parentNote = `fine-tuned from ${parent.card.id} (${t.copied} tensors copied${t.skipped.length ? `, new head: ${t.skipped.join(', ')}` : ''})`;
      pm.dispose();
    } else {
      model = engine.createModel(
        entry.build({ channels: data.channels, size: dimsBase, outputs, normalize: data.normalize }),
        seed,
      );
      entry.init?.(model);
    }
    try {
      const config: TrainConfig = {
        task: p.task,
        schedule: p.schedule,
        batchSize: p.batchSize ?? 32,
        lr: p.lr ?? (parent ? entry.lr / 2 : entry.lr),
        seed,
        validationSizes:
          p.validationSizes ?? [...new Set([...p.schedule.map((s) => s.size), baseSize])].sort((a, b) => a - b),
        patience: p.patience ?? 3,
        augment: p.augment ?? DEFAULT_AUGMENT[p.task],
        normalize: data.normalize,
        maxSteps: p.maxSteps,
        backend: backendOpts,
      };
      const state = saved ?? initialState(config, data.train.length);
      if (saved?.checkpoint) await model.load(path.join(runDir, saved.checkpoint));
      let dbRun = Number(state.extra['dbRun'] ?? 0);
      if (!dbRun) {
        const modelRow = store.addModel(p.name ?? `${architecture} ${runId.slice(0, 8)}`, {
          architecture,
          task: p.task,
          runId,
          parent: p.from ?? null,
        });
        dbRun = store.startRun(modelRow, { ...p, runId });
        state.extra['dbRun'] = dbRun;
      }
      const outcome = await train(
        model,
        data.train,
        data.val,
        config,
        state,
        runDir,
        {
          progress: (done, total, message, metrics) => ctx.progress(done, total, message, metrics),
          epoch: (r) => {
            const values: Record<string, number> = { train_loss: r.trainLoss, samples_per_second: r.samplesPerSecond };
            for (const v of r.validation)
              for (const [k, x] of Object.entries(v.metrics)) values[`val_${k}@${v.size}`] = x;
            store.logMetrics(dbRun, state.step, values);
          },
        },
        ctx.signal,
      );
      if (outcome.paused) {
        if (ctx.signal.aborted) {
          store.finishRun(dbRun, 'cancelled');
          throw new AppError('cancelled', `training paused at step ${state.step}; resume with runId ${runId}`);
        }
        return {
          runId,
          modelId: null,
          card: null,
          resumed,
          stoppedEarly: false,
          steps: state.step,
          backend: outcome.backend,
        };
      }
      // Final metrics of the best checkpoint at every validation size, on the backend.
      await model.load(outcome.best);
      const metrics = [];
      const evalOn = await ModelBackend.open(model, backendOpts);
      try {
        for (const size of config.validationSizes)
          metrics.push({
            size,
            metrics: await evaluate(evalOn.asModel(), p.task, data.val, size, data.normalize, ctx.signal),
          });
      } finally {
        evalOn.dispose();
      }
      const card: Omit<ModelCard, 'id' | 'onnx' | 'builtin'> = {
        name: p.name ?? `${architecture} (${path.basename(p.project)})`,
        task: p.task,
        architecture,
        description: [entry.description, parentNote].filter(Boolean).join('; '),
        classes: p.task === 'interpolate' ? [] : data.classes,
        input: {
          channels: data.channels,
          dims: entry.dims,
          size: dimsBase,
          normalize: data.normalize,
          multiple: entry.multiple,
          resolutionFlexible: entry.s4nd,
        },
        trainingResolutions: [...new Set(p.schedule.map((s) => s.size))],
        metrics,
        params: model.paramCount(),
        lineage: {
          parent: p.from ?? null,
          datasetHash: datasetHash(data.train),
          dataset: p.project,
          trainSamples: data.train.length,
          valSamples: data.val.length,
          schedule: p.schedule,
          seed,
          date: new Date().toISOString(),
          steps: state.step,
          trainSeconds: Math.round(state.seconds * 10) / 10,
          ...(p.task === 'interpolate' ? {} : { split: p.split ?? { mode: 'project' } }),
          backend: { ...outcome.backend, steps: backendSteps(state) },
        },
      };
      const reg = await ctx.manager.register(outcome.best, card);
      store.finishRun(dbRun, 'done');
      return {
        runId,
        modelId: reg.card.id,
        card: reg.card,
        resumed,
        stoppedEarly: state.stoppedEarly,
        steps: state.step,
        backend: outcome.backend,
      };
    } finally {
      model.dispose();
    }
  } finally {
    store.close();
  }
}
