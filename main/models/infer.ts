// Inference: classify images at their native size (S4ND rate = base / size), segment images and volumes (a 2-D
// model slice by slice, a 3-D model on the whole volume), and interpolate videos frame pair by frame pair while
// streaming (memory holds two source frames and one batch of tiles, whatever the video's length).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ModelCard } from '../../contract/models.js';
import type { Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import { encodePng } from '../media/image.js';
import { encodeNifti } from '../media/nifti-write.js';
import { encodeVideo } from '../media/video-encode.js';
import { probeVideo, readFrames, type VideoInfo } from '../media/video.js';
import { resample } from './dataset.js';
import { softmax } from './metrics.js';
import { axialSlice, loadImage, loadVolume, normalizeInPlace, rgbPlanes, toRgb, volumeScale } from './media-input.js';
import type { Predictor } from './runner.js';
import { rateFor } from './zoo.js';

export interface TopClass {
  index: number;
  label: string;
  p: number;
}

/** The nearest size that is a positive multiple of `m`. */
function fit(n: number, m: number): number {
  return Math.max(m, Math.round(n / m) * m);
}

/**
 * Classifies one image. Default: its native size (rounded to the architecture's multiple); `size` resamples it to
 * size × size first. The S4ND rate is base / size.
 */
export async function classifyImage(
  model: Predictor,
  card: ModelCard,
  file: string,
  opts: { size?: number; top?: number; signal?: AbortSignal } = {},
): Promise<TopClass[]> {
  const img = await loadImage(file, card.input.channels);
  const m = card.input.multiple;
  // Imported ONNX models run at their declared size (their mapping), whatever the image's.
  const to = card.onnx?.io
    ? [...card.input.size]
    : opts.size
      ? [fit(opts.size, m), fit(opts.size, m)]
      : [fit(img.height, m), fit(img.width, m)];
  const x = normalizeInPlace(resample(img.data, img.channels, [img.height, img.width], to), card.input.normalize);
  const out = await model.predict(x, [1, card.input.channels, ...to], {
    rate: rateFor(card.input.size, to),
    signal: opts.signal,
  });
  const p = softmax(out.data);
  return p
    .map((v, index) => ({ index, label: card.classes[index] ?? String(index), p: Math.round(v * 1e4) / 1e4 }))
    .sort((a, b) => b.p - a.p)
    .slice(0, opts.top ?? 5);
}

/** Class-index mask from per-class logits (K, ...): 0 background, k + 1 where class k's sigmoid is the largest > 0.5. */
function maskOf(logits: Float32Array, k: number, per: number): Uint8Array {
  const out = new Uint8Array(per);
  for (let p = 0; p < per; p++) {
    let best = -1,
      bestV = 0;
    for (let c = 0; c < k; c++) {
      const v = logits[c * per + p] as number;
      if (v > bestV) {
        bestV = v;
        best = c;
      }
    }
    out[p] = best + 1;
  }
  return out;
}

/** Segments (C, H, W) planes: resampled to a multiple of the architecture's stride, logits resampled back. */
async function segmentPlanes(
  model: Predictor,
  card: ModelCard,
  planes: Float32Array[],
  h: number,
  w: number,
  signal?: AbortSignal,
): Promise<Uint8Array[]> {
  const m = card.input.multiple;
  const to = card.onnx?.io ? [...card.input.size] : [fit(h, m), fit(w, m)];
  const c = card.input.channels;
  const k = Math.max(1, card.classes.length);
  const masks: Uint8Array[] = [];
  const B = 8;
  for (let off = 0; off < planes.length; off += B) {
    const part = planes.slice(off, off + B);
    const per = (to[0] as number) * (to[1] as number);
    const x = new Float32Array(part.length * c * per);
    part.forEach((pl, i) => x.set(normalizeInPlace(resample(pl, c, [h, w], to), card.input.normalize), i * c * per));
    const out = await model.predict(x, [part.length, c, ...to], { rate: rateFor(card.input.size, to), signal });
    for (let i = 0; i < part.length; i++) {
      const logits = resample(out.data.subarray(i * k * per, (i + 1) * k * per), k, to, [h, w]);
      masks.push(maskOf(logits, k, h * w));
    }
  }
  return masks;
}

export interface SegmentResult {
  /** PNG (2-D) or NIfTI (volume) bytes of the class-index mask. */
  bytes: Buffer;
  kind: 'png' | 'nifti';
  width: number;
  height: number;
  slices: number;
  /** Fraction of voxels labelled foreground. */
  foreground: number;
}

const isVolumePath = (file: string, isDir: boolean): boolean => isDir || /\.(nii|nii\.gz|dcm)$/i.test(file);

export async function segmentFile(
  model: Predictor,
  card: ModelCard,
  file: string,
  opts: { isDir: boolean; gzip?: boolean; signal?: AbortSignal },
): Promise<SegmentResult> {
  if (!isVolumePath(file, opts.isDir)) {
    const img = await loadImage(file, card.input.channels);
    const [mask] = await segmentPlanes(model, card, [img.data], img.height, img.width, opts.signal);
    const data = mask as Uint8Array;
    // Class indices scaled for viewing would lose them; the PNG holds the indices (0 background, 1..K).
    const bytes = await encodePng({ width: img.width, height: img.height, channels: 1, bitDepth: 8, data });
    return { bytes, kind: 'png', width: img.width, height: img.height, slices: 1, foreground: frac(data) };
  }
  const { volume, nifti } = await loadVolume(file);
  const [nx, ny, nz] = volume.dims;
  const scale = volumeScale(volume);
  const out = new Uint8Array(nx * ny * nz);
  if (card.input.dims === 3) {
    const m = card.input.multiple;
    const to = [fit(nz, m), fit(ny, m), fit(nx, m)];
    const x = new Float32Array(nx * ny * nz);
    for (let i = 0; i < x.length; i++) x[i] = (volume.data[i * volume.channels] as number) / scale;
    const xr = normalizeInPlace(resample(x, 1, [nz, ny, nx], to), card.input.normalize);
    const pred = await model.predict(xr, [1, 1, ...to], { rate: rateFor(card.input.size, to), signal: opts.signal });
    const k = Math.max(1, card.classes.length);
    out.set(maskOf(resample(pred.data, k, to, [nz, ny, nx]), k, nx * ny * nz));
  } else {
    const planes = Array.from({ length: nz }, (_, z) => axialSlice(volume, z, scale));
    const masks = await segmentPlanes(model, card, planes, ny, nx, opts.signal);
    masks.forEach((mk, z) => out.set(mk, z * nx * ny));
  }
  const bytes = encodeNifti(
    { dims: volume.dims, spacing: volume.spacing, affine: volume.affine, data: out, geometry: nifti?.geometry },
    opts.gzip ?? true,
  );
  return { bytes, kind: 'nifti', width: nx, height: ny, slices: nz, foreground: frac(out) };
}

function frac(m: Uint8Array): number {
  let n = 0;
  for (const v of m) if (v > 0) n++;
  return n / Math.max(1, m.length);
}

export interface InterpolateOptions {
  /** Output frames per input frame interval: 2, 4 or 8 (recursive midpoints). */
  factor: number;
  /** .mp4 / .webm file, or a folder pattern with %05d (PNG frames). */
  out: string;
  signal?: AbortSignal;
  onFrame?(done: number, total: number): void;
}

/** Tiles of the model's base size covering (H, W) (the last row/column aligned to the border). */
function tileOrigins(n: number, t: number): number[] {
  if (n <= t) return [0];
  const out: number[] = [];
  for (let o = 0; o + t < n; o += t) out.push(o);
  out.push(n - t);
  return out;
}

/**
 * The middle frame between a and b ((3, H, W) in [0, 1]). The frame is cut into tiles of the training size and run at
 * rate 1: motion is measured in pixels, so the interpolator sees the pixel scale it was trained at.
 */
export async function midFrame(
  model: Model,
  card: ModelCard,
  a: Float32Array,
  b: Float32Array,
  h: number,
  w: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const t = card.input.size[0] ?? 64;
  const th = Math.min(t, h),
    tw = Math.min(t, w);
  const ys = tileOrigins(h, th),
    xs = tileOrigins(w, tw);
  const per = th * tw;
  const n = ys.length * xs.length;
  const x = new Float32Array(n * 6 * per);
  const { mean, std } = card.input.normalize;
  let i = 0;
  for (const y0 of ys)
    for (const x0 of xs) {
      for (let c = 0; c < 6; c++) {
        const src = c < 3 ? a : b;
        const sc = c % 3;
        for (let y = 0; y < th; y++)
          for (let xx = 0; xx < tw; xx++)
            x[((i * 6 + c) * th + y) * tw + xx] = ((src[(sc * h + y0 + y) * w + x0 + xx] as number) - mean) / std;
      }
      i++;
    }
  const rate = th === t && tw === t ? 1 : rateFor(card.input.size, [th, tw]);
  const pred = await model.predict(x, [n, 6, th, tw], { rate, signal });
  const out = new Float32Array(3 * h * w);
  i = 0;
  for (const y0 of ys)
    for (const x0 of xs) {
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < th; y++)
          for (let xx = 0; xx < tw; xx++)
            out[(c * h + y0 + y) * w + x0 + xx] = (pred.data[((i * 3 + c) * th + y) * tw + xx] as number) * std + mean;
      i++;
    }
  return out;
}

