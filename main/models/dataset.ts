// In-memory training samples, resampling to a stage resolution, augmentation and batching.
// A sample keeps its native resolution; every stage of a progressive schedule resamples it to the stage size
// (area averaging when shrinking, bilinear when enlarging), so one dataset serves 14, 28 and 56 px stages.
import { createHash } from 'node:crypto';

/** One sample: input (C, ...size) normalised floats; target a class index or a tensor (K, ...size). */
export interface Sample {
  input: Float32Array;
  channels: number;
  /** Spatial size (H, W) or (D, H, W). */
  size: number[];
  target: number | Float32Array;
  /** Channels of a tensor target. */
  targetChannels: number;
}

export interface Augment {
  /** Random horizontal flips (last axis). */
  flip?: boolean;
  /** Random translation by up to this fraction of the size, edge-padded (a crop of a padded image). */
  crop?: number;
  /** Random contrast × [1 - a, 1 + a] and brightness ± a (in normalised units). */
  intensity?: number;
}

/** Deterministic PRNG (mulberry32): the same seed gives the same data order and augmentation after a resume. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function permutation(n: number, seed: number): number[] {
  const r = rng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j] as number, p[i] as number];
  }
  return p;
}

interface Tap {
  index: number[];
  weight: number[];
}

/** 1-D resampling taps: area averaging when shrinking, bilinear (align_corners = false) when enlarging. */
function taps(from: number, to: number): Tap[] {
  const out: Tap[] = [];
  const scale = from / to;
  for (let o = 0; o < to; o++) {
    const index: number[] = [];
    const weight: number[] = [];
    if (scale > 1) {
      const a = o * scale;
      const b = (o + 1) * scale;
      for (let i = Math.floor(a); i < Math.min(from, Math.ceil(b)); i++) {
        const w = Math.min(b, i + 1) - Math.max(a, i);
        if (w > 0) {
          index.push(i);
          weight.push(w / scale);
        }
      }
    } else {
      const c = Math.min(from - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const i0 = Math.floor(c);
      const i1 = Math.min(from - 1, i0 + 1);
      const f = c - i0;
      index.push(i0, i1);
      weight.push(1 - f, f);
    }
    out.push({ index, weight });
  }
  return out;
}

/** Resamples (C, ...size) to (C, ...to), axis by axis. */
export function resample(data: Float32Array, channels: number, size: number[], to: number[]): Float32Array {
  if (size.length !== to.length) throw new Error(`cannot resample ${size.length}-D data to ${to.length}-D`);
  let cur = data;
  const shape = [...size];
  for (let axis = 0; axis < size.length; axis++) {
    const n = shape[axis] as number;
    const m = to[axis] as number;
    if (n === m) continue;
    const t = taps(n, m);
    const outer = channels * shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const next = new Float32Array(outer * m * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < m; j++) {
        const { index, weight } = t[j] as Tap;
        const dst = (o * m + j) * inner;
        for (let k = 0; k < index.length; k++) {
          const src = (o * n + (index[k] as number)) * inner;
          const w = weight[k] as number;
          for (let q = 0; q < inner; q++) next[dst + q] = (next[dst + q] as number) + w * (cur[src + q] as number);
        }
      }
    }
    cur = next;
    shape[axis] = m;
  }
  return cur === data ? data.slice() : cur;
}

/** Applies flip / translation / intensity to (C, ...size) input and (K, ...size) target in place of copies. */
function augmentPair(
  x: Float32Array,
  c: number,
  y: Float32Array | null,
  k: number,
  size: number[],
  aug: Augment,
  r: () => number,
): { x: Float32Array; y: Float32Array | null } {
  const flip = aug.flip === true && r() < 0.5;
  const crop = aug.crop ?? 0;
  const shifts = size.map((n) => (crop > 0 ? Math.round((r() * 2 - 1) * crop * n) : 0));
  const contrast = aug.intensity ? 1 + (r() * 2 - 1) * aug.intensity : 1;
  const bright = aug.intensity ? (r() * 2 - 1) * aug.intensity : 0;
  if (!flip && shifts.every((s) => s === 0) && contrast === 1 && bright === 0) return { x, y };
  const per = size.reduce((a, b) => a * b, 1);
  const last = size.length - 1;
  const map = new Int32Array(per); // destination voxel -> source voxel
  const idx = new Array<number>(size.length).fill(0);
  for (let v = 0; v < per; v++) {
    let src = 0;
    for (let a = 0; a < size.length; a++) {
      const n = size[a] as number;
      let i = (idx[a] as number) - (shifts[a] as number);
      if (a === last && flip) i = n - 1 - i;
      i = Math.min(n - 1, Math.max(0, i));
      src = src * n + i;
    }
    map[v] = src;
    for (let a = last; a >= 0; a--) {
      idx[a] = (idx[a] as number) + 1;
      if ((idx[a] as number) < (size[a] as number)) break;
      idx[a] = 0;
    }
  }
  const remap = (src: Float32Array, ch: number, gain: number, offset: number): Float32Array => {
    const out = new Float32Array(src.length);
    for (let ci = 0; ci < ch; ci++) {
      const base = ci * per;
      for (let v = 0; v < per; v++) out[base + v] = (src[base + (map[v] as number)] as number) * gain + offset;
    }
    return out;
  };
  return { x: remap(x, c, contrast, bright), y: y ? remap(y, k, 1, 0) : null };
}

