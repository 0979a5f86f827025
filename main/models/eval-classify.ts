// Classification results: a registered model on a project's labelled images (one split), at the model's base size
// (confusion matrix, per-class precision / recall / F1, top-k per item, the most confident mistakes) and at several
// input sizes against a resized-input baseline (the image resampled to the size, then back to the base size and fed
// at rate 1: what a fixed-resolution model would see).
import type { ClassifyEvaluation, ClassScores, EvalSplit } from '../../contract/results.js';
import type { Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import type { ProjectItem } from '../../contract/project.js';
import type { ProjectStore } from '../project/store.js';
import { resample } from './dataset.js';
import { evaluateClipClassifier } from './eval-classify-3d.js';
import type { RegisteredModel } from './manager.js';
import { loadImage, normalizeInPlace } from './media-input.js';
import { argmax, softmax } from './metrics.js';
import { rateFor } from './zoo.js';

/** The split an item trains or validates in (the training rule: items without a split, ~19% val by hash). */
export function splitOfItem(item: ProjectItem): 'train' | 'val' | 'test' {
  if (item.split) return item.split;
  return parseInt(item.hash.charAt(0), 16) < 3 ? 'val' : 'train';
}

interface Example {
  itemId: number;
  path: string;
  target: number;
  data: Float32Array;
  size: [number, number];
}

/** Logits (N, K) of `examples`, each resampled to `to` (via `via` first when given), at `rate`. */
async function logitsAt(
  model: Model,
  reg: RegisteredModel,
  examples: Example[],
  to: number[],
  rate: number,
  via: number[] | null,
): Promise<Float32Array[]> {
  const c = reg.card.input.channels;
  const per = c * to.reduce((a, b) => a * b, 1);
  const out: Float32Array[] = [];
  const B = 32;
  for (let off = 0; off < examples.length; off += B) {
    const part = examples.slice(off, off + B);
    const x = new Float32Array(part.length * per);
    part.forEach((e, i) => {
      const mid = via ? resample(e.data, c, e.size, via) : e.data;
      const r = resample(mid, c, via ?? e.size, to);
      x.set(normalizeInPlace(r.slice(), reg.card.input.normalize), i * per);
    });
    const pred = await model.predict(x, [part.length, c, ...to], { rate });
    const k = pred.shape[1] ?? 1;
    for (let i = 0; i < part.length; i++) out.push(pred.data.slice(i * k, (i + 1) * k));
  }
  return out;
}

export async function evaluateClassifier(
  model: Model,
  reg: RegisteredModel,
  store: ProjectStore,
  split: EvalSplit,
  sizes: number[],
): Promise<ClassifyEvaluation> {
  const t0 = Date.now();
  const card = reg.card;
  if (card.task !== 'classify') throw new AppError('bad_request', `model '${card.id}' is a ${card.task} model`);
  if (card.input.dims === 3) return evaluateClipClassifier(model, reg, store, split, sizes);
  const classes = card.classes;
  const examples: Example[] = [];
  // Labels match class names case- and punctuation-insensitively ('t-shirt_top' is the card's 'T-shirt/top').
  const key = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '');
  const keys = classes.map(key);
  for (const l of store.allLabels()) {
    if (l.frameStart !== null) continue;
    const k = keys.indexOf(key(l.className));
    if (k < 0) continue;
    const item = store.item(l.itemId);
    if (item.kind !== 'image' || (split !== 'all' && splitOfItem(item) !== split)) continue;
    const img = await loadImage(item.path, card.input.channels);
    examples.push({ itemId: item.id, path: item.path, target: k, data: img.data, size: [img.height, img.width] });
  }
  if (examples.length === 0)
    throw new AppError(
      'bad_request',
      `no labelled images of the model's classes (${classes.join(', ')}) in the ${split} split`,
      'params.split',
    );
  const base = card.input.size.slice(0, 2);
  const baseSize = base[0] ?? 28;
  const m = card.input.multiple;

  const logits = await logitsAt(model, reg, examples, base, 1, null);
  const scored = classifyScores(
    classes,
    examples.map((e) => e.target),
    logits.map((row) => softmax(row)),
    examples,
  );
  const { confusion, perClass, predictions } = scored;
  const mistakes = scored.mistakes.map(({ index: _, ...mk }) => mk);
  const accuracyOf = (rows: Float32Array[]): number =>
    rows.reduce((a, row, i) => a + (argmax(row) === (examples[i] as Example).target ? 1 : 0), 0) / examples.length;
  const bySize: ClassifyEvaluation['bySize'] = [];
  const wanted = [...new Set(sizes.map((s) => Math.max(m, Math.round(s / m) * m)))].sort((a, b) => a - b);
  for (const s of wanted) {
    const to = base.map(() => s);
    const direct = s === baseSize ? logits : await logitsAt(model, reg, examples, to, rateFor(base, to), null);
    const baseline = s === baseSize ? logits : await logitsAt(model, reg, examples, base, 1, to);
    bySize.push({ size: s, accuracy: accuracyOf(direct), baseline: accuracyOf(baseline) });
  }
  return {
    model: card.id,
    split,
    classes,
    size: baseSize,
    items: examples.length,
    accuracy: scored.accuracy,
    confusion,
    perClass,
    predictions,
    mistakes,
    bySize,
    seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * Confusion matrix, per-class precision / recall / F1, top-5 per example and the mistakes (most confident first,
 * with their example index) from class probability rows (N, K) and targets.
 */
export function classifyScores(
  classes: string[],
  targets: number[],
  probs: ArrayLike<number>[],
  refs: { itemId: number; path: string }[],
): {
  accuracy: number;
  confusion: number[][];
  perClass: ClassScores[];
  predictions: ClassifyEvaluation['predictions'];
  mistakes: (ClassifyEvaluation['mistakes'][number] & { index: number })[];
} {
  const K = classes.length;
  const confusion = classes.map(() => classes.map(() => 0));
  const predictions: ClassifyEvaluation['predictions'] = [];
  const mistakes: (ClassifyEvaluation['mistakes'][number] & { index: number })[] = [];
  let right = 0;
  refs.forEach((e, i) => {
    const p = Array.from(probs[i] ?? []);
    const target = targets[i] ?? 0;
    const pred = argmax(p);
    (confusion[target] as number[])[pred] = ((confusion[target] as number[])[pred] ?? 0) + 1;
    if (pred === target) right++;
    else
      mistakes.push({
        index: i,
        itemId: e.itemId,
        path: e.path,
        trueClass: classes[target] ?? '',
        predicted: classes[pred] ?? String(pred),
        p: p[pred] ?? 0,
      });
    const top = p
      .map((v, index) => ({ label: classes[index] ?? String(index), p: v }))
      .sort((a, b) => b.p - a.p)
      .slice(0, 5);
    predictions.push({ itemId: e.itemId, path: e.path, trueClass: classes[target] ?? '', top });
  });
  mistakes.sort((a, b) => b.p - a.p);
  const perClass: ClassScores[] = classes.map((className, k) => {
    const tp = confusion[k]?.[k] ?? 0;
    const support = (confusion[k] ?? []).reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (let t = 0; t < K; t++) predicted += confusion[t]?.[k] ?? 0;
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { className, precision, recall, f1, support };
  });
  return { accuracy: refs.length ? right / refs.length : 0, confusion, perClass, predictions, mistakes };
}
