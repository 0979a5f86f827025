import type { MediaApi } from '../../../contract/media.js';
import { AppError } from '../../ipc/app-error.js';
import type { Handler } from '../../ipc/router.js';
import { decodeImage } from '../../media/image.js';
import { framePicture, slicePicture, voxelValue } from '../../media/preview.js';
import { probePath } from '../../media/probe.js';

/** Largest sample buffer media.pixels sends (the reply is base64 JSON). */
const MAX_PIXEL_BYTES = 64 * 1024 * 1024;

export function mediaHandlers(): { [M in keyof MediaApi]: Handler<M> } {
  return {
    'media.info': async ({ path }) => probePath(path),
    'media.frame': async ({ path, frame, maxSize }) => framePicture(path, frame, maxSize),
    'media.pixels': async ({ path, frame }) => {
      const img = await decodeImage(path, frame);
      const bytes = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
      if (bytes.length > MAX_PIXEL_BYTES)
        throw new AppError('too_large', `${img.width}×${img.height} image is too large for pixel readout`);
      // Uint16Array holds host-order samples: every platform the app ships on is little endian.
      return {
        width: img.width,
        height: img.height,
        channels: img.channels,
        bitDepth: img.bitDepth,
        dataBase64: bytes.toString('base64'),
      };
    },
    'media.slice': async ({ path, axis, index, window }) => slicePicture(path, axis, index, window),
    'media.voxel': async ({ path, x, y, z }) => voxelValue(path, [x, y, z]),
  };
}