/** Frames between a and b (exclusive) for a power-of-two factor, by recursive midpoints, in display order. */
async function between(
  model: Model,
  card: ModelCard,
  a: Float32Array,
  b: Float32Array,
  factor: number,
  h: number,
  w: number,
  signal?: AbortSignal,
): Promise<Float32Array[]> {
  if (factor <= 1) return [];
  const mid = await midFrame(model, card, a, b, h, w, signal);
  const left = await between(model, card, a, mid, factor / 2, h, w, signal);
  const right = await between(model, card, mid, b, factor / 2, h, w, signal);
  return [...left, mid, ...right];
}

export function factorFor(info: VideoInfo, opts: { factor?: number; fps?: number }): number {
  const k = opts.factor ?? (opts.fps ? opts.fps / info.fps : NaN);
  const r = Math.round(k);
  if (!(Math.abs(k - r) < 1e-3 && [2, 4, 8].includes(r))) {
    throw new AppError(
      'bad_request',
      `the interpolator makes 2, 4 or 8 frames per source frame (recursive midpoints); ${opts.factor !== undefined ? `--factor ${opts.factor}` : `--fps ${opts.fps} on a ${info.fps.toFixed(3)} fps video (×${k.toFixed(3)})`} is not one of them`,
      'params.factor',
    );
  }
  return r;
}

