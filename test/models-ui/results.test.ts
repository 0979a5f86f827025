// The results handlers on real data: the shipped Fashion-MNIST classifier on the demo images (imported with the app's
// importer, ImageFolder labels), the shipped brain segmenter on the demo NIfTI volume, the shipped time-conditioned
// frame interpolator on the demo video (held-out frames at t = 1/2 and 1/3, 2/3, the frame at a non-dyadic t, export
// at factor 3 and at a target frame rate), model rename, and run listing.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { resultsHandlers } from '../../main/app/handlers/results.js';
import { ROOT } from '../../main/app/paths.js';
import { Engine } from '../../main/engine/model.js';
import type { CallContext } from '../../main/ipc/router.js';
import { resultsSchemas } from '../../main/ipc/schemas/results.js';
import { probeVideo, readFrames } from '../../main/media/video.js';
import { scaledSize } from '../../main/models/eval-interpolate.js';
import { interpolatePair } from '../../main/models/infer.js';
import { ModelManager } from '../../main/models/manager.js';
import { rgbPlanes, toRgb } from '../../main/models/media-input.js';
import { psnr } from '../../main/models/metrics.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';

let tmp: string;
let project: string;
let manager: ModelManager;
let h: ReturnType<typeof resultsHandlers>;
const ctx = {} as CallContext;
const VIDEO = path.join(ROOT, 'samples/video/vtest-4s.mp4');
const INTERP = 'frame-interp-s4nd';

