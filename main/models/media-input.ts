// Media -> model input: images to normalised (C, H, W) floats, volumes (NIfTI, DICOM series folder or file) to
// (Z, Y, X) floats scaled by their 99.5th percentile, video frames to (3, H, W).
import { stat } from 'node:fs/promises';

import type { Normalization } from '../../contract/models.js';
import { assembleSeries, readDicomHeader, readDicomVolume } from '../media/dicom.js';
import { decodeImage } from '../media/image.js';
import { readNifti, type NiftiHeader } from '../media/nifti.js';
import { probeDicomFolder } from '../media/probe.js';
import type { Volume } from '../media/volume.js';
import { AppError } from '../ipc/app-error.js';

export interface ImageInput {
  /** (C, H, W) in [0, 1] before normalisation. */
  data: Float32Array;
  channels: number;
  width: number;
  height: number;
}

/** Decodes an image to `channels` planes in [0, 1] (grey averaged from RGB, or replicated to RGB; alpha dropped). */
export async function loadImage(file: string, channels: number): Promise<ImageInput> {
  const img = await decodeImage(file);
  const { width, height } = img;
  const per = width * height;
  const scale = img.bitDepth === 16 ? 65535 : 255;
  const src = img.channels >= 3 ? 3 : 1; // colour planes in the source (alpha ignored)
  const out = new Float32Array(channels * per);
  for (let p = 0; p < per; p++) {
    const at = p * img.channels;
    if (channels === 1) {
      let s = 0;
      for (let k = 0; k < src; k++) s += img.data[at + k] as number;
      out[p] = s / src / scale;
    } else {
      for (let c = 0; c < channels; c++) out[c * per + p] = (img.data[at + Math.min(c, src - 1)] as number) / scale;
    }
  }
  return { data: out, channels, width, height };
}

/** (H, W, 3) uint8 RGB -> (3, H, W) in [0, 1]. */
export function rgbPlanes(rgb: Uint8Array, width: number, height: number): Float32Array {
  const per = width * height;
  const out = new Float32Array(3 * per);
  for (let p = 0; p < per; p++) for (let c = 0; c < 3; c++) out[c * per + p] = (rgb[p * 3 + c] as number) / 255;
  return out;
}

/** (3, H, W) in [0, 1] -> (H, W, 3) uint8 RGB, clamped. */
export function toRgb(planes: Float32Array, width: number, height: number): Uint8Array {
  const per = width * height;
  const out = new Uint8Array(3 * per);
  for (let p = 0; p < per; p++)
    for (let c = 0; c < 3; c++)
      out[p * 3 + c] = Math.round(Math.min(1, Math.max(0, planes[c * per + p] as number)) * 255);
  return out;
}

export function normalizeInPlace(x: Float32Array, n: Normalization): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = ((x[i] as number) - n.mean) / n.std;
  return x;
}

export interface LoadedVolume {
  volume: Volume;
  /** The NIfTI header when the source was NIfTI (its geometry is reused for the output mask). */
  nifti: NiftiHeader | null;
}

/** Reads a NIfTI file, a DICOM series folder or a DICOM file as one grey volume. */
export async function loadVolume(file: string): Promise<LoadedVolume> {
  const st = await stat(file).catch(() => null);
  if (!st) throw new AppError('not_found', `no such file or folder: ${file}`);
  if (st.isDirectory()) {
    const { series } = await probeDicomFolder(file);
    const first = series[0];
    if (!first) throw new AppError('unsupported', `folder holds no DICOM series: ${file}`);
    return { volume: await readDicomVolume(first), nifti: null };
  }
  if (/\.nii(\.gz)?$/i.test(file)) {
    const { header, volume } = await readNifti(file);
    return { volume, nifti: header };
  }
  const series = assembleSeries([await readDicomHeader(file)]);
  const first = series[0];
  if (!first) throw new AppError('unsupported', `not a DICOM volume: ${file}`);
  return { volume: await readDicomVolume(first), nifti: null };
}

/** Scale of a volume: its 99.5th percentile of positive values (robust to bright outliers). */
export function volumeScale(v: Volume): number {
  const step = Math.max(1, Math.floor(v.data.length / 200_000));
  const vals: number[] = [];
  for (let i = 0; i < v.data.length; i += step) {
    const x = v.data[i] as number;
    if (x > 0) vals.push(x);
  }
  vals.sort((a, b) => a - b);
  return vals[Math.floor(vals.length * 0.995)] ?? 1;
}

/** XY slice k of a grey volume as (1, Y, X) scaled by `scale`. */
export function axialSlice(v: Volume, k: number, scale: number): Float32Array {
  const [nx, ny] = v.dims;
  const per = nx * ny;
  const out = new Float32Array(per);
  const c = v.channels;
  for (let p = 0; p < per; p++) out[p] = (v.data[(k * per + p) * c] as number) / scale;
  return out;
}
