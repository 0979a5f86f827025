// 3-D models through the project training and inference services, on real data (project-fixture-3d.ts):
// - clip classification: street (vtest.avi) vs tree (tree.avi) video pieces, one with a frame-range label; the train
//   service trains s4nd-classifier3d with a two-stage schedule (8³ then 16³ clips), paused after a few steps and
//   resumed from its checkpoint, validates at 8 and 16, registers (ONNX export + parity at two sizes), and the infer
//   service writes a class suggestion per video; the CLI classifies a video with it;
// - volume segmentation: ch2 / ch2better T1 volumes with the ch2bet brain mask as axial masks; the train service trains
//   s4nd-unet3d (12³ then 24³), registers it, the infer service writes a NIfTI suggestion on the volume's grid, and
//   the CLI segments a volume with it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ModelCard, Suggestion, TrainResult } from '../../contract/index.js';
import { ROOT } from '../../main/app/paths.js';
import { readNifti } from '../../main/media/nifti.js';
import { probeVideo, readFrames } from '../../main/media/video.js';
import { rgbPlanes } from '../../main/models/media-input.js';
import { runInference } from '../../main/models/infer-service.js';
import { ModelManager } from '../../main/models/manager.js';
import { interpolationWindows, loadProjectData } from '../../main/models/project-data.js';
import { clipStarts, countTrainSamples3d, longestRun } from '../../main/models/project-data-3d.js';
import { splitOfItem } from '../../main/models/eval-classify.js';
import { runTraining } from '../../main/models/train-service.js';
import { ProjectStore } from '../../main/project/store.js';
import {
  clipProject,
  quiet,
  readRunState,
  volumeProject,
  type ClipProject,
  type VolumeProject,
} from './project-fixture-3d.js';

let tmp: string;
let clips: ClipProject;
let vols: VolumeProject;
let manager: ModelManager;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-train3d-'));
  clips = await clipProject(tmp);
  vols = await volumeProject(tmp);
  manager = new ModelManager({ userDir: path.join(tmp, 'data', 'models'), builtinDir: path.join(tmp, 'no-builtins') });
}, 120_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/ssm-studio.js'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, SSM_DATA_DIR: path.join(tmp, 'data') },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('3-D data rules', () => {
  it('clip starts stay inside the labelled range; the masked slab is the longest run of masked slices', () => {
    expect(clipStarts(8, 47, 16, 8)).toEqual([8, 32]); // 40 frames: two 16-frame clips, first and last
    expect(clipStarts(0, 31, 16, 8)).toEqual([0, 16]);
    expect(clipStarts(0, 39, 16, 1)).toEqual([12]); // one clip: centred
    expect(clipStarts(5, 9, 16, 8)).toEqual([5]); // shorter than a clip: one (stretched) clip
    for (const s of clipStarts(8, 47, 16, 8)) expect(s + 16 - 1).toBeLessThanOrEqual(47);
    expect(longestRun([1, 2, 3, 7, 8, 9, 10, 12])).toEqual([7, 10]);
    expect(longestRun([4])).toEqual([4, 4]);
    expect(longestRun([])).toBeNull();
  });

  it('clips: video labels only, whole-item and frame-range labels, item splits, (C, F, H, W) cubes', async () => {
    const store = ProjectStore.open(clips.project, { create: false });
    try {
      const d = await loadProjectData(store, 'classify', { dims: 3, frameSize: 16 });
      expect(d.classes).toEqual(['street', 'tree']);
      expect(d.channels).toBe(3);
      // train: street 2 pieces × 2 clips + the range 8-47 (2 clips), tree 1 piece × 2 clips; val: 2 + 2.
      expect(d.train.length).toBe(8);
      expect(d.val.length).toBe(4);
      expect(d.train.filter((s) => s.target === 1).length).toBe(2);
      for (const s of [...d.train, ...d.val]) {
        expect(s.size).toEqual([16, 16, 16]);
        expect(s.input.length).toBe(3 * 16 ** 3);
      }
      // The Train view's estimate counts the same clips without decoding them.
      const count = await countTrainSamples3d(store, 'classify', 16, (i) => splitOfItem(i) === 'train');
      expect(count).toEqual({ samples: 8, outputs: 2, channels: 3 });
      // A 2-D classifier finds no image labels in this project.
      await expect(loadProjectData(store, 'classify', {})).rejects.toThrow(/2 or more classes|no classify/);
    } finally {
      store.close();
    }
  }, 60_000);

  it('volumes: fully masked volumes and the masked slab of a partly masked one, resampled to a cube', async () => {
    const store = ProjectStore.open(vols.project, { create: false });
    try {
      const d = await loadProjectData(store, 'segment', { dims: 3, frameSize: 24 });
      expect(d.classes).toEqual(['brain']);
      expect(d.train.length).toBe(2);
      expect((await countTrainSamples3d(store, 'segment', 24, (i) => splitOfItem(i) === 'train')).samples).toBe(2);
      expect(d.val.length).toBe(1);
      for (const s of [...d.train, ...d.val]) {
        expect(s.size).toEqual([24, 24, 24]);
        const t = s.target as Float32Array;
        const fg = t.reduce((a, b) => a + b, 0) / t.length;
        expect(fg).toBeGreaterThan(0.1); // brain inside the cube
        expect(fg).toBeLessThan(0.9);
      }
    } finally {
      store.close();
    }
  }, 60_000);
});

