// Inference: classify images at their native size (S4ND rate = base / size), segment images and volumes (a 2-D
// model slice by slice, a 3-D model on the whole volume), and interpolate videos to any integer factor or frame rate
// while streaming (memory holds two source frames and one batch of tiles, whatever the video's length): every output
// timestamp is mapped to its two neighbouring source frames and a time t in (0, 1) that the interpolator is
// conditioned on; source frames whose timestamps lie on the output grid are copied unchanged.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { ModelCard } from '../../contract/models.js';
import type { Model } from '../engine/model.js';
import { AppError } from '../ipc/app-error.js';
import { encodePng } from '../media/image.js';
import { encodeNifti } from '../media/nifti-write.js';
import { encodeVideo } from '../media/video-encode.js';
import { probeVideo, readFrames, type VideoInfo } from '../media/video.js';
import { checkInterpolationTime, INTERP_CHANNELS, resample } from './dataset.js';
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
    if (card.input.dims === 3)
      throw new AppError('bad_request', `model '${card.id}' is a 3-D segmenter: give it a volume (NIfTI / DICOM)`);
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
  /** Output frames per source frame interval (any integer ≥ 2); or give `fps`. */
  factor?: number;
  /** Output frame rate (any value > 0); or give `factor`. */
  fps?: number;
  /** .mp4 / .webm file, or a folder pattern with %05d (PNG frames, lossless). */
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

function badTime(t: number): AppError {
  return new AppError(
    'bad_request',
    `the interpolation time t must be strictly between 0 and 1 (0 and 1 are the two source frames), got ${t}`,
    'params.t',
  );
}

/**
 * The frame at time t in (0, 1) between a (t = 0) and b (t = 1), both (3, H, W) in [0, 1]. A time-conditioned model
 * (10 input channels) takes [a, b, (1 - t)·a + t·b, t]; a legacy midpoint-only model (6 channels) answers t = 0.5
 * only. The frame is cut into tiles of the training size and run at rate 1: motion is measured in pixels, so the
 * interpolator sees the pixel scale it was trained at.
 */
