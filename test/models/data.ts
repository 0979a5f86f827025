// Real data for the model tests: Fashion-MNIST (Debian dataset-fashion-mnist), the MNI ch2 T1 brain with its brain
// mask (Debian mricron-data), and the OpenCV sample videos (Debian opencv-doc). Each package is installed with apt
// when the tests run as root; otherwise the loader fails with the exact command to run.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import type { Sample } from '../../main/models/dataset.js';
import { resample } from '../../main/models/dataset.js';
import { axialSlice, rgbPlanes, volumeScale } from '../../main/models/media-input.js';
import { readNifti } from '../../main/media/nifti.js';
import { probeVideo, readFrames } from '../../main/media/video.js';
import { loadFashionMnist } from '../engine/fashion-mnist.js';

export const CH2 = '/usr/share/mricron/templates/ch2.nii.gz';
export const CH2BET = '/usr/share/mricron/templates/ch2bet.nii.gz';
export const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
export const TREE = '/usr/share/doc/opencv-doc/examples/data/tree.avi';
export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export function ensurePackage(pkg: string, file: string): void {
  if (existsSync(file)) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) throw new Error(`${file} is missing; run: sudo apt-get install -y ${pkg}`);
  try {
    execFileSync('apt-get', ['install', '-y', pkg], { stdio: 'ignore', timeout: 300_000 });
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', pkg], { stdio: 'ignore', timeout: 300_000 });
  }
  if (!existsSync(file)) throw new Error(`'apt-get install -y ${pkg}' ran but ${file} is still missing`);
}

/** Fashion-MNIST samples (1, 28, 28), normalised as the engine test does (mean 0.286, std 0.353). */
export function fashionSamples(split: 'train' | 't10k', start: number, count: number): Sample[] {
  const set = loadFashionMnist(split, start, count);
  const px = 28 * 28;
  return Array.from({ length: count }, (_, i) => ({
    input: set.images.slice(i * px, (i + 1) * px),
    channels: 1,
    size: [28, 28],
    target: set.labels[i] as number,
    targetChannels: 0,
  }));
}

export const FASHION_NORM = { mean: 0.286, std: 0.353 };

/** Axial slices of ch2 (scaled by the 99.5th percentile, then (v - 0.3) / 0.3) with the ch2bet brain mask. */
export async function brainSlices(from: number, to: number, step: number, size: number): Promise<Sample[]> {
  ensurePackage('mricron-data', CH2);
  const t1 = (await readNifti(CH2)).volume;
  const bet = (await readNifti(CH2BET)).volume;
  const scale = volumeScale(t1);
  const [nx, ny] = t1.dims;
  const out: Sample[] = [];
  for (let k = from; k < to; k += step) {
    const img = axialSlice(t1, k, scale).map((v) => (v - 0.3) / 0.3);
    const mask = axialSlice(bet, k, 1).map((v) => (v > 0 ? 1 : 0));
    out.push({
      input: resample(img, 1, [ny, nx], [size, size]),
      channels: 1,
      size: [size, size],
      target: resample(mask, 1, [ny, nx], [size, size]).map((v) => (v > 0.5 ? 1 : 0)),
      targetChannels: 1,
    });
  }
  return out;
}

/** Cubes of ch2 around brain-mask voxels and outside: (1, n, n, n) crops, target = brain mask crop or inside/outside. */
export async function brainCubes(count: number, n: number, seed: number): Promise<{ seg: Sample[]; cls: Sample[] }> {
  ensurePackage('mricron-data', CH2);
  const t1 = (await readNifti(CH2)).volume;
  const bet = (await readNifti(CH2BET)).volume;
  const scale = volumeScale(t1);
  const [nx, ny, nz] = t1.dims;
  const seg: Sample[] = [];
  const cls: Sample[] = [];
  let s = seed >>> 0;
  const rand = (m: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % m;
  };
  const stride = 2; // 2-voxel steps: a 16-cube covers 32 mm
  for (let i = 0; i < count; i++) {
    const x0 = rand(nx - n * stride),
      y0 = rand(ny - n * stride),
      z0 = rand(nz - n * stride);
    const input = new Float32Array(n * n * n);
    const target = new Float32Array(n * n * n);
    for (let z = 0; z < n; z++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          const src = ((z0 + z * stride) * ny + (y0 + y * stride)) * nx + (x0 + x * stride);
          const dst = (z * n + y) * n + x;
          input[dst] = ((t1.data[src] as number) / scale - 0.3) / 0.3;
          target[dst] = (bet.data[src] as number) > 0 ? 1 : 0;
        }
    const frac = target.reduce((a, b) => a + b, 0) / target.length;
    seg.push({ input, channels: 1, size: [n, n, n], target, targetChannels: 1 });
    cls.push({ input, channels: 1, size: [n, n, n], target: frac > 0.5 ? 1 : 0, targetChannels: 0 });
  }
  return { seg, cls };
}

/** Frame triplets of a real video at size × size: input = frames t and t + 2 (6 channels), target = frame t + 1. */
export async function videoTriplets(file: string, count: number, size: number, start = 0): Promise<Sample[]> {
  ensurePackage('opencv-doc', file);
  const info = await probeVideo(file);
  const frames: Float32Array[] = [];
  for await (const f of readFrames(file, info, { start, count: count * 3, width: size, height: size }))
    frames.push(rgbPlanes(f.data, f.width, f.height).map((v) => (v - 0.5) / 0.25));
  const out: Sample[] = [];
  for (let t = 0; t + 2 < frames.length; t += 3) {
    const a = frames[t] as Float32Array;
    const input = new Float32Array(a.length * 2);
    input.set(a, 0);
    input.set(frames[t + 2] as Float32Array, a.length);
    out.push({
      input,
      channels: 6,
      size: [size, size],
      target: (frames[t + 1] as Float32Array).slice(),
      targetChannels: 3,
    });
  }
  return out;
}