describe('interpolation data from project videos', () => {
  it('triplets at t = j/m for m = 2, 3, 4 (not only 1/2), target frame k + j between frames k and k + m', async () => {
    expect(interpolationWindows(20, 64)).toEqual([
      { start: 0, m: 2, j: 1 },
      { start: 3, m: 3, j: 1 },
      { start: 7, m: 4, j: 1 },
      { start: 12, m: 2, j: 1 },
      { start: 15, m: 3, j: 2 },
    ]);
    const ts = new Set(interpolationWindows(1000, 64).map((w) => `${w.j}/${w.m}`));
    expect([...ts].sort()).toEqual(['1/2', '1/3', '1/4', '2/3', '2/4', '3/4']);
    const store = ProjectStore.open(clips.project, { create: false });
    try {
      const d = await loadProjectData(store, 'interpolate', { frameSize: 16, maxTriplets: 9 });
      // Five 32-frame pieces give 8 windows each (3 + 4 + 5 frames per 3 windows), the 48-frame one 9; every 5th
      // window of a video validates.
      expect(d.train.length + d.val.length).toBe(49);
      expect(d.val.length).toBe(6);
      const { mean, std } = d.normalize;
      const tOf = (x: Float32Array): number => (x[x.length - 1] as number) * std + mean;
      const seen = new Set([...d.train, ...d.val].map((s) => Math.round(tOf(s.input) * 1000) / 1000));
      expect([...seen].sort()).toEqual([0.25, 0.333, 0.5, 0.667, 0.75].sort());
      // The blend channels hold (1 - t)·a + t·b of the two input frames.
      const s0 = d.train[2] as (typeof d.train)[number]; // window 2: m = 4, j = 1
      const n = 3 * 16 * 16;
      const t = tOf(s0.input);
      expect(t).toBeCloseTo(0.25, 5);
      for (let i = 0; i < n; i += 97)
        expect(s0.input[2 * n + i] as number).toBeCloseTo(
          (1 - t) * (s0.input[i] as number) + t * (s0.input[n + i] as number),
          4,
        );
      // Its frames are frames 7 (a), 11 (b) and 8 (target) of the first video, decoded at 16×16.
      const first = store.items(0, 100).find((i) => i.kind === 'video') as { path: string };
      const info = await probeVideo(first.path);
      const fr: Float32Array[] = [];
      for await (const f of readFrames(first.path, info, { count: 12, width: 16, height: 16 }))
        fr.push(rgbPlanes(f.data, 16, 16).map((v) => (v - mean) / std));
      const maxDiff = (x: Float32Array, y: Float32Array): number =>
        x.reduce((m, v, i) => Math.max(m, Math.abs(v - (y[i] as number))), 0);
      expect(maxDiff(s0.input.subarray(0, n), fr[7] as Float32Array)).toBeLessThan(1e-5);
      expect(maxDiff(s0.input.subarray(n, 2 * n), fr[11] as Float32Array)).toBeLessThan(1e-5);
      expect(maxDiff(s0.target as Float32Array, fr[8] as Float32Array)).toBeLessThan(1e-5);
      expect(maxDiff(s0.target as Float32Array, fr[7] as Float32Array)).toBeGreaterThan(0.05);
    } finally {
      store.close();
    }
  }, 60_000);
});

