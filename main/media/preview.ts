// Pictures for display: a video frame or image page scaled to fit, and a windowed volume slice, as PNG.
// Volumes are cached (the two most recent), so browsing slice by slice does not re-read the file each time.
import { stat } from 'node:fs/promises';

import sharp from 'sharp';

import type { MediaPicture, VoxelValue, WindowPreset } from '../../contract/media.js';
import { AppError } from '../ipc/app-error.js';
import { assembleSeries, readDicomHeader, readDicomVolume } from './dicom.js';
import { decodeImage, encodePng } from './image.js';
import { readNifti } from './nifti.js';
import { detect, probeDicomFolder } from './probe.js';
import { decodeFrame, probeVideo } from './video.js';
import { slice, windowed, type Axis, type Volume } from './volume.js';

const IMAGE_FORMATS = new Set(['png', 'jpeg', 'webp', 'tiff', 'bmp', 'gif']);

async function fit(
  raw: Buffer,
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  maxSize: number,
): Promise<MediaPicture> {
  const { data, info } = await sharp(raw, { raw: { width, height, channels } })
    .resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true })
    .png()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, pngBase64: data.toString('base64') };
}

/** A video frame or an image page (TIFF page, GIF frame), fitted into maxSize × maxSize. */
export async function framePicture(file: string, frame: number, maxSize: number): Promise<MediaPicture> {
  const format = await detect(file);
  if (IMAGE_FORMATS.has(format)) {
    const img = await decodeImage(file, frame);
    // 16-bit samples are shown scaled to 8 bits (display only).
    const data = img.bitDepth === 16 ? Uint8Array.from(img.data, (v) => v >> 8) : img.data;
    const channels = img.channels as 1 | 2 | 3 | 4;
    return fit(Buffer.from(data.buffer, data.byteOffset, data.byteLength), img.width, img.height, channels, maxSize);
  }
  const info = await probeVideo(file);
  const f = await decodeFrame(file, info, { frame });
  return fit(Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength), f.width, f.height, 3, maxSize);
}

interface CachedVolume {
  key: string;
  volume: Volume;
  presets: WindowPreset[];
  /** Unit of the values: 'HU' for a rescaled CT series, else null. */
  unit: string | null;
}
const cache: CachedVolume[] = [];
const CACHE_SIZE = 2;

async function loadVolume(p: string): Promise<CachedVolume> {
  const st = await stat(p).catch(() => null);
  if (!st) throw new AppError('not_found', `no such file or folder: ${p}`);
  const key = `${p}\0${st.mtimeMs}\0${st.size}`;
  const hit = cache.find((c) => c.key === key);
  if (hit) return hit;
  let loaded: CachedVolume;
  if (st.isDirectory()) {
    const { series } = await probeDicomFolder(p);
    if (series.length !== 1)
      throw new AppError('unsupported', `folder holds ${series.length} DICOM series; point at one series folder`);
    const s = series[0] as (typeof series)[number];
    loaded = {
      key,
      volume: await readDicomVolume(s),
      presets: s.headers[0]?.windows ?? [],
      unit: s.headers[0]?.modality === 'CT' ? 'HU' : null,
    };
  } else {
    const format = await detect(p);
    if (format === 'dicom') {
      const h = await readDicomHeader(p);
      const [s] = assembleSeries([h]);
      if (!s) throw new AppError('corrupt_input', 'no DICOM image in the file');
      loaded = { key, volume: await readDicomVolume(s), presets: h.windows, unit: h.modality === 'CT' ? 'HU' : null };
    } else if (format === 'nifti' || format === 'nifti-gz') {
      loaded = { key, volume: (await readNifti(p)).volume, presets: [], unit: null };
    } else {
      throw new AppError('unsupported', `not a volume (DICOM or NIfTI): ${p}`);
    }
  }
  cache.unshift(loaded);
  cache.length = Math.min(cache.length, CACHE_SIZE);
  return loaded;
}

/** One voxel's stored value (rescaled) and its world position in mm; the volume stays cached for the next one. */
export async function voxelValue(p: string, voxel: [number, number, number]): Promise<VoxelValue> {
  const { volume, unit } = await loadVolume(p);
  const [nx, ny, nz] = volume.dims;
  const [x, y, z] = voxel;
  if (x >= nx || y >= ny || z >= nz)
    throw new AppError('bad_request', `voxel (${x}, ${y}, ${z}) is outside the ${nx}×${ny}×${nz} volume`, 'params.x');
  if (volume.channels !== 1) throw new AppError('unsupported', 'colour volumes have no single voxel value');
  const value = volume.data[(z * ny + y) * nx + x] as number;
  const a = volume.affine;
  const mm = [0, 1, 2].map((r) => {
    const row = a[r] as number[];
    return (row[0] as number) * x + (row[1] as number) * y + (row[2] as number) * z + (row[3] as number);
  }) as [number, number, number];
  return { voxel: [x, y, z], value, unit, mm };
}

/** A slice as 8-bit grey PNG with the given window, the file's first preset, or the slice's own range. */
export async function slicePicture(
  p: string,
  axis: Axis,
  index: number,
  window: { center: number; width: number } | null,
): Promise<MediaPicture & { window: { center: number; width: number } }> {
  const { volume, presets } = await loadVolume(p);
  if (volume.channels !== 1)
    throw new AppError('unsupported', 'colour volumes are shown with media.frame, not windowed');
  const s = slice(volume, axis, index);
  let w = window ?? (presets[0] ? { center: presets[0].center, width: presets[0].width } : null);
  if (!w) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of s.data) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    w = { center: (lo + hi) / 2, width: Math.max(hi - lo, 1) };
  }
  const grey = windowed(s, w.center, w.width);
  const png = await encodePng({ width: s.width, height: s.height, channels: 1, bitDepth: 8, data: grey });
  return { width: s.width, height: s.height, pngBase64: png.toString('base64'), window: w };
}
