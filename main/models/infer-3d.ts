// Inference with 3-D models: classify a video with a 3-D classifier (card.input.dims === 3), and the dispatch the infer
// service and the CLI use to pick the 2-D or 3-D path from the model card (never from the architecture's name).
//
// A video is classified from up to `clips` clips (default 4) spread evenly over the whole video, each of F
// consecutive frames decoded by ffmpeg at F × F px (F = the model's base size, or `size` for a cube of that size
// with S4ND rate = base / size), the same sampling as training (project-data-3d.ts); the class probabilities are the
// mean of the clips' softmax outputs. (A 3-D segmenter on a volume runs in segmentFile (infer.ts): one pass on the
// native grid, rate from rateFor.)
import type { ModelCard, ModelTask } from '../../contract/models.js';
import type { MediaKind } from '../../contract/media.js';
import { AppError } from '../ipc/app-error.js';
import { probeVideo, type VideoInfo } from '../media/video.js';
import { resample } from './dataset.js';
import { classifyImage, type TopClass } from './infer.js';
import { normalizeInPlace } from './media-input.js';
import { softmax } from './metrics.js';
import { clipStarts, decodeClipTensor } from './project-data-3d.js';
import type { Predictor } from './runner.js';
import { rateFor } from './zoo.js';

const VIDEO_EXT = /\.(mp4|m4v|mov|mkv|webm|avi|mpe?g|ogv|wmv|flv)$/i;

export interface ClassifyClipOptions {
  /** Cube size (frames = height = width); default the model's base size. */
  size?: number;
  top?: number;
  /** Clips averaged over (default 4). */
  clips?: number;
  signal?: AbortSignal;
}

/** Classifies a video with a 3-D classifier: mean class probabilities over clips spread over the video. */
export async function classifyVideo(
  model: Predictor,
  card: ModelCard,
  file: string,
  opts: ClassifyClipOptions = {},
): Promise<TopClass[]> {
  if (card.input.dims !== 3) throw new AppError('bad_request', `model '${card.id}' is not a 3-D (clip) classifier`);
  const m = card.input.multiple;
  const size = opts.size
    ? Array.from({ length: 3 }, () => Math.max(m, Math.round((opts.size as number) / m) * m))
    : [...card.input.size];
  const [F] = size as [number];
  const info = await probeVideo(file, opts.signal);
  const starts = clipStarts(0, info.frames - 1, F, opts.clips ?? 4);
  const mean = await meanClipProbs(
    model,
    card,
    { file, info, starts, frames: () => F, src: size, dst: size },
    {
      rate: rateFor(card.input.size, size),
      signal: opts.signal,
    },
  );
  return mean
    .map((v, index) => ({ index, label: card.classes[index] ?? String(index), p: Math.round(v * 1e4) / 1e4 }))
    .sort((a, b) => b.p - a.p)
    .slice(0, opts.top ?? 5);
}

/** Clips of one video: their start frames, how many frames each decodes, decoded at `src` and fed at `dst`. */
export interface ClipSet {
  file: string;
  info: VideoInfo;
  starts: number[];
  frames: (start: number) => number;
  /** (F, H, W) decoded / fed; the clip is resampled when they differ. */
  src: number[];
  dst: number[];
}

/**
 * [async] Mean class probabilities (K) of a 3-D classifier over a video's clips: each decoded (C, src), resampled to
 * `dst` if needed, normalised with the card's statistics, all fed as one batch (clips, C, dst) at `rate`.
 */
export async function meanClipProbs(
  model: Predictor,
  card: Pick<ModelCard, 'input' | 'classes'>,
  clips: ClipSet,
  opts: { rate: number; signal?: AbortSignal | undefined },
): Promise<number[]> {
  const C = card.input.channels;
  const K = Math.max(1, card.classes.length);
  const per = C * clips.dst.reduce((a, b) => a * b, 1);
  const same = clips.src.every((v, i) => v === clips.dst[i]);
  const x = new Float32Array(clips.starts.length * per); // (clips, C, F, H, W)
  for (const [i, start] of clips.starts.entries()) {
    const clip = await decodeClipTensor(clips.file, clips.info, start, clips.frames(start), C, clips.src, opts.signal);
    const fed = same ? clip : resample(clip, C, clips.src, clips.dst);
    x.set(normalizeInPlace(fed, card.input.normalize), i * per);
  }
  const out = await model.predict(x, [clips.starts.length, C, ...clips.dst], opts); // (clips, K)
  const mean = new Array<number>(K).fill(0);
  for (let i = 0; i < clips.starts.length; i++) {
    const p = softmax(out.data.subarray(i * K, (i + 1) * K));
    for (let c = 0; c < K; c++) mean[c] = (mean[c] as number) + (p[c] as number) / clips.starts.length;
  }
  return mean;
}

/**
 * Classifies an image (2-D model) or a video (3-D model); a mismatch is a clear error. `kind` (a project item's) says
 * whether the file is a video; without it the file extension does.
 */
export async function classifyMedia(
  model: Predictor,
  card: ModelCard,
  file: string,
  opts: ClassifyClipOptions & { kind?: MediaKind } = {},
): Promise<TopClass[]> {
  const video = opts.kind ? opts.kind === 'video' : VIDEO_EXT.test(file);
  if (card.input.dims === 3) {
    if (!video)
      throw new AppError(
        'bad_request',
        `model '${card.id}' is a 3-D clip classifier: give it a video (${file} is not one)`,
        'params.model',
      );
    return classifyVideo(model, card, file, opts);
  }
  if (video)
    throw new AppError(
      'bad_request',
      `model '${card.id}' classifies images; ${file} is a video: use a 3-D clip classifier (e.g. s4nd-classifier3d)`,
      'params.model',
    );
  return classifyImage(model, card, file, opts);
}

/** Which project items a model runs on by default: 2-D classify images, 3-D classify videos, 3-D segment volumes. */
export function runsOn(card: Pick<ModelCard, 'input'>, task: ModelTask, kind: MediaKind): boolean {
  if (task === 'classify') return kind === (card.input.dims === 3 ? 'video' : 'image');
  if (card.input.dims === 3) return kind === 'nifti' || kind === 'dicom';
  return kind !== 'video';
}