describe('3-D training and inference services', () => {
  let clipCard: ModelCard;
  let segCard: ModelCard;

  it('clip classifier: two-stage schedule, paused and resumed, validated at 8 and 16, registered with ONNX, suggestions', async () => {
    const params = {
      project: clips.project,
      task: 'classify' as const,
      architecture: 's4nd-classifier3d',
      schedule: [
        { size: 8, epochs: 3 },
        { size: 16, epochs: 3 },
      ],
      batchSize: 4,
      seed: 3,
      runId: 'clip3d',
      patience: 10,
    };
    const first = await runTraining({ ...params, maxSteps: 4 }, { ...quiet, manager });
    expect(first.modelId).toBeNull();
    expect(first.steps).toBe(4);
    const ckpt = await readRunState(clips.project, 'clip3d');
    expect(existsSync(path.join(clips.project, 'runs', 'clip3d', ckpt.checkpoint))).toBe(true);
    const t0 = Date.now();
    const r: TrainResult = await runTraining(params, { ...quiet, manager });
    console.log(`clip3d resumed run: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${r.steps} steps`);
    expect(r.resumed).toBe(true);
    expect(r.steps).toBe(12); // 8 train clips / 4 = 2 steps per epoch × 6 epochs
    const card = r.card as ModelCard;
    clipCard = card;
    expect(card.input.dims).toBe(3);
    expect(card.input.size).toEqual([16, 16, 16]);
    expect(card.input.channels).toBe(3);
    expect(card.trainingResolutions).toEqual([8, 16]);
    expect(card.metrics.map((m) => m.size)).toEqual([8, 16]);
    console.log(`clip3d: ${card.params} params, validation:`, JSON.stringify(card.metrics));
    for (const m of card.metrics) expect(Number.isFinite(m.metrics['accuracy'])).toBe(true);
    expect(card.onnx?.parity.length).toBeGreaterThanOrEqual(2);
    expect(card.onnx?.parity.every((p) => p.ok)).toBe(true);
    console.log('clip3d ONNX parity:', JSON.stringify(card.onnx?.parity));
    // Loss falls over the run (first epoch vs last epoch, train loss logged per epoch).
    const state = await readRunState(clips.project, 'clip3d');
    const losses = state.history.map((h) => h.trainLoss);
    console.log('clip3d train loss per epoch:', losses.map((l) => l.toFixed(3)).join(' '));
    expect(losses.length).toBe(6);
    expect(losses.at(-1) as number).toBeLessThan((losses[0] as number) * 0.9);

    const inf = await runInference({ project: clips.project, task: 'classify', model: card.id }, { ...quiet, manager });
    expect(inf.suggestions).toBe(6); // every video item
    const sug = JSON.parse(await readFile(inf.file, 'utf8')) as Suggestion[];
    // The held-out videos (media/val/<class>/…) get their own class on top.
    const store = ProjectStore.open(clips.project, { create: false });
    const valItems = store.items(0, 100).filter((i) => i.split === 'val');
    store.close();
    expect(valItems.length).toBe(2);
    for (const item of valItems) {
      const s = sug.find((x) => x.itemId === item.id);
      if (s?.kind !== 'class') throw new Error(`no class suggestion for ${item.path}`);
      expect(s.top[0]?.label).toBe(path.basename(path.dirname(item.path)));
    }
    for (const s of sug) {
      if (s.kind !== 'class') throw new Error('expected class suggestions');
      expect(s.top.length).toBe(2);
      expect(s.top[0]?.p as number).toBeGreaterThanOrEqual(0.5);
      expect(Math.abs((s.top[0]?.p as number) + (s.top[1]?.p as number) - 1)).toBeLessThan(1e-3);
    }
  }, 180_000);

  it('the conv3d-classifier baseline trains on the same clips through the service and registers with ONNX', async () => {
    const r = await runTraining(
      {
        project: clips.project,
        task: 'classify',
        architecture: 'conv3d-classifier',
        schedule: [{ size: 16, epochs: 12 }],
        batchSize: 4,
        seed: 3,
        patience: 10,
      },
      { ...quiet, manager },
    );
    const card = r.card as ModelCard;
    const hist = (await readRunState(clips.project, r.runId)).history;
    console.log(
      `conv3d-classifier: ${card.params} params, validation ${JSON.stringify(card.metrics)}, train loss / val accuracy per epoch ${hist.map((h) => `${h.trainLoss.toFixed(3)}/${h.validation[0]?.metrics['accuracy']}`).join(' ')}`,
    );
    expect(card.input.resolutionFlexible).toBe(false);
    expect(card.input.dims).toBe(3);
    expect(card.onnx?.parity.every((p) => p.ok)).toBe(true);
    // It learns the training clips (held-out accuracy on 4 clips is reported, not asserted: a figure, not a bar).
    expect(hist.at(-1)?.trainLoss as number).toBeLessThan((hist[0]?.trainLoss as number) * 0.75);
  }, 120_000);

  it('volume segmenter: two-stage schedule, registered with ONNX, NIfTI suggestion on the volume grid', async () => {
    const r = await runTraining(
      {
        project: vols.project,
        task: 'segment',
        architecture: 's4nd-unet3d',
        schedule: [
          { size: 12, epochs: 40 },
          { size: 24, epochs: 40 },
        ],
        batchSize: 2,
        seed: 2,
        patience: 100,
      },
      { ...quiet, manager },
    );
    const card = r.card as ModelCard;
    segCard = card;
    expect(card.input.dims).toBe(3);
    expect(card.metrics.map((m) => m.size)).toEqual([12, 24]);
    console.log('seg3d validation:', JSON.stringify(card.metrics), 'steps', r.steps);
    expect(card.onnx?.parity.every((p) => p.ok)).toBe(true);
    console.log('seg3d ONNX parity:', JSON.stringify(card.onnx?.parity));
    const state = await readRunState(vols.project, r.runId);
    const loss = state.history.map((h) => h.trainLoss);
    console.log('seg3d train loss per epoch:', loss.map((l) => l.toFixed(3)).join(' '));
    expect(loss.at(-1) as number).toBeLessThan((loss[0] as number) * 0.9);

    const val = vols.volumes[2] as VolumeProject['volumes'][number];
    const inf = await runInference(
      { project: vols.project, task: 'segment', model: card.id, itemIds: [val.id] },
      { ...quiet, manager },
    );
    const [s] = JSON.parse(await readFile(inf.file, 'utf8')) as Suggestion[];
    if (s?.kind !== 'mask') throw new Error('expected a mask suggestion');
    const pred = (await readNifti(s.file)).volume;
    expect(pred.dims).toEqual(val.dims);
    const src = (await readNifti(val.path)).volume;
    expect(pred.spacing).toEqual(src.spacing);
    expect(pred.affine).toEqual(src.affine);
    let inter = 0,
      a = 0,
      b = 0;
    pred.data.forEach((v, i) => {
      const p = v > 0 ? 1 : 0,
        t = val.mask[i] as number;
      inter += p * t;
      a += p;
      b += t;
    });
    const dice = (2 * inter) / Math.max(1, a + b);
    console.log(
      `seg3d suggestion on ${val.dims.join('×')}: foreground ${s.foreground.toFixed(3)}, Dice ${dice.toFixed(3)}`,
    );
    expect(dice).toBeGreaterThan(0.5);
  }, 180_000);

  it('the CLI classifies a video and segments a volume with the 3-D models', () => {
    if (!existsSync(path.join(ROOT, 'dist/main/cli/index.js')))
      throw new Error('dist/ is missing: run `node scripts/build.mjs main`');
    const store = ProjectStore.open(clips.project, { create: false });
    const video = store.items(0, 100).find((i) => i.kind === 'video' && i.split === 'val')?.path as string;
    store.close();
    const c = cli('classify', video, '--model', clipCard.id, '--json');
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const line = JSON.parse(c.stdout.trim()) as { top: { label: string; p: number }[] };
    expect(['street', 'tree']).toContain(line.top[0]?.label);
    // A 2-D image for a 3-D clip classifier is refused with a clear message.
    const bad = cli('classify', vols.volumes[0]?.path as string, '--model', clipCard.id);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/3-D clip classifier: give it a video/);
    const out = path.join(tmp, 'seg.nii.gz');
    const s = cli('segment', vols.volumes[2]?.path as string, '--model', segCard.id, '-o', out, '--json');
    expect(s.code).toBe(0);
    const sum = JSON.parse(s.stdout.trim()) as { width: number; height: number; slices: number; foreground: number };
    expect([sum.width, sum.height, sum.slices]).toEqual(vols.volumes[2]?.dims);
    expect(sum.foreground).toBeGreaterThan(0.05);
  }, 120_000);
});
