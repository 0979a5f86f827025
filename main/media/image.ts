// Still images and image stacks (PNG, JPEG, WebP, TIFF incl. 16-bit and multi-page, GIF frames, BMP).
// 16-bit data stays 16-bit; EXIF orientation is applied; sizes are checked against the header before decoding.
import { readFile } from 'node:fs/promises';

import sharp, { type Metadata } from 'sharp';

import { AppError } from '../ipc/app-error.js';
import { decodeBmp, readBmpHeader } from './bmp.js';
import { checkPixels, MAX_PIXELS } from './limits.js';
import { readHead, sniffBytes } from './sniff.js';

export interface ImageHeader {
  format: string;
  /** Display size (after EXIF orientation). */
  width: number;
  height: number;
  /** Pages of a TIFF, frames of a GIF/animated WebP; 1 otherwise. */
  pages: number;
  channels: number;
  bitDepth: 8 | 16;
}

export interface DecodedImage {
  width: number;
  height: number;
  channels: number;
  bitDepth: 8 | 16;
  /** Interleaved samples, rows top to bottom: Uint8Array for 8-bit, Uint16Array for 16-bit. */
  data: Uint8Array | Uint16Array;
}

/** Turns a libvips message into one that says what is wrong with the file. */
export function imageError(err: unknown, format: string): AppError {
  if (err instanceof AppError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/exceeds pixel limit/i.test(msg))
    return new AppError('too_large', `image exceeds the ${Math.round(MAX_PIXELS / 1e6)} megapixel limit`);
  if (/premature end|truncat|read error|unexpected end|not enough data|out of order|incomplete/i.test(msg)) {
    return new AppError('corrupt_input', `truncated ${format.toUpperCase()}: ${msg.split('\n')[0]}`);
  }
  if (/unsupported image format|bad seek|not a known file format/i.test(msg)) {
    return new AppError('corrupt_input', `not a readable image: ${msg.split('\n')[0]}`);
  }
  return new AppError('corrupt_input', `unreadable ${format.toUpperCase()}: ${msg.split('\n')[0]}`);
}

function depthBits(depth: string | undefined): 8 | 16 {
  return depth === 'ushort' || depth === 'short' ? 16 : 8;
}

export async function readImageHeader(file: string): Promise<ImageHeader> {
  const head = await readHead(file, 512);
  const format = sniffBytes(head);
  if (format === 'bmp') {
    const h = readBmpHeader(await readFile(file));
    return { format, width: h.width, height: h.height, pages: 1, channels: h.bitsPerPixel === 32 ? 4 : 3, bitDepth: 8 };
  }
  let meta: Metadata;
  try {
    // Header only: no pixels are decoded here, so the limit is checked by us with a clearer message.
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw imageError(err, format);
  }
  const rawW = meta.width ?? 0;
  const rawH = meta.height ?? 0;
  const pageH = meta.pageHeight && meta.pages && meta.pages > 1 ? meta.pageHeight : rawH;
  checkPixels(rawW, pageH, `${(meta.format ?? format).toUpperCase()} header`);
  const swap = (meta.orientation ?? 1) >= 5;
  return {
    format: meta.format === 'heif' ? 'heif' : (meta.format ?? format),
    width: swap ? pageH : rawW,
    height: swap ? rawW : pageH,
    pages: meta.pages ?? 1,
    channels: meta.channels ?? 3,
    bitDepth: depthBits(meta.depth),
  };
}

/** Decodes one page (TIFF page, GIF frame) to raw interleaved samples. Fails on truncated or corrupt data. */
export async function decodeImage(file: string, page = 0): Promise<DecodedImage> {
  const header = await readImageHeader(file);
  if (!Number.isInteger(page) || page < 0 || page >= header.pages) {
    throw new AppError('not_found', `page ${page} is out of range (the image has ${header.pages})`, 'params.page');
  }
  if (header.format === 'bmp') {
    const bmp = decodeBmp(await readFile(file));
    return { width: bmp.width, height: bmp.height, channels: bmp.channels, bitDepth: 8, data: bmp.data };
  }
  try {
    // Keep the source's colour space and depth: by default libvips would convert to 8-bit sRGB, which turns
    // 16-bit grey into three channels and squashes small 16-bit values to 0.
    const grey = header.channels <= 2;
    const space = header.bitDepth === 16 ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb';
    const img = sharp(file, { failOn: 'truncated', limitInputPixels: MAX_PIXELS, page, pages: 1 })
      .rotate()
      .toColourspace(space);
    const { data, info } = await (header.bitDepth === 16 ? img.raw({ depth: 'ushort' }) : img.raw()).toBuffer({
      resolveWithObject: true,
    });
    const pixels =
      header.bitDepth === 16
        ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { width: info.width, height: info.height, channels: info.channels, bitDepth: header.bitDepth, data: pixels };
  } catch (err) {
    throw imageError(err, header.format);
  }
}

/** Encodes raw samples as PNG (8- or 16-bit, 1–4 channels); used for thumbnails, masks and exports. */
export async function encodePng(img: DecodedImage): Promise<Buffer> {
  // A Uint16Array input is read as 16-bit samples by sharp (the depth follows the typed array).
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 2 | 3 | 4 } });
  if (img.bitDepth === 16) s = s.toColourspace(img.channels >= 3 ? 'rgb16' : 'grey16');
  else if (img.channels <= 2) s = s.toColourspace('b-w'); // otherwise libvips writes grey as RGB
  return s.png({ compressionLevel: 9 }).toBuffer();
}
