// Interpolation results: hold out frames of a video (downscaled) — every odd frame (t = 1/2) or two of every three
// (t = 1/3, 2/3) — predict each from the two kept frames around it at its exact time and compare with the real frame
// (PSNR, SSIM; the linear blend (1 - t)·a + t·b as the baseline); the frame at any time t in (0, 1) between a selected
// pair (one model call at exactly t); and export of a downscaled clip at any integer factor or target frame rate on
// the timeline of `retiming` (source frames on the output grid kept unchanged).
import type { InterpolationEvaluation, InterpolationStep } from '../../contract/results.js';
import type { Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import { encodeVideo } from '../media/video-encode.js';
import { probeVideo, readFrames } from '../media/video.js';
import { interpolatePair, retiming } from './infer.js';
import type { RegisteredModel } from './manager.js';
import { rgbPlanes, toRgb } from './media-input.js';
import { psnr, ssim } from './metrics.js';

/** Output size for a requested width: the video's aspect ratio, both sides even, at most the source size. */
export function scaledSize(w0: number, h0: number, width: number): { w: number; h: number } {
  const w = Math.max(8, Math.min(w0, Math.round(width / 2) * 2));
  const h = Math.max(8, Math.round((h0 * w) / w0 / 2) * 2);
  return { w, h };
}

/** Most output frames one export writes (a guard against a factor or rate that would never finish). */
export const MAX_EXPORT_FRAMES = 100_000;

const b64 = (planes: Float32Array, w: number, h: number): string => Buffer.from(toRgb(planes, w, h)).toString('base64');
const clamp = (v: Float32Array): Float32Array => v.map((x) => Math.min(1, Math.max(0, x)));

function checkInterpolator(reg: RegisteredModel): void {
  if (reg.card.task !== 'interpolate')
    throw new AppError('bad_request', `model '${reg.card.id}' is not an interpolator`);
}

export async function evaluateInterpolation(
  model: Model,
  reg: RegisteredModel,
  file: string,
  opts: { width: number; pairs: number; index: number; t: number; step?: InterpolationStep },
): Promise<InterpolationEvaluation> {
  checkInterpolator(reg);
  const step: InterpolationStep = opts.step ?? 2;
  const info = await probeVideo(file);
  const { w, h } = scaledSize(info.width, info.height, opts.width);
  const count = Math.min(info.frames, step * opts.pairs + 1);
  if (count < step + 1) throw new AppError('bad_request', `the video needs at least ${step + 1} frames`);
  const frames: Float32Array[] = [];
  for await (const f of readFrames(file, info, { count, width: w, height: h })) frames.push(rgbPlanes(f.data, w, h));
  // The selected held-out frame (falls back to frame 1) and the kept pair around it.
  const lastFrom = Math.floor((frames.length - 1) / step) * step - step;
  const held = opts.index % step !== 0 && opts.index - (opts.index % step) <= lastFrom;
  const index = held ? opts.index : 1;
  const from = index - (index % step),
    to = from + step;
  const scores: InterpolationEvaluation['frames'] = [];
  const predictions = new Map<number, Float32Array>();
  for (let k = 0; k + step < frames.length; k += step) {
    const a = frames[k] as Float32Array,
      b = frames[k + step] as Float32Array;
    for (let j = 1; j < step; j++) {
      const t = j / step;
      const real = frames[k + j] as Float32Array;
      const pred = clamp(await interpolatePair(model, reg.card, a, b, t, h, w));
      const blend = a.map((x, i) => (1 - t) * x + t * (b[i] as number));
      scores.push({
        index: k + j,
        t,
        psnr: psnr(pred, real),
        ssim: ssim(pred, real, 3, h, w),
        blendPsnr: psnr(blend, real),
        blendSsim: ssim(blend, real, 3, h, w),
      });
      if (k === from) predictions.set(k + j, pred);
    }
  }
  // The frame at exactly t (no rounding); a source frame exists there when t = j / step.
  const t = opts.t;
  const a = frames[from] as Float32Array,
    b = frames[to] as Float32Array;
  const j = Math.round(t * step);
  const realIndex = j > 0 && j < step && Math.abs(t * step - j) < 1e-9 ? from + j : null;
  const predicted =
    (realIndex !== null && j / step === t ? predictions.get(realIndex) : undefined) ??
    clamp(await interpolatePair(model, reg.card, a, b, t, h, w));
  const mean = (f: (s: (typeof scores)[number]) => number): number =>
    scores.reduce((acc, s) => acc + f(s), 0) / Math.max(1, scores.length);
  return {
    model: reg.card.id,
    fps: info.fps,
    width: w,
    height: h,
    step,
    frames: scores,
    mean: {
      psnr: mean((s) => s.psnr),
      ssim: mean((s) => s.ssim),
      blendPsnr: mean((s) => s.blendPsnr),
      blendSsim: mean((s) => s.blendSsim),
    },
    selected: {
      index,
      from,
      to,
      t,
      a: b64(a, w, h),
      b: b64(b, w, h),
      real: realIndex !== null ? b64(frames[realIndex] as Float32Array, w, h) : null,
      realIndex,
      predicted: b64(predicted, w, h),
    },
  };
}

/**
 * Interpolates the first `maxFrames` frames (downscaled to `width`) to `factor` × the frame rate (any integer ≥ 2) or
 * to `fps` (any rate > 0) into `out`. The output timeline is `retiming`'s (the one `interpolateVideo` writes for full
 * size videos): source frames on the grid are written unchanged, every other output frame is predicted at its exact
 * t between the two source frames around it. Streams: two source frames are held at a time.
 */
export async function exportInterpolatedVideo(
  model: Model,
  reg: RegisteredModel,
  file: string,
  opts: { factor?: number; fps?: number; width: number; maxFrames: number; out: string },
): Promise<{ out: string; frames: number; fps: number; kept: number }> {
  checkInterpolator(reg);
  const info = await probeVideo(file);
  const timing = retiming(info, { factor: opts.factor, fps: opts.fps });
  const { w, h } = scaledSize(info.width, info.height, opts.width);
  const count = Math.min(info.frames, opts.maxFrames);
  const total = timing.total(count);
  if (total > MAX_EXPORT_FRAMES)
    throw new AppError(
      'bad_request',
      `${count} source frames at ${timing.fps.toFixed(3)} fps make ${total} output frames; at most ${MAX_EXPORT_FRAMES} are written (lower the factor, the rate or the frames)`,
      opts.factor !== undefined ? 'params.factor' : 'params.fps',
    );
  let kept = 0;
  async function* frames(): AsyncGenerator<Uint8Array> {
    let k = 0;
    let i = 0;
    let prev: { raw: Uint8Array; planes: Float32Array } | null = null;
    for await (const f of readFrames(file, info, { count, width: w, height: h })) {
      const cur = { raw: f.data, planes: rgbPlanes(f.data, w, h) };
      // Output slots up to source frame i: source frame i - 1 itself, or a time between i - 1 and i.
      for (let slot = timing.slot(k); k < total && prev; slot = timing.slot(++k)) {
        if (slot.source === i - 1) {
          kept++;
          yield prev.raw;
        } else if (slot.from === i - 1) {
          yield toRgb(await interpolatePair(model, reg.card, prev.planes, cur.planes, slot.t, h, w), w, h);
        } else break;
      }
      prev = cur;
      i++;
    }
    if (prev && k < total && timing.slot(k).source === i - 1) {
      kept++;
      yield prev.raw;
    }
  }
  const written = await encodeVideo(frames(), { out: opts.out, width: w, height: h, fps: timing.fpsRational });
  return { out: opts.out, frames: written, fps: timing.fps, kept };
}
