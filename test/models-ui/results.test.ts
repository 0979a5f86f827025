// The results handlers on real data: the shipped Fashion-MNIST classifier on the demo images (imported with the app's
// importer, ImageFolder labels), the shipped brain segmenter on the demo NIfTI volume, model rename, and run listing.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resultsHandlers } from '../../main/app/handlers/results.js';
import { ROOT } from '../../main/app/paths.js';
import type { CallContext } from '../../main/ipc/router.js';
import { ModelManager } from '../../main/models/manager.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';

let tmp: string;
let project: string;
let manager: ModelManager;
let h: ReturnType<typeof resultsHandlers>;
const ctx = {} as CallContext;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-results-'));
  project = path.join(tmp, 'project');
  const store = ProjectStore.open(project);
  try {
    await importPaths(
      store,
      [path.join(ROOT, 'samples/images/fashion-mnist'), path.join(ROOT, 'samples/medical/anatomical.nii')],
      { signal: new AbortController().signal, progress: () => undefined },
    );
  } finally {
    store.close();
  }
  manager = new ModelManager({ userDir: path.join(tmp, 'models') });
  h = resultsHandlers(manager);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('results handlers', () => {
  it('classification: confusion matrix, per-class scores and accuracy vs resolution agree with each other', async () => {
    const r = await h['results.classify'](
      { project, model: 'fashion-mnist-s4nd', split: 'all', sizes: [14, 28, 56] },
      ctx,
    );
    expect(r.items).toBe(40);
    const total = r.confusion.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(40);
    const trace = r.confusion.reduce((a, row, i) => a + (row[i] ?? 0), 0);
    expect(r.accuracy).toBeCloseTo(trace / 40, 12);
    // The shipped model reaches ~0.82 on the Fashion-MNIST test set; 40 demo images leave a wide margin.
    expect(r.accuracy).toBeGreaterThan(0.5);
    expect(r.mistakes.length).toBe(40 - trace);
    for (let i = 1; i < r.mistakes.length; i++)
      expect(r.mistakes[i - 1]?.p ?? 0).toBeGreaterThanOrEqual(r.mistakes[i]?.p ?? 0);
    for (const c of r.perClass) expect(c.support).toBe(4);
    const at28 = r.bySize.find((s) => s.size === 28);
    expect(at28?.accuracy).toBeCloseTo(r.accuracy, 12);
    expect(at28?.baseline).toBeCloseTo(r.accuracy, 12);
    expect(r.bySize.map((s) => s.size)).toEqual([14, 28, 56]);
    for (const p of r.predictions) {
      const sum = p.top.reduce((a, t) => a + t.p, 0);
      expect(sum).toBeLessThanOrEqual(1 + 1e-9);
      expect(p.top[0]?.p ?? 0).toBeGreaterThanOrEqual(p.top[1]?.p ?? 0);
    }
  });

  it('segmentation: a mask on a volume slice; Dice/IoU 1 against a reference equal to the prediction', async () => {
    const store = ProjectStore.open(project, { create: false });
    const vol = store.items(0, 100).find((i) => i.kind === 'nifti');
    store.close();
    expect(vol).toBeDefined();
    const itemId = vol?.id ?? 0;
    const first = await h['results.segment']({ project, model: 'brain-mri-s4nd-unet', itemId, slice: null }, ctx);
    expect(first.reference).toBeNull();
    const mask = Buffer.from(first.maskBase64, 'base64');
    expect(mask.length).toBe(first.width * first.height);
    const fg = mask.reduce((a, v) => a + (v > 0 ? 1 : 0), 0) / mask.length;
    expect(fg).toBeGreaterThan(0.05); // a mid-volume axial slice of a head is partly brain
    const s2 = ProjectStore.open(project, { create: false });
    s2.setMask(itemId, 2, first.slice, { width: first.width, height: first.height, data: new Uint8Array(mask) });
    s2.close();
    const again = await h['results.segment'](
      { project, model: 'brain-mri-s4nd-unet', itemId, slice: first.slice },
      ctx,
    );
    expect(again.reference?.[0]?.dice).toBeCloseTo(1, 12);
    expect(again.reference?.[0]?.iou).toBeCloseTo(1, 12);
    const out = path.join(tmp, 'masks');
    const ex = await h['results.exportMask']({ project, model: 'brain-mri-s4nd-unet', itemId, out }, ctx);
    expect(ex.format).toBe('nifti');
    expect((await readFile(ex.file)).length).toBeGreaterThan(100);
  });

  it('rename changes a user model card name; shipped models refuse', async () => {
    const exported = path.join(tmp, 'export');
    await manager.export('fashion-mnist-s4nd', exported);
    await cp(exported, path.join(tmp, 'copy'), { recursive: true });
    const reg = await manager.import(path.join(tmp, 'copy'));
    const card = await h['results.renameModel']({ id: reg.card.id, name: 'Renamed model' }, ctx);
    expect(card.name).toBe('Renamed model');
    expect((await manager.get(reg.card.id)).card.name).toBe('Renamed model');
    await expect(h['results.renameModel']({ id: 'fashion-mnist-s4nd', name: 'x' }, ctx)).rejects.toThrow(/ships/);
  });

  it('probe: timed training steps and the train-split size give a predicted epoch time', async () => {
    const r = await h['results.probe'](
      { project, task: 'classify', architecture: null, from: null, size: 16, batchSize: 4 },
      ctx,
    );
    expect(r.architecture).toBe('s4nd-isotropic');
    // The 40 labelled demo images without a split: ~19% validate by content hash, the rest train.
    expect(r.trainSamples).toBeGreaterThan(20);
    expect(r.trainSamples).toBeLessThan(40);
    expect(r.samplesPerSecond).toBeGreaterThan(0);
    expect(r.secondsPerEpoch).toBeCloseTo((Math.floor(r.trainSamples / 4) * 4) / r.samplesPerSecond, 9);
    const ft = await h['results.probe'](
      { project, task: 'classify', architecture: null, from: 'fashion-mnist-s4nd', size: 28, batchSize: 4 },
      ctx,
    );
    expect(ft.architecture).toBe('s4nd-isotropic');
  });

  it('runs: an empty list for a project without runs', async () => {
    expect(await h['results.runs']({ project }, ctx)).toEqual([]);
  });
});
