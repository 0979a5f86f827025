// Pieces shared by the 2-D (eval-segment.ts) and 3-D (eval-segment-3d.ts) segmentation results: the model input
// size, the class-index mask of logits, Dice / IoU of one class, one plane's result record and the per-class means.
import type { SegmentEvaluation, SegmentSetEvaluation } from '../../contract/results.js';

/** n rounded to a multiple of m (at least m): the model input size along one axis. */
export const fit = (n: number, m: number): number => Math.max(m, Math.round(n / m) * m);

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

/** One plane's result: `plane` (h·w, values in [0, 1]) as 8-bit grey, its predicted class mask and the scores. */
export function planeEvaluation(
  fields: Omit<SegmentEvaluation, 'imageBase64' | 'maskBase64'>,
  plane: Float32Array,
  mask: Uint8Array,
): SegmentEvaluation {
  const grey = new Uint8Array(fields.width * fields.height);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round(Math.min(1, Math.max(0, plane[i] as number)) * 255);
  const { model, itemId, slice, slices, width, height, classes, reference } = fields;
  return {
    model,
    itemId,
    slice,
    slices,
    width,
    height,
    imageBase64: Buffer.from(grey).toString('base64'),
    maskBase64: Buffer.from(mask).toString('base64'),
    classes,
    reference,
  };
}

/** Per-class sums of Dice / IoU over evaluated planes, and their means. */
export class ClassScoreSums {
  private readonly sums: { className: string; dice: number; iou: number }[];
  private planes = 0;

  constructor(classes: string[]) {
    this.sums = classes.map((className) => ({ className, dice: 0, iou: 0 }));
  }

  /** Adds one plane's scores (score(c) for class c). */
  addPlane(score: (c: number) => { dice: number; iou: number } | undefined): void {
    this.sums.forEach((s, c) => {
      const o = score(c);
      if (!o) return;
      s.dice += o.dice;
      s.iou += o.iou;
    });
    this.planes += 1;
  }

  /** The set result over `items` items (means 0 when no plane was added). */
  result(model: string, items: number): SegmentSetEvaluation {
    const n = this.planes;
    return {
      model,
      items,
      planes: n,
      perClass: this.sums.map((s) => ({ className: s.className, dice: n ? s.dice / n : 0, iou: n ? s.iou / n : 0 })),
    };
  }
}
