// results.compareSegment: two segmenters re-evaluated on the same reference-masked images / slices of a project
// (mean Dice and IoU per class, items and planes counted). The shipped brain segmenter on the demo NIfTI volume:
// no reference masks gives 0 planes; the same model twice gives identical figures; the model's own mask as the
// reference gives Dice 1, and a deliberately different reference (half the foreground removed) a lower Dice.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resultsHandlers } from '../../main/app/handlers/results.js';
import { ROOT } from '../../main/app/paths.js';
import type { CallContext } from '../../main/ipc/router.js';
import { resultsSchemas } from '../../main/ipc/schemas/results.js';
import { ModelManager } from '../../main/models/manager.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';

const SEG = 'brain-mri-s4nd-unet';
let tmp: string;
let project: string;
let h: ReturnType<typeof resultsHandlers>;
const ctx = {} as CallContext;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-compare-segment-'));
  project = path.join(tmp, 'project');
  const store = ProjectStore.open(project);
  try {
    await importPaths(store, [path.join(ROOT, 'samples/medical/anatomical.nii')], {
      signal: new AbortController().signal,
      progress: () => undefined,
    });
  } finally {
    store.close();
  }
  h = resultsHandlers(new ModelManager({ userDir: path.join(tmp, 'models') }));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('results.compareSegment', () => {
  it('validates its params', () => {
    expect(resultsSchemas['results.compareSegment'].safeParse({ project, models: [SEG, SEG] }).success).toBe(true);
    expect(resultsSchemas['results.compareSegment'].safeParse({ project, models: [SEG] }).success).toBe(false);
  });

  it('counts no planes without reference masks, then compares on the same reference-masked slices', async () => {
    const none = await h['results.compareSegment']({ project, models: [SEG, SEG] }, ctx);
    expect(none.map((e) => [e.items, e.planes])).toEqual([
      [0, 0],
      [0, 0],
    ]);

    const store = ProjectStore.open(project, { create: false });
    const itemId = store.items(0, 10)[0]?.id ?? 0;
    store.close();
    const seg = await h['results.segment']({ project, model: SEG, itemId, slice: null }, ctx);
    const own = new Uint8Array(Buffer.from(seg.maskBase64, 'base64'));
    const s2 = ProjectStore.open(project, { create: false });
    s2.setMask(itemId, 2, seg.slice, { width: seg.width, height: seg.height, data: own });
    s2.close();

    const [a, b] = await h['results.compareSegment']({ project, models: [SEG, SEG] }, ctx);
    expect(a).toEqual(b);
    expect(a.backend).toEqual({ requested: 'cpu', used: 'cpu', adapter: null, reason: null, where: 'cpu (engine)' });
    expect(a.items).toBe(1);
    expect(a.planes).toBe(1);
    expect(a.perClass[0]?.dice).toBeCloseTo(1, 12);
    expect(a.perClass[0]?.iou).toBeCloseTo(1, 12);

    // A different reference: the first half of the model's foreground pixels removed.
    const other = new Uint8Array(own);
    const fg = [...other.keys()].filter((i) => other[i] !== 0);
    expect(fg.length).toBeGreaterThan(10);
    for (const i of fg.slice(0, Math.floor(fg.length / 2))) other[i] = 0;
    const s3 = ProjectStore.open(project, { create: false });
    s3.setMask(itemId, 2, seg.slice, { width: seg.width, height: seg.height, data: other });
    s3.close();
    const [c] = await h['results.compareSegment']({ project, models: [SEG, SEG] }, ctx);
    expect(c.planes).toBe(1);
    expect(c.perClass[0]?.dice).toBeLessThan(0.9);
    expect(c.perClass[0]?.dice).toBeGreaterThan(0.5);
    expect(c.perClass[0]?.dice).not.toBeCloseTo(a.perClass[0]?.dice ?? 0, 3);
  }, 120_000);
});
