// The inference service behind the `infer` job: runs a registered model on a project's items and saves the
// predictions as suggestions (not labels: the user accepts or edits them) under <project>/suggestions/:
//   <modelId>.json            Suggestion[] (classes with probabilities, or mask files with their foreground share)
//   <modelId>/item-<id>.png | .nii.gz   predicted class-index masks on the item's own grid
// 3-D models (card.input.dims === 3) classify video items (clips, infer-3d.ts) and segment volumes in one pass.
// Backend: `params.backend` (the infer job fills it from Settings.backend; default here: the CPU). With 'webgpu' a model
// with an ONNX file runs on onnxruntime's WebGPU EP after the parity check on it, else (or when that fails) the engine
// on the GPU executor, else the CPU, with the reason (route.ts); the result and the progress message report where.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { InferParams, InferResult, Suggestion } from '../../contract/models.js';
import { Engine } from '../engine/model.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import { writeFileAtomic } from '../project/atomic.js';
import { ProjectStore } from '../project/store.js';
import { segmentFile } from './infer.js';
import { classifyMedia, runsOn } from './infer-3d.js';
import type { ModelManager } from './manager.js';
import { openOnBackend } from './route.js';

export interface InferServiceContext {
  signal: AbortSignal;
  progress(done: number, total: number, message: string): void;
  manager: ModelManager;
  engine?: Engine;
  /** WebGPU options (tests: a runtime of their own). */
  gpu?: { runtime?: GpuRuntime };
}

export async function runInference(params: InferParams, ctx: InferServiceContext): Promise<InferResult> {
  const engine = ctx.engine ?? new Engine();
  const reg = params.model ? await ctx.manager.get(params.model) : await ctx.manager.defaultFor(params.task);
  // On the CPU the runtime chooser runs the engine or onnxruntime, whichever was measured faster for the model here
  // (models/runner.ts); WebGPU: onnxruntime's WebGPU EP, the GPU executor or the CPU, in that order (route.ts).
  const routed = await openOnBackend(reg, {
    backend: params.backend ?? 'cpu',
    manager: ctx.manager,
    engine,
    ...(ctx.gpu ? { gpu: ctx.gpu } : {}),
  });
  const model = routed.predictor;
  const where = (): string => routed.describe();
  const store = ProjectStore.open(params.project, { create: false });
  try {
    const wanted = params.itemIds ? new Set(params.itemIds) : null;
    const items = store
      .items(0, 1_000_000)
      .filter((i) => (wanted ? wanted.has(i.id) : runsOn(reg.card, params.task, i.kind)));
    const dir = path.join(params.project, 'suggestions');
    const maskDir = path.join(dir, reg.card.id);
    await mkdir(maskDir, { recursive: true });
    const out: Suggestion[] = [];
    for (const [n, item] of items.entries()) {
      ctx.signal.throwIfAborted();
      ctx.progress(n, items.length, `${item.path} on ${where()}`);
      if (params.task === 'classify') {
        const top = await classifyMedia(model, reg.card, item.path, { kind: item.kind, signal: ctx.signal });
        out.push({ itemId: item.id, kind: 'class', top });
      } else {
        const isDir = (await stat(item.path)).isDirectory();
        const seg = await segmentFile(model, reg.card, item.path, { isDir, signal: ctx.signal });
        const file = path.join(maskDir, `item-${item.id}.${seg.kind === 'png' ? 'png' : 'nii.gz'}`);
        await writeFile(file, seg.bytes);
        out.push({ itemId: item.id, kind: 'mask', axis: 2, slices: seg.slices, file, foreground: seg.foreground });
      }
    }
    const file = path.join(dir, `${reg.card.id}.json`);
    await writeFileAtomic(file, JSON.stringify(out, null, 1));
    ctx.progress(items.length, items.length, `done on ${where()}`);
    const runtime = routed.runtime();
    return {
      model: reg.card.id,
      suggestions: out.length,
      file,
      backend: routed.report(),
      ...(runtime ? { runtime } : {}),
    };
  } finally {
    store.close();
    await routed.dispose();
  }
}
