// Results handlers: evaluations sized for interactive use (a split of a project, one image or slice, a downscaled
// clip); each loads the model, runs, and disposes it. Predictions run where `options.backend` says (models/route.ts:
// on WebGPU, onnxruntime's WebGPU EP after its parity check, else the GPU executor, else the CPU engine; on the CPU,
// the engine), and each result says where (`backend`). The app does not call these with 'webgpu' in its main
// process: results-routed.ts runs them there on the CPU, and with WebGPU selected forwards the calls that run a model
// to the results worker (../results-process.ts, a forked child that runs these handlers with 'webgpu'), so Dawn
// (dawn.node and onnxruntime's own) loads only in that child; if it dies, the call re-runs here on the CPU.
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ModelCard } from '../../../contract/models.js';
import type { EvalBackend, ResultsApi, SegmentSetEvaluation } from '../../../contract/results.js';
import { compareInterpolators } from '../../models/eval-interpolate-compare.js';
import { Engine, type Model } from '../../engine/model.js';
import type { Handler } from '../../ipc/router.js';
import { AppError } from '../../ipc/app-error.js';
import type { BackendName } from '../../models/backend.js';
import { evaluateClassifier } from '../../models/eval-classify.js';
import { evaluateInterpolation, exportInterpolatedVideo } from '../../models/eval-interpolate.js';
import { probeTraining } from '../../models/eval-probe.js';
import { listRuns } from '../../models/eval-runs.js';
import { evaluateSegmentation, evaluateSegmentationSet } from '../../models/eval-segment.js';
import { segmentFile } from '../../models/infer.js';
import { CARD, type ModelManager, type RegisteredModel } from '../../models/manager.js';
import { openOnBackend, withPredictor } from '../../models/route.js';
import { writeFileAtomic } from '../../project/atomic.js';
import { ProjectStore } from '../../project/store.js';

export interface ResultsOptions {
  /** The app's Settings.backend now (default: the CPU). */
  backend?: () => BackendName;
}

export function resultsHandlers(
  manager: ModelManager,
  options: ResultsOptions = {},
): { [M in keyof ResultsApi]: Handler<M> } {
  let engine: Engine | null = null;
  const selected = (): BackendName => options.backend?.() ?? 'cpu';
  /** Runs `fn` with the model on the selected backend; its result gets `backend` (where the predictions ran). */
  async function withModel<T extends object>(
    id: string,
    fn: (model: Model, reg: RegisteredModel) => Promise<T>,
  ): Promise<T & { backend: EvalBackend }> {
    engine ??= new Engine();
    const reg = await manager.get(id);
    const model = await engine.loadModel(reg.checkpoint);
    try {
      const routed = await openOnBackend(reg, { backend: selected(), manager, engine, cpu: 'engine', model });
      try {
        const out = await fn(withPredictor(model, routed.predictor), reg);
        return { ...out, backend: { ...routed.report(), where: routed.describe() } };
      } finally {
        await routed.dispose();
      }
    } finally {
      model.dispose();
    }
  }
  function withStore<T>(project: string, fn: (store: ProjectStore) => Promise<T>): Promise<T> {
    const store = ProjectStore.open(project, { create: false });
    return fn(store).finally(() => store.close());
  }
  return {
    'results.runs': async ({ project }) => listRuns(project),
    'results.classify': ({ project, model, split, sizes }) =>
      withModel(model, (m, reg) => withStore(project, (store) => evaluateClassifier(m, reg, store, split, sizes))),
    'results.segment': ({ project, model, itemId, slice }) =>
      withModel(model, (m, reg) => withStore(project, (store) => evaluateSegmentation(m, reg, store, itemId, slice))),
    'results.compareSegment': async ({ project, models }) => {
      const one = (id: string): Promise<SegmentSetEvaluation> =>
        withModel(id, (m, reg) => withStore(project, (store) => evaluateSegmentationSet(m, reg, store)));
      // One after the other: each loads its model on the shared engine.
      const a = await one(models[0]);
      const b = await one(models[1]);
      return [a, b];
    },
    'results.compareInterpolate': async ({ project, models, itemId, width, pairs }) => {
      const file = await withStore(project, async (store) => {
        const item = store.item(itemId);
        if (item.kind !== 'video')
          throw new AppError('bad_request', `item ${itemId} is a ${item.kind}: compare interpolators on a video`);
        return item.path;
      });
      // One model after the other on the shared engine.
      return compareInterpolators(
        async (id, fn) => withModel(id, async (m, reg) => ({ value: await fn(m, reg) })),
        models,
        { itemId, file, width, pairs },
      );
    },
    'results.exportMask': ({ project, model, itemId, out }) =>
      withModel(model, (m, reg) =>
        withStore(project, async (store) => {
          const item = store.item(itemId);
          const isDir = (await stat(item.path)).isDirectory();
          const seg = await segmentFile(m, reg.card, item.path, { isDir });
          await mkdir(out, { recursive: true });
          const base = path.basename(item.path).replace(/\.(nii\.gz|nii|dcm|png|jpe?g|bmp|tiff?|webp)$/i, '');
          const file = path.join(out, `${base || `item-${itemId}`}-mask.${seg.kind === 'png' ? 'png' : 'nii.gz'}`);
          await writeFile(file, seg.bytes);
          return { file, format: seg.kind };
        }),
      ),
    'results.interpolate': ({ path: file, model, width, pairs, index, t, step }) =>
      withModel(model, (m, reg) => evaluateInterpolation(m, reg, file, { width, pairs, index, t, step })),
    'results.exportVideo': ({ path: file, model, factor, fps, width, maxFrames, out }) =>
      withModel(model, async (m, reg) => {
        await mkdir(path.dirname(out), { recursive: true });
        return exportInterpolatedVideo(m, reg, file, { factor, fps, width, maxFrames, out });
      }),
    'results.probe': ({ project, task, architecture, from, size, batchSize }) => {
      engine ??= new Engine();
      const e = engine;
      return withStore(project, (store) =>
        probeTraining(e, manager, store, { task, architecture, from, size, batchSize, backend: selected() }),
      );
    },
    'results.renameModel': async ({ id, name }) => {
      const reg = await manager.get(id);
      if (reg.card.builtin) throw new AppError('conflict', `model '${id}' ships with the app and cannot be renamed`);
      const file = path.join(reg.dir, CARD);
      const card = JSON.parse(await readFile(file, 'utf8')) as ModelCard;
      const next: ModelCard = { ...card, name: name.trim() };
      await writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`);
      return (await manager.get(id)).card;
    },
  };
}