/** Interpolates a video to factor × its frame rate, streaming. Returns frames written. */
export async function interpolateVideo(
  model: Model,
  card: ModelCard,
  file: string,
  opts: InterpolateOptions,
): Promise<{ frames: number; fps: number; width: number; height: number }> {
  const info = await probeVideo(file, opts.signal);
  const { width: w, height: h } = info;
  const total = (info.frames - 1) * opts.factor + 1;
  async function* frames(): AsyncGenerator<Uint8Array> {
    let prev: Float32Array | null = null;
    let done = 0;
    for await (const f of readFrames(file, info, { signal: opts.signal })) {
      const cur = rgbPlanes(f.data, f.width, f.height);
      if (prev) {
        for (const mid of await between(model, card, prev, cur, opts.factor, h, w, opts.signal)) {
          yield toRgb(mid, w, h);
          opts.onFrame?.(++done, total);
        }
      }
      yield f.data;
      opts.onFrame?.(++done, total);
      prev = cur;
    }
  }
  const fpsNum = info.fps * opts.factor;
  let written = 0;
  if (opts.out.includes('%')) {
    const dir = path.dirname(opts.out);
    await mkdir(dir, { recursive: true });
    for await (const rgb of frames()) {
      const name = path
        .basename(opts.out)
        .replace(/%0?(\d*)d/, (_, d: string) => String(written).padStart(Number(d || 0), '0'));
      await writeFile(
        path.join(dir, name),
        await encodePng({ width: w, height: h, channels: 3, bitDepth: 8, data: rgb }),
      );
      written++;
    }
  } else {
    const [num, den] = info.fpsRational.split('/').map(Number);
    const fps = num && den ? `${num * opts.factor}/${den}` : String(fpsNum);
    written = await encodeVideo(frames(), { out: opts.out, width: w, height: h, fps, signal: opts.signal });
  }
  return { frames: written, fps: fpsNum, width: w, height: h };
}
