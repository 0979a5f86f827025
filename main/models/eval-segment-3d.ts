// Segmentation results of a 3-D segmenter (card.input.dims === 3, e.g. s4nd-unet3d): the whole volume is predicted in
// one pass as the inference service does (infer.ts segmentFile: the volume scaled by its 99.5th percentile, resampled
// to a multiple of the architecture's stride on every axis, fed at rate base / size, logits resampled back to the
// native grid, class k + 1 where class k's logit is the largest > 0). The predicted volume is cached in memory per
// (model checkpoint, item content) for the session, so showing another slice reads the cache instead of re-running
// the model; a slice's overlay and its Dice / IoU against the reference mask come from that one 3-D prediction.
import type { SegmentEvaluation, SegmentSetEvaluation } from '../../contract/results.js';
import { AppError } from '../ipc/app-error.js';
import type { Volume } from '../media/volume.js';
import type { ProjectStore } from '../project/store.js';
import { resample } from './dataset.js';
import { ClassScoreSums, classMask, fit, overlap, planeEvaluation } from './eval-segment-common.js';
import type { RegisteredModel } from './manager.js';
import { axialSlice, loadVolume, normalizeInPlace, volumeScale } from './media-input.js';
import type { Predictor } from './runner.js';
import { rateFor } from './zoo.js';

export interface VolumePrediction {
  volume: Volume;
  scale: number;
  /** Class-index mask (Z, Y, X) on the volume's grid. */
  mask: Uint8Array;
}

/** Cached predictions, most recently used last (a few volumes: each holds the volume and its mask). */
const cache = new Map<string, VolumePrediction>();
const CACHE_SIZE = 6;
let runs = 0;

/** How many times the 3-D model actually ran for an evaluation (cache misses), for tests and diagnostics. */
export function volumePredictionRuns(): number {
  return runs;
}

/** Forgets every cached prediction (a model was removed, or tests). */
export function clearVolumePredictions(): void {
  cache.clear();
}

/** The 3-D model's class mask of a volume item: from the cache, or one pass of the model (then cached). */
export async function predictVolume(
  model: Predictor | (() => Promise<Predictor>),
  reg: RegisteredModel,
  store: ProjectStore,
  itemId: number,
): Promise<VolumePrediction> {
  const card = reg.card;
  if (card.task !== 'segment' || card.input.dims !== 3)
    throw new AppError('bad_request', `model '${card.id}' is not a 3-D segmenter`);
  const item = store.item(itemId);
  if (item.kind !== 'nifti' && item.kind !== 'dicom')
    throw new AppError(
      'unsupported',
      `item ${itemId} is a ${item.kind}: the 3-D segmenter '${card.id}' segments volumes (NIfTI / DICOM)`,
      'params.itemId',
    );
  const key = `${card.id}\u0000${reg.checkpoint}\u0000${item.path}\u0000${item.hash}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const { volume } = await loadVolume(item.path);
  const [nx, ny, nz] = volume.dims as [number, number, number];
  const scale = volumeScale(volume);
  const n = nx * ny * nz;
  const x = new Float32Array(n); // (1, Z, Y, X)
  for (let i = 0; i < n; i++) x[i] = (volume.data[i * volume.channels] as number) / scale;
  const m = card.input.multiple;
  const to = [fit(nz, m), fit(ny, m), fit(nx, m)];
  const xr = normalizeInPlace(resample(x, 1, [nz, ny, nx], to), card.input.normalize); // (1, Z', Y', X')
  const predictor = typeof model === 'function' ? await model() : model;
  const out = await predictor.predict(xr, [1, 1, ...to], { rate: rateFor(card.input.size, to) }); // (1, K, Z', Y', X')
  runs++;
  const k = Math.max(1, card.classes.length);
  const mask = classMask(resample(out.data, k, to, [nz, ny, nx]), k, n);
  const pred: VolumePrediction = { volume, scale, mask };
  cache.set(key, pred);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return pred;
}

/** One axial slice of the 3-D prediction with its Dice / IoU against the slice's reference mask (if any). */
export async function evaluateSegmentation3d(
  model: Predictor | (() => Promise<Predictor>),
  reg: RegisteredModel,
  store: ProjectStore,
  itemId: number,
  slice: number | null,
): Promise<SegmentEvaluation> {
  const card = reg.card;
  const { volume, scale, mask } = await predictVolume(model, reg, store, itemId);
  const [nx, ny, nz] = volume.dims as [number, number, number];
  const per = nx * ny;
  const k0 = Math.min(nz - 1, Math.max(0, slice ?? Math.floor(nz / 2)));
  const plane = axialSlice(volume, k0, scale);
  const sliceMask = mask.slice(k0 * per, (k0 + 1) * per);
  const ref = store.mask(itemId, 2, k0);
  const reference =
    ref && ref.width === nx && ref.height === ny
      ? card.classes.map((className, c) => ({ className, ...overlap(sliceMask, ref.data, c + 1) }))
      : null;
  const fields = { model: card.id, itemId, slice: k0, slices: nz, width: nx, height: ny, classes: card.classes };
  return planeEvaluation({ ...fields, reference }, plane, sliceMask);
}

/**
 * A 3-D segmenter on every volume with axial reference masks: each volume is predicted once (whole, as inference
 * does), and every masked slice of it is scored against its mask; per class, the mean Dice / IoU over those slices
 * (the same planes the 2-D evaluation scores, so two models of either kind compare on the same set). Images are not
 * a 3-D model's input and are skipped; so are slices whose mask size differs from the volume's.
 */
export async function evaluateSegmentationSet3d(
  model: Predictor | (() => Promise<Predictor>),
  reg: RegisteredModel,
  store: ProjectStore,
): Promise<SegmentSetEvaluation> {
  const byItem = new Map<number, number[]>();
  for (const p of store.masks()) {
    if (p.axis !== 2) continue;
    const kind = store.item(p.itemId).kind;
    if (kind !== 'nifti' && kind !== 'dicom') continue;
    byItem.set(p.itemId, [...(byItem.get(p.itemId) ?? []), p.slice]);
  }
  const sums = new ClassScoreSums(reg.card.classes);
  let items = 0;
  for (const [itemId, slices] of byItem) {
    const { volume, mask } = await predictVolume(model, reg, store, itemId);
    const [nx, ny, nz] = volume.dims as [number, number, number];
    const per = nx * ny;
    let used = 0;
    for (const z of [...slices].sort((a, b) => a - b)) {
      const ref = store.mask(itemId, 2, z);
      if (z >= nz || !ref || ref.width !== nx || ref.height !== ny) continue;
      const pred = mask.subarray(z * per, (z + 1) * per);
      sums.addPlane((c) => overlap(pred, ref.data, c + 1));
      used++;
    }
    if (used > 0) items++;
  }
  return sums.result(reg.card.id, items);
}
