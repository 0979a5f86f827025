// Classification results of a 3-D clip classifier (card.input.dims === 3) on a project's labelled videos (one split).
// Each video label is one evaluated example: its clips are sampled as inference samples a video (infer-3d.ts: up to
// CLIPS clips of F consecutive frames, starts spread evenly, here over the label's frame range, which for a
// whole-item label is the whole video), each decoded at F × F px; the example's class probabilities are the mean of
// its clips' softmax outputs (so a whole-video label gets exactly the inference service's prediction).
// Accuracy vs resolution uses cubes: at size s a clip is s frames × s × s px fed at S4ND rate base / s; the baseline
// decodes the same s³ clip, resamples it to the base cube and feeds it at rate 1 (what a fixed-resolution model sees).
import type { ClassifyEvaluation, EvalSplit } from '../../contract/results.js';
import { AppError } from '../ipc/app-error.js';
import { probeVideo, type VideoInfo } from '../media/video.js';
import type { ProjectStore } from '../project/store.js';
import { classifyScores, splitOfItem } from './eval-classify.js';
import type { RegisteredModel } from './manager.js';
import { meanClipProbs } from './infer-3d.js';
import { argmax } from './metrics.js';
import { clipStarts } from './project-data-3d.js';
import type { Predictor } from './runner.js';
import { rateFor } from './zoo.js';

/** Clips per video label (the inference service's default). */
export const CLIPS = 4;

interface VideoExample {
  itemId: number;
  path: string;
  target: number;
  info: VideoInfo;
  from: number;
  to: number;
}

/**
 * Mean class probabilities (K) of each example's clips of `f` frames decoded at f × f (cube size f), fed at `to`³
 * (resampled when to !== f) at `rate`; also the first clip's start frame of each example.
 */
async function probsAt(
  model: Predictor,
  reg: RegisteredModel,
  examples: VideoExample[],
  f: number,
  to: number,
  rate: number,
  signal?: AbortSignal,
): Promise<{ probs: number[][]; first: number[] }> {
  const probs: number[][] = [];
  const first: number[] = [];
  for (const e of examples) {
    const starts = clipStarts(e.from, e.to, f, CLIPS);
    const clips = {
      file: e.path,
      info: e.info,
      starts,
      frames: (start: number) => Math.min(f, e.to - start + 1),
      src: [f, f, f],
      dst: [to, to, to],
    };
    probs.push(await meanClipProbs(model, reg.card, clips, { rate, signal }));
    first.push(starts[0] ?? 0);
  }
  return { probs, first };
}

export async function evaluateClipClassifier(
  model: Predictor,
  reg: RegisteredModel,
  store: ProjectStore,
  split: EvalSplit,
  sizes: number[],
  signal?: AbortSignal,
): Promise<ClassifyEvaluation> {
  const t0 = Date.now();
  const card = reg.card;
  if (card.task !== 'classify' || card.input.dims !== 3)
    throw new AppError('bad_request', `model '${card.id}' is not a 3-D clip classifier`);
  const classes = card.classes;
  const key = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]+/g, '');
  const keys = classes.map(key);
  const infos = new Map<number, VideoInfo>();
  const examples: VideoExample[] = [];
  for (const l of store.allLabels()) {
    const k = keys.indexOf(key(l.className));
    if (k < 0) continue;
    const item = store.item(l.itemId);
    if (item.kind !== 'video' || (split !== 'all' && splitOfItem(item) !== split)) continue;
    let info = infos.get(item.id);
    if (!info) {
      info = await probeVideo(item.path, signal);
      infos.set(item.id, info);
    }
    const from = Math.min(l.frameStart ?? 0, info.frames - 1);
    const to = Math.min(l.frameEnd ?? info.frames - 1, info.frames - 1);
    examples.push({ itemId: item.id, path: item.path, target: k, info, from, to });
  }
  if (examples.length === 0)
    throw new AppError(
      'bad_request',
      `no labelled videos of the model's classes (${classes.join(', ')}) in the ${split} split: a 3-D clip classifier is evaluated on video labels`,
      'params.split',
    );
  const base = card.input.size[0] ?? 16;
  const m = card.input.multiple;
  const main = await probsAt(model, reg, examples, base, base, 1, signal);
  const targets = examples.map((e) => e.target);
  const scored = classifyScores(
    classes,
    targets,
    main.probs,
    examples.map((e) => ({ itemId: e.itemId, path: e.path })),
  );
  const accuracyOf = (rows: number[][]): number =>
    rows.reduce((a, row, i) => a + (argmax(row) === targets[i] ? 1 : 0), 0) / examples.length;
  const bySize: ClassifyEvaluation['bySize'] = [];
  const wanted = [...new Set(sizes.map((s) => Math.max(m, Math.round(s / m) * m)))].sort((a, b) => a - b);
  for (const s of wanted) {
    const rate = rateFor(card.input.size, [s, s, s]);
    const direct = s === base ? main.probs : (await probsAt(model, reg, examples, s, s, rate, signal)).probs;
    const baseline = s === base ? main.probs : (await probsAt(model, reg, examples, s, base, 1, signal)).probs;
    bySize.push({ size: s, accuracy: accuracyOf(direct), baseline: accuracyOf(baseline) });
  }
  const frameOf = new Map(examples.map((e, i) => [e, main.first[i] ?? 0]));
  const frames = examples.map((e) => frameOf.get(e) ?? 0);
  return {
    model: card.id,
    split,
    classes,
    size: base,
    items: examples.length,
    accuracy: scored.accuracy,
    confusion: scored.confusion,
    perClass: scored.perClass,
    predictions: scored.predictions.map((p, i) => ({ ...p, frame: frames[i] ?? 0 })),
    mistakes: scored.mistakes.map((mk) => ({ ...mk, frame: frames[mk.index] ?? 0 })).map(({ index: _, ...mk }) => mk),
    bySize,
    media: 'video',
    seconds: (Date.now() - t0) / 1000,
  };
}
