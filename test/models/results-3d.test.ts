// Results evaluations with 3-D models on real data (project-fixture-3d.ts), through the results handlers:
// - a clip classifier (s4nd-classifier3d, trained briefly by the train service on street / tree video pieces) is
//   evaluated on the labelled videos: per-video probabilities are the mean over clips and match the inference path
//   (classifyVideo) for whole-video labels; the confusion matrix, per-class scores, mistakes and size points agree;
// - a volume U-Net (s4nd-unet3d) and the conv-unet3d baseline: a slice of the one-pass 3-D prediction equals the
//   inference service's NIfTI on that slice, Dice / IoU match a hand computation against the reference mask, other
//   slices come from the cached prediction (the model does not run again), and results.compareSegment scores both
//   models on the same masked slices.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ModelCard, Suggestion } from '../../contract/index.js';
import { resultsHandlers } from '../../main/app/handlers/results.js';
import { Engine } from '../../main/engine/model.js';
import type { CallContext } from '../../main/ipc/router.js';
import { readNifti } from '../../main/media/nifti.js';
import { overlap } from '../../main/models/eval-segment.js';
import { volumePredictionRuns } from '../../main/models/eval-segment-3d.js';
import { classifyVideo } from '../../main/models/infer-3d.js';
import { runInference } from '../../main/models/infer-service.js';
import { ModelManager } from '../../main/models/manager.js';
import { clipStarts } from '../../main/models/project-data-3d.js';
import { runTraining } from '../../main/models/train-service.js';
import { ProjectStore } from '../../main/project/store.js';
import { clipProject, quiet, volumeProject, type ClipProject, type VolumeProject } from './project-fixture-3d.js';

let tmp: string;
let clips: ClipProject;
let vols: VolumeProject;
let manager: ModelManager;
let h: ReturnType<typeof resultsHandlers>;
const ctx = {} as CallContext;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-results3d-'));
  clips = await clipProject(tmp);
  vols = await volumeProject(tmp);
  manager = new ModelManager({ userDir: path.join(tmp, 'data', 'models'), builtinDir: path.join(tmp, 'no-builtins') });
  h = resultsHandlers(manager);
}, 120_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const decode = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

