// Segmentation results: a registered model's mask of one image or one axial volume slice (at its native size), and
// per-class Dice / IoU against the project's reference mask of that image or slice when one exists. 3-D segmenters
// predict the whole volume in one pass (eval-segment-3d.ts).
import type { SegmentEvaluation, SegmentSetEvaluation } from '../../contract/results.js';
import type { Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import type { ProjectStore } from '../project/store.js';
import { resample } from './dataset.js';
import { evaluateSegmentation3d, evaluateSegmentationSet3d } from './eval-segment-3d.js';
import type { RegisteredModel } from './manager.js';
import { axialSlice, loadImage, loadVolume, normalizeInPlace, volumeScale } from './media-input.js';
import { rateFor } from './zoo.js';

const fit = (n: number, m: number): number => Math.max(m, Math.round(n / m) * m);

/** Class-index mask (0 background, k + 1 where class k's logit is the largest > 0, i.e. sigmoid > 0.5). */
export function classMask(logits: Float32Array, k: number, per: number): Uint8Array {
  const out = new Uint8Array(per);
  for (let p = 0; p < per; p++) {
    let best = 0,
      bestV = 0;
    for (let c = 0; c < k; c++) {
      const v = logits[c * per + p] as number;
      if (v > bestV) {
        bestV = v;
        best = c + 1;
      }
    }
    out[p] = best;
  }
  return out;
}

/**
 * Dice and IoU of class `c` of a predicted class-index mask against the reference pixels holding `refValue` ('any':
 * every non-zero reference pixel); 1 / 1 when both are empty.
 */
export function overlap(
  pred: Uint8Array,
  ref: Uint8Array,
  c: number,
  refValue: number | 'any' = c,
): { dice: number; iou: number } {
  let inter = 0,
    a = 0,
    b = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] === c,
      r = refValue === 'any' ? ref[i] !== 0 : ref[i] === refValue;
    if (p) a++;
    if (r) b++;
    if (p && r) inter++;
  }
  if (a + b === 0) return { dice: 1, iou: 1 };
  return { dice: (2 * inter) / (a + b), iou: inter / (a + b - inter) };
}

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
  const grey = new Uint8Array(w * h);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(Math.min(1, Math.max(0, plane[i] as number)) * 255);
  return {
    model: card.id,
    itemId,
    slice: k0,
    slices,
    width: w,
    height: h,
    imageBase64: Buffer.from(grey).toString('base64'),
    maskBase64: Buffer.from(mask).toString('base64'),
    classes: card.classes,
    reference,
  };
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
  const sums = reg.card.classes.map((className) => ({ className, dice: 0, iou: 0 }));
  const items = new Set<number>();
  let n = 0;
  for (const p of planes) {
    const kind = store.item(p.itemId).kind;
    if (kind !== 'image' && kind !== 'nifti' && kind !== 'dicom') continue;
    if (kind === 'image' && p.slice !== 0) continue;
    const e = await evaluateSegmentation(model, reg, store, p.itemId, kind === 'image' ? null : p.slice);
    if (e.reference === null || e.slice !== p.slice) continue;
    e.reference.forEach((r, c) => {
      const s = sums[c];
      if (!s) return;
      s.dice += r.dice;
      s.iou += r.iou;
    });
    items.add(p.itemId);
    n += 1;
  }
  return {
    model: reg.card.id,
    items: items.size,
    planes: n,
    perClass: sums.map((s) => ({ className: s.className, dice: n ? s.dice / n : 0, iou: n ? s.iou / n : 0 })),
  };
}
