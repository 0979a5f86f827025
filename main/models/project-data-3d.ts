// Training data for 3-D models (zooEntry(arch).dims === 3) from a project: video clips for a 3-D classifier and
// whole masked volume slabs for a 3-D segmenter. loadProjectData (project-data.ts) calls loadProjectData3d when
// its `dims` option is 3; splits, normalisation and the empty-data error stay there.
//
// Stage sizes are cubes. The engine takes one S4ND rate for all axes, so a progressive-resizing stage of size s
// scales every axis by the same factor: a clip is s frames × s × s px, a volume is resampled to s × s × s voxels, and
// the rate is base / s on frames, height and width alike. Samples are loaded once at the largest stage size S
// (LoadOptions.frameSize, the train service passes the schedule's largest size) and atSize (dataset.ts) resamples
// them to each smaller stage (area averaging on every axis: a half-size stage sees half the frames, each the mean of
// two consecutive frames, like a lower frame rate).
//
// Video clips (classify):
//   - labels on video items only (image labels are 2-D data); a whole-item label (frameStart === null) covers every
//     frame, a frame-range label its inclusive range [frameStart, frameEnd]; clips never leave the labelled range;
//   - a clip is S CONSECUTIVE frames decoded by ffmpeg straight at S × S (the aspect ratio is squashed, as for
//     interpolation frames); a range of L ≥ S frames gives min(maxClips, floor(L / S)) clips whose starts are evenly
//     spread over the range (one clip: centred); a range shorter than S frames gives one clip, its L frames stretched
//     to S in time (linear resampling);
//   - channels: RGB (3 planes, layout (C, F, H, W)) unless the caller asks for 1 (grey = mean of R, G, B), e.g. a
//     parent model's channels when fine-tuning;
//   - every clip of an item shares the item's split (no clip of one video in both train and val).
// Volumes (segment):
//   - NIfTI / DICOM items with axial (axis 2) masks; masks hold class indices 1..K (0 background) as in the 2-D path;
//   - no loss mask exists, so an unmasked slice cannot be told from an all-background one: a volume contributes its
//     longest run of consecutive masked axial slices (the masked slab), at least 2 slices; unmasked slices are never
//     treated as background. Volumes with fewer masked consecutive slices are skipped (the error lists why when no
//     volume qualifies);
//   - the slab (scaled by the volume's 99.5th percentile, see media-input.ts) and its one-hot target are resampled to
//     S × S × S; the resampled target is thresholded at 0.5 (hard labels).
import type { ModelTask } from '../../contract/models.js';
import type { ProjectItem } from '../../contract/project.js';
import { AppError } from '../ipc/app-error.js';
import { probeVideo, readFrames, type VideoInfo } from '../media/video.js';
import type { ProjectStore } from '../project/store.js';
import { resample, type Sample } from './dataset.js';
import { maskClassMap, oneHot } from './mask-classes.js';
import { loadVolume, volumeScale } from './media-input.js';

export interface Load3dOptions {
  classes?: string[];
  channels?: number;
  signal?: AbortSignal;
  /** Clip / volume size S (frames × height × width, or depth × height × width): the largest stage size. */
  frameSize?: number;
  /** At most this many clips per label (default 8). */
  maxClips?: number;
}

/** Clip starts in the inclusive frame range [from, to] for clips of `length` frames (see the header). */
export function clipStarts(from: number, to: number, length: number, maxClips: number): number[] {
  const n = to - from + 1;
  if (n <= length) return [from];
  const count = Math.max(1, Math.min(maxClips, Math.floor(n / length)));
  if (count === 1) return [from + Math.floor((n - length) / 2)];
  return Array.from({ length: count }, (_, i) => from + Math.round((i * (n - length)) / (count - 1)));
}

/**
 * A clip of `frames` frames from `start` (fewer when the video or range ends first: then stretched in time) as
 * (C, size[0], size[1], size[2]) floats in [0, 1]; `count` is how many frames of the video it covers.
 */