describe('Results → Classification with a 3-D clip classifier', () => {
  let card: ModelCard;

  beforeAll(async () => {
    const r = await runTraining(
      {
        project: clips.project,
        task: 'classify',
        architecture: 's4nd-classifier3d',
        schedule: [{ size: 8, epochs: 3 }],
        batchSize: 4,
        seed: 3,
        patience: 10,
      },
      { ...quiet, manager },
    );
    card = r.card as ModelCard;
  }, 180_000);

  it('evaluates labelled videos by clips: per-video mean over clips as inference, consistent scores', async () => {
    expect(card.input.dims).toBe(3);
    const t0 = Date.now();
    const e = await h['results.classify'](
      { project: clips.project, model: card.id, split: 'all', sizes: [4, 8, 16] },
      ctx,
    );
    console.log(`clip classifier evaluation: ${((Date.now() - t0) / 1000).toFixed(1)} s`, JSON.stringify(e.bySize));
    expect(e.media).toBe('video');
    expect(e.classes).toEqual(['street', 'tree']);
    expect(e.size).toBe(8);
    // 6 video labels: 4 street pieces (one a frame-range label on the loose piece) and 2 tree pieces.
    expect(e.items).toBe(6);
    expect(e.confusion.flat().reduce((a, b) => a + b, 0)).toBe(6);
    expect(e.perClass.map((c) => c.support)).toEqual([4, 2]);
    const trace = e.confusion.reduce((a, row, i) => a + (row[i] ?? 0), 0);
    expect(e.accuracy).toBeCloseTo(trace / 6, 10);
    const wrong = e.predictions.filter((p) => p.top[0]?.label !== p.trueClass);
    expect(e.mistakes.length).toBe(wrong.length);
    for (const m of e.mistakes) expect(m.predicted).not.toBe(m.trueClass);
    for (const c of e.perClass) {
      const k = e.classes.indexOf(c.className);
      const predicted = e.confusion.reduce((a, row) => a + (row[k] ?? 0), 0);
      expect(c.precision).toBeCloseTo(predicted ? (e.confusion[k]?.[k] ?? 0) / predicted : 0, 10);
      expect(c.recall).toBeCloseTo((e.confusion[k]?.[k] ?? 0) / c.support, 10);
    }
    // Whole-video labels: the same mean over 4 clips as the inference path (classifyVideo on the whole video).
    const engine = new Engine();
    const reg = await manager.get(card.id);
    const model = await engine.loadModel(reg.checkpoint);
    try {
      for (const p of e.predictions) {
        if (p.itemId === clips.rangeItem) continue;
        const inf = await classifyVideo(model, reg.card, p.path, { clips: 4 });
        for (const t of p.top) expect(t.p).toBeCloseTo(inf.find((x) => x.label === t.label)?.p as number, 3);
        expect(p.frame).toBe(0); // the first clip of a whole video starts at frame 0 (the thumbnail)
        expect(Math.abs((p.top[0]?.p ?? 0) + (p.top[1]?.p ?? 0) - 1)).toBeLessThan(1e-5);
      }
    } finally {
      model.dispose();
    }
    // The frame-range label (frames 8-47) is evaluated on clips inside its range; its thumbnail is its first clip's.
    const ranged = e.predictions.find((p) => p.itemId === clips.rangeItem);
    expect(ranged?.frame).toBe(clipStarts(clips.range[0], clips.range[1], 8, 4)[0]);
    expect(ranged?.frame).toBeGreaterThanOrEqual(clips.range[0]);
    // Cube sizes: 4 and 16 rounded to the architecture's multiple; the base size point is the main evaluation.
    expect(e.bySize.map((s) => s.size)).toEqual([4, 8, 16]);
    const atBase = e.bySize.find((s) => s.size === 8);
    expect(atBase?.accuracy).toBeCloseTo(e.accuracy, 10);
    expect(atBase?.baseline).toBeCloseTo(e.accuracy, 10);
    for (const s of e.bySize) {
      expect(s.accuracy * 6).toBeCloseTo(Math.round(s.accuracy * 6), 6);
      expect(s.baseline * 6).toBeCloseTo(Math.round(s.baseline * 6), 6);
    }
  }, 180_000);

  it('the val split holds the held-out videos; a project without video labels is a clear error', async () => {
    const e = await h['results.classify']({ project: clips.project, model: card.id, split: 'val', sizes: [8] }, ctx);
    expect(e.items).toBe(2);
    expect(e.predictions.map((p) => p.trueClass).sort()).toEqual(['street', 'tree']);
    await expect(
      h['results.classify']({ project: vols.project, model: card.id, split: 'all', sizes: [8] }, ctx),
    ).rejects.toThrow(/no labelled videos/);
  }, 120_000);
});