/** The first `count` frames of a video at `width` (the view's downscaling) as RGB bytes. */
async function clip(file: string, width: number, count: number): Promise<{ w: number; h: number; rgb: Uint8Array[] }> {
  const info = await probeVideo(file);
  const { w, h } = scaledSize(info.width, info.height, width);
  const rgb: Uint8Array[] = [];
  for await (const f of readFrames(file, info, { count, width: w, height: h })) rgb.push(f.data);
  return { w, h, rgb };
}

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

  it('interpolation: held-out frames at t = 1/2; the frame at t = 0.3 is predicted at exactly 0.3 (no 1/8 rounding)', async () => {
    const base = { path: VIDEO, model: INTERP, width: 64, pairs: 3, index: 1 };
    const half = await h['results.interpolate']({ ...base, t: 0.5 }, ctx);
    expect(half.step).toBe(2);
    expect(half.frames.map((f) => [f.index, f.t])).toEqual([
      [1, 0.5],
      [3, 0.5],
      [5, 0.5],
    ]);
    expect(half.selected).toMatchObject({ index: 1, from: 0, to: 2, t: 0.5, realIndex: 1 });
    expect(half.selected.real).not.toBeNull();

    const at = async (t: number): Promise<string> => {
      const r = await h['results.interpolate']({ ...base, t }, ctx);
      expect(r.selected.t).toBe(t);
      expect(r.selected.real).toBeNull(); // no source frame lies between frames 0 and 2 except at t = 1/2
      expect(r.selected.realIndex).toBeNull();
      return r.selected.predicted;
    };
    const p03 = await at(0.3);
    // 0.3 rounded to eighths is 0.25, recursive midpoints would give 0.25 or 0.375: all differ from the frame at 0.3.
    expect(p03).not.toBe(await at(0.25));
    expect(p03).not.toBe(await at(0.375));
    expect(p03).not.toBe(half.selected.predicted);
    // It is exactly the model's frame at t = 0.3 between source frames 0 and 2 (one call, no recursion).
    const { w, h: ht, rgb } = await clip(VIDEO, 64, 3);
    expect([w, ht]).toEqual([half.width, half.height]);
    const reg = await manager.get(INTERP);
    const model = await new Engine().loadModel(reg.checkpoint);
    try {
      const a = rgbPlanes(rgb[0] as Uint8Array, w, ht),
        b = rgbPlanes(rgb[2] as Uint8Array, w, ht);
      const direct = (await interpolatePair(model, reg.card, a, b, 0.3, ht, w)).map((x) => Math.min(1, Math.max(0, x)));
      expect(p03).toBe(Buffer.from(toRgb(direct, w, ht)).toString('base64'));
    } finally {
      model.dispose();
    }
  }, 120_000);

  it('interpolation: two of every three frames held out, predicted at t = 1/3 and 2/3 against the real frames', async () => {
    const r = await h['results.interpolate'](
      { path: VIDEO, model: INTERP, width: 64, pairs: 2, index: 5, t: 2 / 3, step: 3 },
      ctx,
    );
    expect(r.step).toBe(3);
    expect(r.frames.map((f) => [f.index, f.t])).toEqual([
      [1, 1 / 3],
      [2, 2 / 3],
      [4, 1 / 3],
      [5, 2 / 3],
    ]);
    for (const f of r.frames) {
      expect(f.psnr).toBeGreaterThan(15);
      expect(f.ssim).toBeGreaterThan(0);
      expect(f.ssim).toBeLessThanOrEqual(1);
    }
    expect(r.selected).toMatchObject({ index: 5, from: 3, to: 6, t: 2 / 3, realIndex: 5 });
    // The selected frame is the scored prediction of frame 5: its PSNR against the real frame (both 8-bit) agrees.
    const bytes = (b64: string): Float32Array => Float32Array.from(Buffer.from(b64, 'base64'), (v) => v / 255);
    const score = r.frames.find((f) => f.index === 5)?.psnr ?? 0;
    expect(psnr(bytes(r.selected.predicted), bytes(r.selected.real ?? ''))).toBeCloseTo(score, 0);
    // Between kept frames 3 and 6, t = 0.5 falls on no source frame.
    const mid = await h['results.interpolate'](
      { path: VIDEO, model: INTERP, width: 64, pairs: 2, index: 4, t: 0.5, step: 3 },
      ctx,
    );
    expect(mid.selected).toMatchObject({ index: 4, from: 3, to: 6, t: 0.5, realIndex: null, real: null });
  }, 120_000);

  it('interpolation params: t strictly in (0, 1); export at any integer factor ≥ 2 or any fps > 0, exactly one', () => {
    const interp = resultsSchemas['results.interpolate'];
    const p = { path: VIDEO, model: INTERP, width: 64, pairs: 3, index: 1 };
    expect(interp.safeParse({ ...p, t: 0.3 }).success).toBe(true);
    expect(interp.safeParse({ ...p, t: 0.3, step: 3 }).success).toBe(true);
    for (const t of [0, 1, -0.2, 1.5]) {
      const res = interp.safeParse({ ...p, t });
      expect(res.success).toBe(false);
      expect(res.error?.issues[0]?.message).toBe(
        `the interpolation time t must be strictly between 0 and 1 (0 and 1 are the two source frames), got ${t}`,
      );
      expect(res.error?.issues[0]?.path).toEqual(['t']);
    }
    expect(interp.safeParse({ ...p, t: 0.5, step: 4 }).success).toBe(false);
    const exp = resultsSchemas['results.exportVideo'];
    const e = { path: VIDEO, model: INTERP, width: 64, maxFrames: 4, out: path.join(tmp, 'x.mp4') };
    for (const factor of [2, 3, 5, 7, 16]) expect(exp.safeParse({ ...e, factor }).success).toBe(true);
    for (const fps of [0.5, 12.5, 29.97, 240]) expect(exp.safeParse({ ...e, fps }).success).toBe(true);
    const msg = (params: object): string | undefined => exp.safeParse(params).error?.issues[0]?.message;
    expect(msg({ ...e, factor: 2.5 })).toBe('the factor must be an integer ≥ 2, got 2.5');
    expect(msg({ ...e, factor: 1 })).toBe('the factor must be an integer ≥ 2, got 1');
    expect(msg({ ...e, fps: 0 })).toBe('the output frame rate must be a number > 0, got 0');
    expect(msg(e)).toBe('give exactly one of factor (an integer ≥ 2) or fps (a rate > 0)');
    expect(msg({ ...e, factor: 3, fps: 30 })).toBe('give exactly one of factor (an integer ≥ 2) or fps (a rate > 0)');
  });

  it('interpolation export: factor 3 writes 3·(n − 1) + 1 frames with the sources on the grid; a target fps too', async () => {
    const src = await probeVideo(VIDEO);
    const n = 4;
    const out = path.join(tmp, 'interp', 'x3.mp4');
    const r3 = await h['results.exportVideo'](
      { path: VIDEO, model: INTERP, factor: 3, width: 64, maxFrames: n, out },
      ctx,
    );
    expect(r3).toMatchObject({ out, frames: 3 * (n - 1) + 1, kept: n });
    expect(r3.fps).toBeCloseTo(3 * src.fps, 9);
    const info = await probeVideo(out);
    expect(info.frames).toBe(10);
    expect(info.fps).toBeCloseTo(3 * src.fps, 6);
    // Output frame 3k is source frame k (through H.264 4:2:0 only, ~33 dB at 64 px): at least 2 dB closer to it than
    // to any other source frame (neighbours are ~29 dB apart).
    const source = await clip(VIDEO, 64, n);
    const written = await clip(out, 64, 10);
    const q = (u: Uint8Array): Float32Array => Float32Array.from(u, (v) => v / 255);
    for (let k = 0; k < n; k++) {
      const kept = q(written.rgb[3 * k] as Uint8Array);
      const scores = source.rgb.map((s) => psnr(kept, q(s)));
      const own = scores[k] ?? 0;
      expect(own).toBeGreaterThan(30);
      for (const [j, other] of scores.entries()) if (j !== k) expect(own).toBeGreaterThan(other + 2);
    }
    // 1.5 × the source rate: output k at source position k / 1.5 = 0, 2/3, 4/3, 2, 8/3 (10/3 is past the last source
    // frame 3): sources 0 and 2 kept.
    const r15 = await h['results.exportVideo'](
      {
        path: VIDEO,
        model: INTERP,
        fps: 1.5 * src.fps,
        width: 64,
        maxFrames: n,
        out: path.join(tmp, 'interp', 'x15.mp4'),
      },
      ctx,
    );
    expect(r15).toMatchObject({ frames: 5, kept: 2 });
    expect(r15.fps).toBeCloseTo(1.5 * src.fps, 9);
    expect((await probeVideo(r15.out)).frames).toBe(5);
  }, 120_000);

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