export interface BatchOut {
  x: Float32Array;
  shape: number[];
  targets: Float32Array;
}

/** Resamples samples to `size` once (a stage's copy of the dataset). */
export function atSize(samples: Sample[], size: number[]): Sample[] {
  return samples.map((s) =>
    s.size.every((n, i) => n === size[i])
      ? s
      : {
          ...s,
          input: resample(s.input, s.channels, s.size, size),
          target: typeof s.target === 'number' ? s.target : resample(s.target, s.targetChannels, s.size, size),
          size,
        },
  );
}

/** Stacks samples (already at one size) into a batch, augmenting each with `r`. */
export function makeBatch(samples: Sample[], aug: Augment | null, r: () => number): BatchOut {
  const first = samples[0];
  if (!first) throw new Error('empty batch');
  const per = first.size.reduce((a, b) => a * b, 1);
  const x = new Float32Array(samples.length * first.channels * per);
  const classify = typeof first.target === 'number';
  const targets = new Float32Array(classify ? samples.length : samples.length * first.targetChannels * per);
  samples.forEach((s, b) => {
    const t = typeof s.target === 'number' ? null : s.target;
    const out = aug ? augmentPair(s.input, s.channels, t, s.targetChannels, s.size, aug, r) : { x: s.input, y: t };
    x.set(out.x, b * s.channels * per);
    if (typeof s.target === 'number') targets[b] = s.target;
    else if (out.y) targets.set(out.y, b * s.targetChannels * per);
  });
  return { x, shape: [samples.length, first.channels, ...first.size], targets };
}

/** sha256 over every sample's size, input and target: the dataset fingerprint in a model card's lineage. */
export function datasetHash(samples: Sample[]): string {
  const h = createHash('sha256');
  for (const s of samples) {
    h.update(Int32Array.from([s.channels, ...s.size]));
    h.update(s.input);
    h.update(typeof s.target === 'number' ? Float32Array.of(s.target) : s.target);
  }
  return h.digest('hex');
}

/** Input channels of a time-conditioned interpolator: frame a (3), frame b (3), their linear blend at t (3), t (1). */
export const INTERP_CHANNELS = 10;

/** Refuses a target time outside the open interval (0, 1) (t = 0 and t = 1 are the source frames themselves). */
export function checkInterpolationTime(t: number): void {
  if (!(Number.isFinite(t) && t > 0 && t < 1))
    throw new RangeError(`the interpolation time t must be in the open interval (0, 1), got ${t}`);
}

/**
 * The input of a time-conditioned interpolator for RGB frames a and b ((3, ...size) each) and target time t in (0, 1):
 * [a, b, (1 - t)·a + t·b, t] on 10 channels. Frames in pixel units ([0, 1]) give the raw input that is then normalised
 * as a whole (every channel, the t plane included); frames already normalised with `norm` give the t plane as
 * (t - mean) / std, the same result. The blend is affine-invariant, so it is the same in both spaces.
 */
export function interpolationInput(
  a: Float32Array,
  b: Float32Array,
  t: number,
  norm?: { mean: number; std: number },
): Float32Array {
  checkInterpolationTime(t);
  if (a.length !== b.length || a.length % 3 !== 0) throw new Error('interpolationInput: two RGB frames of one size');
  const n = a.length;
  const out = new Float32Array(3 * n + n / 3);
  out.set(a, 0);
  out.set(b, n);
  for (let i = 0; i < n; i++) out[2 * n + i] = (1 - t) * (a[i] as number) + t * (b[i] as number);
  out.fill(norm ? (t - norm.mean) / norm.std : t, 3 * n);
  return out;
}
