// Limits against decompression bombs and hostile headers. Checked against the header before any pixel is decoded.
import { AppError } from '../ipc/app-error.js';

/** The most pixels one image (or one frame/slice) may have: 268 megapixels, sharp's own default (0x3FFF × 0x3FFF). */
export const MAX_PIXELS = 0x3fff * 0x3fff;

/** The most voxels a volume may have (2 Gi samples would not fit a typed array anyway). */
export const MAX_VOXELS = 1024 * 1024 * 1024;

function megapixels(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(0)} gigapixels` : `${(n / 1e6).toFixed(1)} megapixels`;
}

/** Throws 'too_large' when width × height is above MAX_PIXELS, 'corrupt_input' when a size is not positive. */
export function checkPixels(width: number, height: number, what = 'image header'): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new AppError('corrupt_input', `${what} claims an invalid size ${width}×${height}`);
  }
  const n = width * height;
  if (n > MAX_PIXELS) {
    throw new AppError(
      'too_large',
      `${what} claims ${width}×${height} pixels (${megapixels(n)}), above the ${Math.round(MAX_PIXELS / 1e6)} megapixel limit`,
    );
  }
}

export function checkVoxels(dims: readonly number[], what = 'volume header'): void {
  const n = dims.reduce((a, b) => a * b, 1);
  if (dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new AppError('corrupt_input', `${what} claims invalid dimensions ${dims.join('×')}`);
  }
  if (n > MAX_VOXELS) {
    throw new AppError(
      'too_large',
      `${what} claims ${dims.join('×')} voxels, above the ${MAX_VOXELS / 2 ** 30} Gi voxel limit`,
    );
  }
}
