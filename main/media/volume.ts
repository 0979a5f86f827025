// A 3-D volume (DICOM series, multi-frame DICOM, NIfTI) and slicing along any axis.
import { AppError } from '../ipc/app-error.js';

export type Axis = 0 | 1 | 2;

export interface Volume {
  /** (X, Y, Z): columns, rows, slices. */
  dims: [number, number, number];
  /** Samples per voxel: 1 (grey) or 3 (RGB DICOM). */
  channels: number;
  /** Voxel size in mm along X, Y, Z. */
  spacing: [number, number, number];
  /** Voxel index (i, j, k) → patient/world mm; row-major 4×4 (NIfTI: RAS from sform/qform; DICOM: converted to RAS). */
  affine: number[][];
  /** Real-world values (rescale slope/intercept or scl_slope/inter applied), x fastest then y then z, channels interleaved: (Z, Y, X, C). */
  data: Float32Array;
}

export interface VolumeSlice {
  width: number;
  height: number;
  channels: number;
  /** (H, W, C) */
  data: Float32Array;
}

/**
 * One slice perpendicular to `axis`: axis 2 → an XY slice (W = X, H = Y), axis 1 → XZ (W = X, H = Z),
 * axis 0 → YZ (W = Y, H = Z).
 */
export function slice(volume: Volume, axis: Axis, index: number): VolumeSlice {
  const [nx, ny, nz] = volume.dims;
  const c = volume.channels;
  const size = volume.dims[axis];
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new AppError(
      'not_found',
      `slice ${index} is out of range on axis ${axis} (0 to ${size - 1})`,
      'params.index',
    );
  }
  const [width, height] = axis === 2 ? [nx, ny] : axis === 1 ? [nx, nz] : [ny, nz];
  const out = new Float32Array(width * height * c); // (H, W, C)
  for (let v = 0; v < height; v += 1) {
    for (let u = 0; u < width; u += 1) {
      const [x, y, z] = axis === 2 ? [u, v, index] : axis === 1 ? [u, index, v] : [index, u, v];
      const src = ((z * ny + y) * nx + x) * c;
      const dst = (v * width + u) * c;
      for (let k = 0; k < c; k += 1) out[dst + k] = volume.data[src + k] as number;
    }
  }
  return { width, height, channels: c, data: out };
}

/** Maps a slice to 8-bit display values with a window (center/width), clamped. */
export function windowed(s: VolumeSlice, center: number, width: number): Uint8Array {
  const out = new Uint8Array(s.data.length);
  const lo = center - width / 2;
  const w = Math.max(width, 1e-6);
  for (let i = 0; i < s.data.length; i += 1) {
    const v = (((s.data[i] as number) - lo) / w) * 255;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}
