// Interpolation results: drop every odd frame of a video (downscaled), predict it from its two neighbours and compare
// with the real frame (PSNR, SSIM; a 50/50 blend of the neighbours as the baseline); any timestep in (0, 1) by
// recursive midpoints (the interpolator predicts midpoints), rounded to the nearest 1/8; and export of an
// interpolated video at 2, 4 or 8 × the frame rate.
import type { InterpolationEvaluation } from '../../contract/results.js';
import type { Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import { encodeVideo } from '../media/video-encode.js';
import { probeVideo, readFrames } from '../media/video.js';
import { midFrame } from './infer.js';
import type { RegisteredModel } from './manager.js';
import { rgbPlanes, toRgb } from './media-input.js';
import { psnr, ssim } from './metrics.js';

/** Output size for a requested width: the video's aspect ratio, both sides even, at most the source size. */
export function scaledSize(w0: number, h0: number, width: number): { w: number; h: number } {
  const w = Math.max(8, Math.min(w0, Math.round(width / 2) * 2));
  const h = Math.max(8, Math.round((h0 * w) / w0 / 2) * 2);
  return { w, h };
}

/** The frame at timestep t in (0, 1) between a and b, by recursive midpoints down to 1/8. */
export async function frameAt(
  model: Model,
  reg: RegisteredModel,
  a: Float32Array,
  b: Float32Array,
  t: number,
  h: number,
  w: number,
  depth = 3,
): Promise<Float32Array> {
  const mid = await midFrame(model, reg.card, a, b, h, w);
  if (depth <= 1 || Math.abs(t - 0.5) < 1 / 16) return mid;
  return t < 0.5
    ? frameAt(model, reg, a, mid, 2 * t, h, w, depth - 1)
    : frameAt(model, reg, mid, b, 2 * t - 1, h, w, depth - 1);
}

const b64 = (planes: Float32Array, w: number, h: number): string => Buffer.from(toRgb(planes, w, h)).toString('base64');

export async function evaluateInterpolation(
  model: Model,
  reg: RegisteredModel,
  file: string,
  opts: { width: number; pairs: number; index: number; t: number },
): Promise<InterpolationEvaluation> {
  if (reg.card.task !== 'interpolate')
    throw new AppError('bad_request', `model '${reg.card.id}' is not an interpolator`);
  const info = await probeVideo(file);
  const { w, h } = scaledSize(info.width, info.height, opts.width);
  const count = Math.min(info.frames, 2 * opts.pairs + 1);
  if (count < 3) throw new AppError('bad_request', 'the video needs at least 3 frames');
  const frames: Float32Array[] = [];
  for await (const f of readFrames(file, info, { count, width: w, height: h })) frames.push(rgbPlanes(f.data, w, h));
  const scores: InterpolationEvaluation['frames'] = [];
  const clamp = (v: Float32Array): Float32Array => v.map((x) => Math.min(1, Math.max(0, x)));
  let selectedPred: Float32Array | null = null;
  for (let i = 1; i + 1 < frames.length; i += 2) {
    const a = frames[i - 1] as Float32Array,
      b = frames[i + 1] as Float32Array,
      real = frames[i] as Float32Array;
    const pred = clamp(await midFrame(model, reg.card, a, b, h, w));
    const blend = a.map((x, j) => (x + (b[j] as number)) / 2);
    scores.push({
      index: i,
      psnr: psnr(pred, real),
      ssim: ssim(pred, real, 3, h, w),
      blendPsnr: psnr(blend, real),
      blendSsim: ssim(blend, real, 3, h, w),
    });
    if (i === opts.index) selectedPred = pred;
  }
  const sel = scores.some((s) => s.index === opts.index) ? opts.index : 1;
  const a = frames[sel - 1] as Float32Array,
    b = frames[sel + 1] as Float32Array;
  const t = Math.round(Math.min(7 / 8, Math.max(1 / 8, opts.t)) * 8) / 8;
  const predicted = t === 0.5 && selectedPred ? selectedPred : clamp(await frameAt(model, reg, a, b, t, h, w));
  const mean = (f: (s: (typeof scores)[number]) => number): number =>
    scores.reduce((acc, s) => acc + f(s), 0) / Math.max(1, scores.length);
  return {
    model: reg.card.id,
    fps: info.fps,
    width: w,
    height: h,
    frames: scores,
    mean: {
      psnr: mean((s) => s.psnr),
      ssim: mean((s) => s.ssim),
      blendPsnr: mean((s) => s.blendPsnr),
      blendSsim: mean((s) => s.blendSsim),
    },
    selected: {
      index: sel,
      t,
      a: b64(a, w, h),
      b: b64(b, w, h),
      real: t === 0.5 ? b64(frames[sel] as Float32Array, w, h) : null,
      predicted: b64(predicted, w, h),
    },
  };
}

/** Interpolates the first `maxFrames` frames (downscaled to `width`) at factor × the frame rate into `out`. */
export async function exportInterpolatedVideo(
  model: Model,
  reg: RegisteredModel,
  file: string,
  opts: { factor: number; width: number; maxFrames: number; out: string },
): Promise<{ out: string; frames: number; fps: number }> {
  if (reg.card.task !== 'interpolate')
    throw new AppError('bad_request', `model '${reg.card.id}' is not an interpolator`);
  if (![2, 4, 8].includes(opts.factor))
    throw new AppError('bad_request', 'the factor must be 2, 4 or 8 (recursive midpoints)', 'params.factor');
  const info = await probeVideo(file);
  const { w, h } = scaledSize(info.width, info.height, opts.width);
  const count = Math.min(info.frames, opts.maxFrames);
  async function between(a: Float32Array, b: Float32Array, f: number): Promise<Float32Array[]> {
    if (f <= 1) return [];
    const mid = await midFrame(model, reg.card, a, b, h, w);
    return [...(await between(a, mid, f / 2)), mid, ...(await between(mid, b, f / 2))];
  }
  async function* frames(): AsyncGenerator<Uint8Array> {
    let prev: Float32Array | null = null;
    for await (const f of readFrames(file, info, { count, width: w, height: h })) {
      const cur = rgbPlanes(f.data, w, h);
      if (prev) for (const mid of await between(prev, cur, opts.factor)) yield toRgb(mid, w, h);
      yield f.data;
      prev = cur;
    }
  }
  const fps = info.fps * opts.factor;
  const [num, den] = info.fpsRational.split('/').map(Number);
  const rational = num && den ? `${num * opts.factor}/${den}` : String(fps);
  const written = await encodeVideo(frames(), { out: opts.out, width: w, height: h, fps: rational });
  return { out: opts.out, frames: written, fps };
}