export async function decodeClipTensor(
  file: string,
  info: VideoInfo,
  start: number,
  count: number,
  channels: number,
  size: number[],
  signal?: AbortSignal,
): Promise<Float32Array> {
  const [F, H, W] = size as [number, number, number];
  const per = H * W;
  const n = Math.max(1, Math.min(count, info.frames - start));
  const x = new Float32Array(channels * n * per); // (C, n, H, W)
  let f = 0;
  for await (const fr of readFrames(file, info, { start, count: n, width: W, height: H, signal })) {
    for (let p = 0; p < per; p++) {
      const r = fr.data[p * 3] as number,
        g = fr.data[p * 3 + 1] as number,
        b = fr.data[p * 3 + 2] as number;
      if (channels === 1) x[f * per + p] = (r + g + b) / 765;
      else for (let c = 0; c < channels; c++) x[(c * n + f) * per + p] = (c === 0 ? r : c === 1 ? g : b) / 255;
    }
    f++;
  }
  return n === F ? x : resample(x, channels, [n, H, W], [F, H, W]);
}

/** Class names of a segmentation project from the largest mask value (the 2-D path's rule, see project-data.ts). */

/** The longest run of consecutive slice indices in a sorted list: [first, last] or null. */
export function longestRun(sorted: number[]): [number, number] | null {
  let best: [number, number] | null = null;
  let start = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && (sorted[i] as number) !== (sorted[i - 1] as number) + 1) start = i;
    const len = i - start + 1;
    if (!best || len > best[1] - best[0] + 1) best = [sorted[start] as number, sorted[i] as number];
  }
  return best;
}

/**
 * Loads 3-D samples and hands each to `put` with its item (which splits it); returns the classes and input channels.
 */
export async function loadProjectData3d(
  store: ProjectStore,
  task: ModelTask,
  items: ProjectItem[],
  opts: Load3dOptions,
  put: (item: ProjectItem, s: Sample) => void,
): Promise<{ classes: string[]; channels: number }> {
  const S = opts.frameSize ?? 16;
  const size = [S, S, S];
  const byId = new Map(items.map((i) => [i.id, i]));
  if (task === 'classify') {
    const channels = opts.channels ?? 3;
    const labels = store.allLabels().filter((l) => byId.get(l.itemId)?.kind === 'video');
    const classes = opts.classes ?? [...new Set(labels.map((l) => l.className))].sort();
    if (classes.length < 2)
      throw new AppError(
        'bad_request',
        `clip classification needs video labels of 2 or more classes (found ${classes.length}); image labels are not used by a 3-D classifier`,
      );
    const infos = new Map<number, VideoInfo>();
    for (const l of labels) {
      opts.signal?.throwIfAborted();
      const item = byId.get(l.itemId) as ProjectItem;
      const k = classes.indexOf(l.className);
      if (k < 0) continue;
      let info = infos.get(item.id);
      if (!info) {
        info = await probeVideo(item.path, opts.signal);
        infos.set(item.id, info);
      }
      const from = Math.min(l.frameStart ?? 0, info.frames - 1);
      const to = Math.min(l.frameEnd ?? info.frames - 1, info.frames - 1);
      for (const start of clipStarts(from, to, S, opts.maxClips ?? 8)) {
        const count = Math.min(S, to - start + 1);
        const input = await decodeClipTensor(item.path, info, start, count, channels, size, opts.signal);
        put(item, { input, channels, size, target: k, targetChannels: 0 });
      }
    }
    return { classes, channels };
  }
  if (task !== 'segment') throw new AppError('bad_request', `no 3-D ${task} data`);
  const channels = 1;
  const slices = new Map<number, number[]>();
  for (const m of store.masks()) {
    const item = byId.get(m.itemId);
    if (!item || (item.kind !== 'nifti' && item.kind !== 'dicom') || m.axis !== 2) continue;
    const list = slices.get(item.id) ?? [];
    list.push(m.slice);
    slices.set(item.id, list);
  }
  const raw: { item: ProjectItem; input: Float32Array; mask: Uint8Array; dims: number[] }[] = [];
  const skipped: string[] = [];
  const used = new Set<number>();
  for (const [itemId, list] of slices) {
    opts.signal?.throwIfAborted();
    const item = byId.get(itemId) as ProjectItem;
    const run = longestRun([...list].sort((a, b) => a - b));
    if (!run || run[1] - run[0] + 1 < 2) {
      skipped.push(`${item.path}: fewer than 2 consecutive masked axial slices`);
      continue;
    }
    const { volume } = await loadVolume(item.path);
    const [nx, ny] = volume.dims as [number, number, number];
    const per = nx * ny;
    const depth = run[1] - run[0] + 1;
    const scale = volumeScale(volume);
    const input = new Float32Array(depth * per); // (1, depth, ny, nx)
    const mask = new Uint8Array(depth * per);
    for (let z = 0; z < depth; z++) {
      for (let p = 0; p < per; p++)
        input[z * per + p] = (volume.data[((run[0] + z) * per + p) * volume.channels] as number) / scale;
      const m = store.mask(itemId, 2, run[0] + z);
      if (!m || m.width !== nx || m.height !== ny)
        throw new AppError(
          'corrupt_input',
          `${item.path}: the mask of axial slice ${run[0] + z} is ${m ? `${m.width}×${m.height}` : 'missing'}, the volume's slices are ${nx}×${ny}`,
        );
      mask.set(m.data, z * per);
      for (const b of m.data) if (b !== 0) used.add(b);
    }
    raw.push({ item, input, mask, dims: [depth, ny, nx] });
  }
  // Classes named from the project's stored mask values, as the 2-D loader does (mask-classes.ts).
  const map = maskClassMap(store, used, opts.classes);
  const classes = map.classes;
  const k = classes.length;
  if (raw.length > 0 && k === 0)
    throw new AppError('bad_request', 'the project has masks but none has a painted pixel');
  for (const r of raw) {
    const onehot = oneHot(r.mask, map); // (K, depth, ny, nx)
    const target = resample(onehot, k, r.dims, size).map((v) => (v >= 0.5 ? 1 : 0));
    put(r.item, { input: resample(r.input, channels, r.dims, size), channels, size, target, targetChannels: k });
  }
  if (raw.length === 0)
    throw new AppError(
      'bad_request',
      `3-D segmentation needs volumes (NIfTI / DICOM) with masks on 2 or more consecutive axial slices${skipped.length ? ` (${skipped.join('; ')})` : ''}`,
    );
  return { classes, channels };
}

