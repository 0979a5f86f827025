// Training data from a project: whole-item labels of images (classify), masks of images and NIfTI/DICOM volume
// slices (segment), frame triplets of videos (interpolate: frames k, k + m -> k + j at t = j / m for m = 2, 3, 4, see
// interpolationWindows; every 5th triplet validates), each with its split.
// With `dims: 3` (a 3-D architecture) classify reads clips of labelled videos and segment reads masked volume slabs
// (project-data-3d.ts). Items without a split go to val
// when the first hex digit of their content hash is 0-2 (about 19%), to train otherwise: stable across runs.
// With a { mode: 'hash', fraction } split (classify / segment), stored splits are ignored and an item validates when
// its content hash, read as a fraction (hashFraction), is below `fraction`.
import type { ModelTask, Normalization, TrainSplit } from '../../contract/models.js';
import type { ProjectItem } from '../../contract/project.js';
import { AppError } from '../ipc/app-error.js';
import { probeVideo, readFrames } from '../media/video.js';
import type { ProjectStore } from '../project/store.js';
import { INTERP_CHANNELS, interpolationInput, type Sample } from './dataset.js';
import { maskClassMap, oneHot } from './mask-classes.js';
import { loadProjectData3d } from './project-data-3d.js';
import { axialSlice, loadImage, loadVolume, normalizeInPlace, rgbPlanes, volumeScale } from './media-input.js';

export interface ProjectData {
  train: Sample[];
  val: Sample[];
  classes: string[];
  channels: number;
  normalize: Normalization;
}

/** The first 8 hex digits of a content hash as a fraction in [0, 1) (the renderer's Train view counts the same way). */
export function hashFraction(hash: string): number {
  const v = parseInt(hash.slice(0, 8), 16);
  return Number.isFinite(v) ? v / 2 ** 32 : 0;
}

export function splitOf(item: ProjectItem, split: TrainSplit = { mode: 'project' }): 'train' | 'val' | 'test' {
  if (split.mode === 'hash') return hashFraction(item.hash) < split.fraction ? 'val' : 'train';
  if (item.split) return item.split;
  return parseInt(item.hash.charAt(0), 16) < 3 ? 'val' : 'train';
}

