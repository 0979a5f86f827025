// Segmentation results: a registered model's mask of one image or one axial volume slice (at its native size), and
// per-class Dice / IoU against the project's reference mask of that image or slice when one exists. 3-D segmenters
// predict the whole volume in one pass (eval-segment-3d.ts).
import type { SegmentEvaluation, SegmentSetEvaluation } from '../../contract/results.js';
import type { Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import type { ProjectStore } from '../project/store.js';
import { resample } from './dataset.js';
import { evaluateSegmentation3d, evaluateSegmentationSet3d } from './eval-segment-3d.js';
import { ClassScoreSums, classMask, fit, overlap, planeEvaluation } from './eval-segment-common.js';
import type { RegisteredModel } from './manager.js';
import { axialSlice, loadImage, loadVolume, normalizeInPlace, volumeScale } from './media-input.js';
import { rateFor } from './zoo.js';

export { classMask, overlap } from './eval-segment-common.js';

export async function evaluateSegmentation(
  model: Model,
  reg: RegisteredModel,
  store: ProjectStore,
  itemId: number,
  slice: number | null,
): Promise<SegmentEvaluation> {
  const card = reg.card;
  if (card.task !== 'segment') throw new AppError('bad_request', `model '${card.id}' is a ${card.task} model`);
  if (card.input.dims === 3) return evaluateSegmentation3d(model, reg, store, itemId, slice);
  if (card.input.dims !== 2 || card.input.channels !== 1)
    throw new AppError('unsupported', 'the results view shows 2-D single-channel segmenters (slice by slice)');
  const item = store.item(itemId);
  let plane: Float32Array, w: number, h: number, slices: number, k0: number;
  if (item.kind === 'image') {
    const img = await loadImage(item.path, 1);
    [plane, w, h, slices, k0] = [img.data, img.width, img.height, 1, 0];
  } else if (item.kind === 'nifti' || item.kind === 'dicom') {
    const { volume } = await loadVolume(item.path);
    const [nx, ny, nz] = volume.dims as [number, number, number];
    k0 = Math.min(nz - 1, Math.max(0, slice ?? Math.floor(nz / 2)));
    [plane, w, h, slices] = [axialSlice(volume, k0, volumeScale(volume)), nx, ny, nz];
  } else throw new AppError('unsupported', `item ${itemId} is a ${item.kind}: segment images and volumes`);
  const m = card.input.multiple;
  const to = [fit(h, m), fit(w, m)];
  const x = normalizeInPlace(resample(plane, 1, [h, w], to), card.input.normalize);
  const out = await model.predict(x, [1, 1, ...to], { rate: rateFor(card.input.size, to) });
  const k = Math.max(1, card.classes.length);
  const mask = classMask(resample(out.data, k, to, [h, w]), k, w * h);
  const ref = store.mask(itemId, 2, k0);
  const reference =
    ref && ref.width === w && ref.height === h
      ? card.classes.map((className, c) => ({
          className,
          ...overlap(mask, ref.data, c + 1, referenceValue(store, card.classes, className, c)),
        }))
      : null;
  const fields = { model: card.id, itemId, slice: k0, slices, width: w, height: h, classes: card.classes, reference };
  return planeEvaluation(fields, plane, mask);
}

/**
 * The project's mask value a card class is compared with: the project class of the same name; a one-class model
 * with no such class (e.g. "foreground") against every painted pixel; otherwise by position (value c + 1).
 */
function referenceValue(store: ProjectStore, classes: string[], className: string, c: number): number | 'any' {
  const v = store.maskValueOf(className);
  if (v !== null) return v;
  return classes.length === 1 ? 'any' : c + 1;
}

/**
 * One segmenter on every image or axial volume slice of the project that has a reference mask (the same set for any
 * model): per class, the mean Dice / IoU over those planes. Planes whose mask size differs from the picture's are
 * skipped (not counted).
 */
export async function evaluateSegmentationSet(
  model: Model,
  reg: RegisteredModel,
  store: ProjectStore,
): Promise<SegmentSetEvaluation> {
  if (reg.card.input.dims === 3) return evaluateSegmentationSet3d(model, reg, store);
  const planes = store.masks().filter((m) => m.axis === 2);
  const sums = new ClassScoreSums(reg.card.classes);
  const items = new Set<number>();
  for (const p of planes) {
    const kind = store.item(p.itemId).kind;
    if (kind !== 'image' && kind !== 'nifti' && kind !== 'dicom') continue;
    if (kind === 'image' && p.slice !== 0) continue;
    const e = await evaluateSegmentation(model, reg, store, p.itemId, kind === 'image' ? null : p.slice);
    const reference = e.reference;
    if (reference === null || e.slice !== p.slice) continue;
    sums.addPlane((c) => reference[c]);
    items.add(p.itemId);
  }
  return sums.result(reg.card.id, items.size);
}