describe('Results → Segmentation with 3-D U-Nets', () => {
  let unet: ModelCard;
  let conv: ModelCard;

  beforeAll(async () => {
    const train = async (architecture: string): Promise<ModelCard> =>
      (
        await runTraining(
          {
            project: vols.project,
            task: 'segment',
            architecture,
            schedule: [{ size: 12, epochs: 15 }],
            batchSize: 2,
            seed: 2,
            patience: 100,
          },
          { ...quiet, manager },
        )
      ).card as ModelCard;
    unet = await train('s4nd-unet3d');
    conv = await train('conv-unet3d');
  }, 240_000);

  it('a slice of the one-pass 3-D prediction: the inference NIfTI on that slice, Dice / IoU by hand, cached', async () => {
    const val = vols.volumes[2] as VolumeProject['volumes'][number];
    const [nx, ny, nz] = val.dims;
    const per = nx * ny;
    const runs0 = volumePredictionRuns();
    const z = Math.floor(nz / 2);
    const e = await h['results.segment']({ project: vols.project, model: unet.id, itemId: val.id, slice: z }, ctx);
    expect(volumePredictionRuns()).toBe(runs0 + 1);
    expect([e.width, e.height, e.slices, e.slice]).toEqual([nx, ny, nz, z]);
    const mask = decode(e.maskBase64);
    // The inference service's suggestion (the whole volume in one pass) holds the same slice.
    const inf = await runInference(
      { project: vols.project, task: 'segment', model: unet.id, itemIds: [val.id] },
      { ...quiet, manager },
    );
    const [s] = JSON.parse(await readFile(inf.file, 'utf8')) as Suggestion[];
    if (s?.kind !== 'mask') throw new Error('expected a mask suggestion');
    const nifti = (await readNifti(s.file)).volume;
    const infSlice = Uint8Array.from(nifti.data.subarray(z * per, (z + 1) * per));
    expect(Buffer.from(mask).equals(Buffer.from(infSlice))).toBe(true);
    // Dice / IoU against the fixture's brain mask on that slice, by hand.
    const ref = val.mask.subarray(z * per, (z + 1) * per);
    let inter = 0,
      a = 0,
      b = 0;
    for (let i = 0; i < per; i++) {
      const p = mask[i] === 1,
        r = ref[i] === 1;
      inter += p && r ? 1 : 0;
      a += p ? 1 : 0;
      b += r ? 1 : 0;
    }
    expect(e.reference?.[0]?.dice).toBeCloseTo((2 * inter) / (a + b), 10);
    expect(e.reference?.[0]?.iou).toBeCloseTo(inter / (a + b - inter), 10);
    console.log(`s4nd-unet3d slice ${z} of ${val.dims.join('×')}: Dice ${e.reference?.[0]?.dice.toFixed(3)}`);
    expect(e.reference?.[0]?.dice).toBeGreaterThan(0.3);
    // Scrolling: other slices come from the cached 3-D prediction (the model does not run again).
    const t0 = Date.now();
    const e2 = await h['results.segment']({ project: vols.project, model: unet.id, itemId: val.id, slice: 3 }, ctx);
    console.log(`cached slice: ${Date.now() - t0} ms`);
    expect(volumePredictionRuns()).toBe(runs0 + 1);
    expect(Buffer.from(decode(e2.maskBase64)).equals(Buffer.from(nifti.data.subarray(3 * per, 4 * per)))).toBe(true);
    // An image item is refused with the reason.
    await expect(
      h['results.segment']({ project: clips.project, model: unet.id, itemId: clips.rangeItem, slice: null }, ctx),
    ).rejects.toThrow(/segments volumes/);
  }, 120_000);

  it('results.compareSegment scores both 3-D models on every masked slice of the volumes', async () => {
    const [a, b] = await h['results.compareSegment']({ project: vols.project, models: [unet.id, conv.id] }, ctx);
    const slices = vols.volumes.reduce((n, v) => n + v.masked.length, 0);
    for (const r of [a, b]) {
      expect(r.items).toBe(3);
      expect(r.planes).toBe(slices);
    }
    // The unet's mean equals the mean of its per-slice Dice (each slice from the one cached prediction).
    let sum = 0;
    const store = ProjectStore.open(vols.project, { create: false });
    try {
      for (const v of vols.volumes)
        for (const z of v.masked) {
          const e = await h['results.segment']({ project: vols.project, model: unet.id, itemId: v.id, slice: z }, ctx);
          const ref = store.mask(v.id, 2, z);
          if (!ref) throw new Error('missing reference mask');
          sum += overlap(decode(e.maskBase64), ref.data, 1).dice;
        }
    } finally {
      store.close();
    }
    expect(a.perClass[0]?.dice).toBeCloseTo(sum / slices, 10);
    console.log(
      `compareSegment: s4nd-unet3d Dice ${a.perClass[0]?.dice.toFixed(3)}, conv-unet3d ${b.perClass[0]?.dice.toFixed(3)} on ${slices} slices`,
    );
    expect(a.perClass[0]?.dice).toBeGreaterThan(0.3);
  }, 180_000);
});