function allItems(store: ProjectStore): ProjectItem[] {
  const out: ProjectItem[] = [];
  for (let off = 0; ; off += 1000) {
    const page = store.items(off, 1000);
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

/** Mean and std of every input value of the training samples (the card's normalisation). */
function stats(samples: Sample[]): Normalization {
  let s = 0,
    ss = 0,
    n = 0;
  for (const x of samples)
    for (let i = 0; i < x.input.length; i += 3) {
      const v = x.input[i] as number;
      s += v;
      ss += v * v;
      n++;
    }
  const mean = n ? s / n : 0;
  return { mean, std: Math.max(1e-3, Math.sqrt(Math.max(0, ss / Math.max(1, n) - mean * mean))) };
}

/**
 * Interpolation triplets of a video of `frames` frames: windows of m + 1 consecutive frames (m = 2, 3, 4 in turn, not
 * overlapping), input frames `start` and `start + m`, target frame `start + j` at t = j / m with j cycling through
 * 1 .. m - 1 (as `scripts/train-defaults.mjs interp`), so a model fine-tuned on a project learns any t, not only ½.
 */
export function interpolationWindows(frames: number, max: number): { start: number; m: number; j: number }[] {
  const out: { start: number; m: number; j: number }[] = [];
  let start = 0;
  for (let w = 0; out.length < max; w++) {
    const m = 2 + (w % 3);
    if (start + m >= frames) break;
    out.push({ start, m, j: 1 + (Math.floor(w / 3) % (m - 1)) });
    start += m + 1;
  }
  return out;
}

export interface LoadOptions {
  /** Classes to keep and their order (fine-tuning with the parent's classes); default: every labelled class, sorted. */
  classes?: string[];
  channels?: number;
  normalize?: Normalization;
  signal?: AbortSignal;
  /** Interpolation: frames are read at this size (the largest stage size); 3-D: the clip / volume cube size. */
  frameSize?: number;
  /** Spatial axes of the model (default 2); 3 loads video clips (classify) or volume slabs (segment). */
  dims?: 2 | 3;
  /** Interpolation: at most this many triplets (windows) per video. */
  maxTriplets?: number;
  /** Train / validation split of classify and segment items (default: the project's). */
  split?: TrainSplit;
}

export async function loadProjectData(
  store: ProjectStore,
  task: ModelTask,
  opts: LoadOptions = {},
): Promise<ProjectData> {
  const items = allItems(store);
  const train: Sample[] = [];
  const val: Sample[] = [];
  let classes: string[] = [];
  let channels = opts.channels ?? 1;
  const put = (item: ProjectItem, s: Sample): void => {
    const sp = splitOf(item, opts.split);
    if (sp === 'train') train.push(s);
    else if (sp === 'val') val.push(s);
  };
  if (opts.dims === 3 && task !== 'interpolate') {
    ({ classes, channels } = await loadProjectData3d(store, task, items, opts, put));
  } else if (task === 'classify') {
    const labels = store.allLabels().filter((l) => l.frameStart === null);
    classes = opts.classes ?? [...new Set(labels.map((l) => l.className))].sort();
    if (classes.length < 2)
      throw new AppError('bad_request', `classification needs labels of 2 or more classes (found ${classes.length})`);
    const byId = new Map(items.map((i) => [i.id, i]));
    for (const l of labels) {
      opts.signal?.throwIfAborted();
      const item = byId.get(l.itemId);
      const k = classes.indexOf(l.className);
      if (!item || item.kind !== 'image' || k < 0) continue;
      const img = await loadImage(item.path, channels);
      put(item, { input: img.data, channels, size: [img.height, img.width], target: k, targetChannels: 0 });
    }
  } else if (task === 'segment') {
    const masks = store.masks();
    const used = new Set<number>();
    const volumes = new Map<number, { data: Awaited<ReturnType<typeof loadVolume>>; scale: number }>();
    const raw: { item: ProjectItem; input: Float32Array; mask: Uint8Array; w: number; h: number }[] = [];
    for (const m of masks) {
      opts.signal?.throwIfAborted();
      const item = store.item(m.itemId);
      const mask = store.mask(m.itemId, m.axis, m.slice);
      if (!mask) continue;
      let input: Float32Array;
      if (item.kind === 'image') {
        input = (await loadImage(item.path, channels)).data;
      } else if ((item.kind === 'nifti' || item.kind === 'dicom') && m.axis === 2) {
        let v = volumes.get(item.id);
        if (!v) {
          const data = await loadVolume(item.path);
          v = { data, scale: volumeScale(data.volume) };
          volumes.set(item.id, v);
        }
        input = axialSlice(v.data.volume, m.slice, v.scale);
      } else continue;
      for (const b of mask.data) if (b !== 0) used.add(b);
      raw.push({ item, input, mask: mask.data, w: mask.width, h: mask.height });
    }
    // Classes named from the project's stored mask values, in value order (mask-classes.ts).
    const map = maskClassMap(store, used, opts.classes);
    classes = map.classes;
    const k = classes.length;
    if (k === 0) throw new AppError('bad_request', 'the project has masks but none has a painted pixel');
    for (const r of raw) {
      const target = oneHot(r.mask, map); // (K, H, W)
      put(r.item, { input: r.input, channels, size: [r.h, r.w], target, targetChannels: k });
    }
  } else {
    channels = INTERP_CHANNELS;
    const size = opts.frameSize ?? 64;
    for (const item of items.filter((i) => i.kind === 'video')) {
      const info = await probeVideo(item.path, opts.signal);
      const frames: Float32Array[] = [];
      const windows = interpolationWindows(info.frames, opts.maxTriplets ?? 64);
      const last = windows.at(-1);
      const max = last ? last.start + last.m + 1 : 0;
      if (max > 0)
        for await (const f of readFrames(item.path, info, {
          count: max,
          width: size,
          height: size,
          signal: opts.signal,
        })) {
          frames.push(rgbPlanes(f.data, f.width, f.height));
        }
      for (const [n, w] of windows.entries()) {
        const a = frames[w.start] as Float32Array,
          b = frames[w.start + w.j] as Float32Array,
          c = frames[w.start + w.m] as Float32Array;
        // Time-conditioned interpolator input at t = j / m (see interpolationInput); normalised as a whole below.
        const input = interpolationInput(a, c, w.j / w.m);
        // Every 5th triplet validates, so a one-video project still has validation data.
        const s: Sample = {
          input,
          channels: INTERP_CHANNELS,
          size: [size, size],
          target: b.slice(),
          targetChannels: 3,
        };
        if (n % 5 === 4) val.push(s);
        else train.push(s);
      }
    }
  }
  if (train.length === 0) throw new AppError('bad_request', `the project has no ${task} training data`);
  const normalize = opts.normalize ?? stats(train);
  for (const s of [...train, ...val]) {
    normalizeInPlace(s.input, normalize);
    if (task === 'interpolate' && typeof s.target !== 'number') normalizeInPlace(s.target, normalize);
  }
  return { train, val, classes, channels, normalize };
}