/**
 * Training samples a 3-D run would load, without decoding anything (the Train view's time estimate): clips per label
 * from each video's frame count (ffprobe), or volumes with 2 or more consecutive masked axial slices. `isTrain` says
 * whether an item trains (the caller's split rule).
 */
export async function countTrainSamples3d(
  store: ProjectStore,
  task: ModelTask,
  size: number,
  isTrain: (item: ProjectItem) => boolean,
): Promise<{ samples: number; outputs: number; channels: number }> {
  if (task === 'classify') {
    const labels = store.allLabels().filter((l) => store.item(l.itemId).kind === 'video');
    const frames = new Map<number, number>();
    let n = 0;
    for (const l of labels) {
      const item = store.item(l.itemId);
      if (!isTrain(item)) continue;
      let f = frames.get(item.id);
      if (f === undefined) {
        f = (await probeVideo(item.path)).frames;
        frames.set(item.id, f);
      }
      n += clipStarts(Math.min(l.frameStart ?? 0, f - 1), Math.min(l.frameEnd ?? f - 1, f - 1), size, 8).length;
    }
    return { samples: n, outputs: Math.max(2, new Set(labels.map((l) => l.className)).size), channels: 3 };
  }
  const slices = new Map<number, number[]>();
  for (const m of store.masks()) {
    if (m.axis !== 2) continue;
    const item = store.item(m.itemId);
    if ((item.kind !== 'nifti' && item.kind !== 'dicom') || !isTrain(item)) continue;
    slices.set(item.id, [...(slices.get(item.id) ?? []), m.slice]);
  }
  let n = 0;
  for (const list of slices.values()) {
    const run = longestRun([...list].sort((a, b) => a - b));
    if (run && run[1] - run[0] >= 1) n++;
  }
  return { samples: n, outputs: 1, channels: 1 };
}