export async function interpolatePair(
  model: Model,
  card: ModelCard,
  a: Float32Array,
  b: Float32Array,
  t: number,
  h: number,
  w: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  try {
    checkInterpolationTime(t);
  } catch {
    throw badTime(t);
  }
  const C = card.input.channels;
  if (C !== INTERP_CHANNELS && !(C === 6 && t === 0.5)) {
    throw new AppError(
      'bad_request',
      C === 6
        ? `model '${card.id}' is a midpoint-only interpolator (6 input channels) and cannot predict t = ${t}; retrain it as a time-conditioned interpolator`
        : `model '${card.id}' takes ${C} input channels; an interpolator takes ${INTERP_CHANNELS} (frames a, b, their blend at t, t)`,
      'params.model',
    );
  }
  const ts = card.input.size[0] ?? 64;
  const th = Math.min(ts, h),
    tw = Math.min(ts, w);
  const ys = tileOrigins(h, th),
    xs = tileOrigins(w, tw);
  const per = th * tw;
  const n = ys.length * xs.length;
  const x = new Float32Array(n * C * per);
  const { mean, std } = card.input.normalize;
  let i = 0;
  for (const y0 of ys)
    for (const x0 of xs) {
      for (let c = 0; c < 9 && c < C; c++) {
        const sc = c % 3;
        const wa = c < 3 ? 1 : c < 6 ? 0 : 1 - t;
        const wb = c < 3 ? 0 : c < 6 ? 1 : t;
        for (let y = 0; y < th; y++)
          for (let xx = 0; xx < tw; xx++) {
            const s = (sc * h + y0 + y) * w + x0 + xx;
            const v = wa * (a[s] as number) + wb * (b[s] as number);
            x[((i * C + c) * th + y) * tw + xx] = (v - mean) / std;
          }
      }
      if (C === INTERP_CHANNELS) x.fill((t - mean) / std, (i * C + 9) * per, (i * C + 10) * per);
      i++;
    }
  const rate = th === ts && tw === ts ? 1 : rateFor(card.input.size, [th, tw]);
  const pred = await model.predict(x, [n, C, th, tw], { rate, signal });
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

/** The middle frame between a and b (interpolatePair at t = 0.5). */
export function midFrame(
  model: Model,
  card: ModelCard,
  a: Float32Array,
  b: Float32Array,
  h: number,
  w: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  return interpolatePair(model, card, a, b, 0.5, h, w, signal);
}

/** Where an output frame lies on the source timeline: a source frame copied as is, or a pair and a time t. */
export type OutputSlot = { index: number; seconds: number } & (
  { source: number; from?: undefined; t?: undefined } | { source?: undefined; from: number; t: number }
);

export interface Retiming {
  /** Output frames per source interval when given as --factor; null for --fps. */
  factor: number | null;
  fps: number;
  /** Output rate as a rational for the encoder. */
  fpsRational: string;
  /** Output frames for a video of `frames` source frames (the output spans the first to the last source frame). */
  total(frames: number): number;
  /** Output frame k on the source timeline (timestamps relative to the first frame). */
  slot(k: number): OutputSlot;
}

function parseRational(r: string, fallback: number): [number, number] {
  const [num, den] = r.split('/').map(Number);
  return num && den && Number.isFinite(num) && Number.isFinite(den) ? [num, den] : [fallback, 1];
}

/** A short rational for a frame rate (integers exact; NTSC-style rates as n/1001; else three decimals). */
function rateRational(f: number): string {
  if (Number.isInteger(f)) return `${f}/1`;
  const ntsc = (f * 1001) / 1000;
  if (Math.abs(ntsc - Math.round(ntsc)) < 1e-6) return `${Math.round(ntsc) * 1000}/1001`;
  return `${Math.round(f * 1000)}/1000`;
}

/**
 * The output timeline for `--factor K` (any integer ≥ 2: K - 1 new frames per source interval) or `--fps F` (any
 * rate > 0): output frame k sits at k / F seconds, i.e. at source position p = k · fps_src / F; an integer p copies
 * source frame p exactly, otherwise the frame is interpolated between floor(p) and floor(p) + 1 at t = p - floor(p).
 */
export function retiming(
  info: Pick<VideoInfo, 'fps' | 'fpsRational'>,
  opts: { factor?: number; fps?: number },
): Retiming {
  const [num, den] = parseRational(info.fpsRational, info.fps);
  const srcFps = num / den;
  if ((opts.factor === undefined) === (opts.fps === undefined))
    throw new AppError('bad_request', 'give exactly one of factor or fps', 'params.factor');
  let factor: number | null = null;
  let fps: number;
  let fpsRational: string;
  // Source position of output k as an exact ratio k * pNum / pDen where possible.
  let pos: (k: number) => number;
  if (opts.factor !== undefined) {
    const K = opts.factor;
    if (!(Number.isInteger(K) && K >= 2))
      throw new AppError('bad_request', `the factor must be an integer ≥ 2, got ${K}`, 'params.factor');
    factor = K;
    fps = srcFps * K;
    fpsRational = `${num * K}/${den}`;
    pos = (k) => k / K;
  } else {
    const F = opts.fps as number;
    if (!(Number.isFinite(F) && F > 0))
      throw new AppError('bad_request', `the output frame rate must be a number > 0, got ${F}`, 'params.fps');
    fps = F;
    fpsRational = rateRational(F);
    pos = (k) => (k * num) / (den * F);
  }
  const slot = (k: number): OutputSlot => {
    const p = pos(k);
    const r = Math.round(p);
    const seconds = k / fps;
    if (Math.abs(p - r) <= 1e-9 * Math.max(1, p)) return { index: k, seconds, source: r };
    const from = Math.floor(p);
    return { index: k, seconds, from, t: p - from };
  };
  const total = (frames: number): number => {
    if (frames <= 1) return Math.max(0, frames);
    const last = frames - 1;
    // The largest k with pos(k) <= last (with a tolerance so that exact grid points count).
    let k = Math.floor((last * fps) / srcFps + 1e-9);
    while (pos(k + 1) <= last + 1e-9) k++;
    while (k > 0 && pos(k) > last + 1e-9) k--;
    return k + 1;
  };
  return { factor, fps, fpsRational, total, slot };
}

/**
 * Interpolates a video to factor × its frame rate or to `fps`, streaming: two decoded source frames and the raw bytes
 * of the previous one are held at a time. Source frames on the output grid are written unchanged (so a PNG sequence
 * holds them bit-exact). Returns the frames written and the output rate.
 */
export async function interpolateVideo(
  model: Model,
  card: ModelCard,
  file: string,
  opts: InterpolateOptions,
): Promise<{ frames: number; fps: number; fpsRational: string; width: number; height: number; kept: number }> {
  const info = await probeVideo(file, opts.signal);
  const timing = retiming(info, { factor: opts.factor, fps: opts.fps });
  const { width: w, height: h } = info;
  const total = timing.total(info.frames);
  let kept = 0;
  async function* frames(): AsyncGenerator<Uint8Array> {
    let prevRaw: Uint8Array | null = null;
    let prev: Float32Array | null = null;
    let i = -1;
    let k = 0;
    let done = 0;
    let slot = timing.slot(0);
    const emitted = (): void => {
      opts.onFrame?.(++done, total);
      slot = timing.slot(++k);
    };
    for await (const f of readFrames(file, info, { signal: opts.signal })) {
      i++;
      const cur = rgbPlanes(f.data, f.width, f.height);
      // Every output slot before source frame i: prev itself (i - 1) or between i - 1 and i.
      while (prev && prevRaw) {
        if (slot.source !== undefined && slot.source === i - 1) {
          kept++;
          yield prevRaw;
        } else if (slot.from !== undefined && slot.from === i - 1) {
          yield toRgb(await interpolatePair(model, card, prev, cur, slot.t, h, w, opts.signal), w, h);
        } else break;
        emitted();
      }
      prev = cur;
      prevRaw = f.data;
    }
    if (prevRaw && slot.source === i) {
      kept++;
      yield prevRaw;
      emitted();
    }
  }
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
    written = await encodeVideo(frames(), {
      out: opts.out,
      width: w,
      height: h,
      fps: timing.fpsRational,
      signal: opts.signal,
    });
  }
  return { frames: written, fps: timing.fps, fpsRational: timing.fpsRational, width: w, height: h, kept };
}
