// results.compareInterpolate: two interpolators re-evaluated on the same held-out frames of a project video (t = 1/2,
// then t = 1/3 and 2/3), with the linear blend as the baseline. Model A is the shipped frame-interp-s4nd; model B a
// conv-interpolator built here with the zoo's blendInit (an untrained interpolator outputs exactly the linear blend),
// registered like a trained model. So B's scores must equal the blend's, and A's must equal what results.interpolate
// reports for the same frames.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resultsHandlers } from '../../main/app/handlers/results.js';
import { ROOT } from '../../main/app/paths.js';
import { Engine } from '../../main/engine/model.js';
import type { CallContext } from '../../main/ipc/router.js';
import { resultsSchemas } from '../../main/ipc/schemas/results.js';
import { ModelManager } from '../../main/models/manager.js';
import { blendInit, ZOO } from '../../main/models/zoo.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';

const INTERP = 'frame-interp-s4nd';
const BLEND = 'conv-blend-init';
const VIDEO = path.join(ROOT, 'samples/video/vtest-4s.mp4');
let tmp: string;
let project: string;
let videoId = 0;
let imageId = 0;
let h: ReturnType<typeof resultsHandlers>;
const ctx = {} as CallContext;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-compare-interp-'));
  project = path.join(tmp, 'project');
  const store = ProjectStore.open(project);
  try {
    await importPaths(store, [VIDEO, path.join(ROOT, 'samples/medical/anatomical.nii')], {
      signal: new AbortController().signal,
      progress: () => undefined,
    });
    const items = store.items(0, 10);
    videoId = items.find((i) => i.kind === 'video')?.id ?? 0;
    imageId = items.find((i) => i.kind !== 'video')?.id ?? 0;
  } finally {
    store.close();
  }
  const manager = new ModelManager({ userDir: path.join(tmp, 'models') });
  const engine = new Engine();
  const entry = ZOO['conv-interpolator'];
  const model = engine.createModel(entry.build({ channels: 10, size: [32, 32], outputs: 3 }), 7);
  blendInit(model);
  const ckpt = path.join(tmp, 'blend.safetensors');
  await model.save(ckpt);
  model.dispose();
  const shipped = await manager.get(INTERP);
  await manager.register(
    ckpt,
    {
      id: BLEND,
      name: 'Conv interpolator, blend init (untrained)',
      task: 'interpolate',
      architecture: 'conv-interpolator',
      description: 'test model: the linear blend',
      classes: [],
      input: { ...shipped.card.input, size: [32, 32], resolutionFlexible: false },
      trainingResolutions: [32],
      metrics: [],
      params: 0,
      lineage: null,
    } as never,
    { onnx: 'off' },
  );
  h = resultsHandlers(manager);
}, 120_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('results.compareInterpolate', () => {
  it('validates its params', () => {
    const schema = resultsSchemas['results.compareInterpolate'];
    const ok = { project, models: [INTERP, BLEND], itemId: 1, width: 64, pairs: 4 };
    expect(schema.safeParse(ok).success).toBe(true);
    expect(schema.safeParse({ ...ok, models: [INTERP] }).success).toBe(false);
    expect(schema.safeParse({ ...ok, pairs: 0 }).success).toBe(false);
    expect(schema.safeParse({ ...ok, width: 4 }).success).toBe(false);
  });

  it('scores both models and the blend on the same held-out frames at t = 1/2 and t = 1/3, 2/3', async () => {
    const pairs = 3;
    const r = await h['results.compareInterpolate'](
      { project, models: [INTERP, BLEND], itemId: videoId, width: 64, pairs },
      ctx,
    );
    expect(r.models).toEqual([INTERP, BLEND]);
    expect(r.width).toBe(64);
    // Where each model ran: the handlers' default backend, the CPU engine, for both.
    expect(r.backends).toEqual([
      { requested: 'cpu', used: 'cpu', adapter: null, reason: null, where: 'cpu (engine)' },
      { requested: 'cpu', used: 'cpu', adapter: null, reason: null, where: 'cpu (engine)' },
    ]);
    expect(r.steps.map((s) => [s.step, s.frames])).toEqual([
      [2, pairs],
      [3, 2 * pairs],
    ]);
    for (const s of r.steps) {
      const [a, b] = s.models;
      for (const v of [a.psnr, b.psnr, s.blend.psnr]) expect(v).toBeGreaterThan(10);
      for (const v of [a.ssim, b.ssim, s.blend.ssim]) expect(v).toBeGreaterThan(0.1);
      // The blend-initialised model is the linear blend.
      expect(b.psnr).toBeCloseTo(s.blend.psnr, 2);
      expect(b.ssim).toBeCloseTo(s.blend.ssim, 3);
      // A differs from the blend (it is a trained correction on top of it).
      expect(Math.abs(a.psnr - s.blend.psnr)).toBeGreaterThan(1e-3);
    }
    // Model A's figures are the Results view's evaluation of the same frames.
    const single = await h['results.interpolate'](
      { path: VIDEO, model: INTERP, width: 64, pairs, index: 1, t: 1 / 3, step: 3 },
      ctx,
    );
    expect(r.steps[1]?.models[0].psnr).toBeCloseTo(single.mean.psnr, 9);
    console.log(
      'compareInterpolate (vtest 64 px):',
      r.steps
        .map(
          (s) =>
            `step ${s.step}: ${INTERP} ${s.models[0].psnr.toFixed(2)} dB / ${s.models[0].ssim.toFixed(3)}, blend-init ${s.models[1].psnr.toFixed(2)} dB, blend ${s.blend.psnr.toFixed(2)} dB / ${s.blend.ssim.toFixed(3)} (${s.frames} frames)`,
        )
        .join('; '),
    );
  }, 120_000);

  it('refuses an item that is not a video, and a model that is not an interpolator', async () => {
    await expect(
      h['results.compareInterpolate']({ project, models: [INTERP, BLEND], itemId: imageId, width: 64, pairs: 2 }, ctx),
    ).rejects.toThrow(/compare interpolators on a video/);
    await expect(
      h['results.compareInterpolate'](
        { project, models: [INTERP, 'brain-mri-s4nd-unet'], itemId: videoId, width: 64, pairs: 2 },
        ctx,
      ),
    ).rejects.toThrow(/not an interpolator/);
  });
});
