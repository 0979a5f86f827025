// A small BMP decoder: sharp's prebuilt libvips does not read BMP. Handles the layouts real files use:
// BITMAPINFOHEADER and later (40/108/124-byte headers), 1/4/8-bit palette, 24-bit, 32-bit (BI_RGB or BI_BITFIELDS),
// bottom-up and top-down rows. RLE compression is rejected as unsupported.
import { AppError } from '../ipc/app-error.js';
import { checkPixels } from './limits.js';

export interface BmpHeader {
  width: number;
  height: number;
  bitsPerPixel: number;
  topDown: boolean;
  compression: number;
  dataOffset: number;
  headerSize: number;
  paletteSize: number;
}

export function readBmpHeader(buf: Buffer): BmpHeader {
  if (buf.length < 26 || buf.toString('latin1', 0, 2) !== 'BM')
    throw new AppError('corrupt_input', 'not a BMP file (no "BM" signature)');
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  if (headerSize < 40) throw new AppError('unsupported', `BMP with a ${headerSize}-byte OS/2 header is not supported`);
  if (buf.length < 14 + 40)
    throw new AppError('corrupt_input', `truncated BMP: ${buf.length} bytes, the header alone needs 54`);
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const bitsPerPixel = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  const colorsUsed = buf.readUInt32LE(46);
  checkPixels(width, Math.abs(rawHeight), 'BMP header');
  if (![1, 4, 8, 24, 32].includes(bitsPerPixel))
    throw new AppError('unsupported', `BMP with ${bitsPerPixel} bits per pixel is not supported`);
  if (compression !== 0 && !(compression === 3 && bitsPerPixel === 32)) {
    throw new AppError('unsupported', `BMP compression ${compression} (RLE or embedded JPEG/PNG) is not supported`);
  }
  const paletteSize = bitsPerPixel <= 8 ? colorsUsed || 1 << bitsPerPixel : 0;
  return {
    width,
    height: Math.abs(rawHeight),
    bitsPerPixel,
    topDown: rawHeight < 0,
    compression,
    dataOffset,
    headerSize,
    paletteSize,
  };
}

/** Decodes to RGB (RGBA for 32-bit with an alpha mask), 8 bits per sample, rows top to bottom. */
export function decodeBmp(buf: Buffer): { width: number; height: number; channels: 3 | 4; data: Uint8Array } {
  const h = readBmpHeader(buf);
  const stride = Math.ceil((h.width * h.bitsPerPixel) / 32) * 4;
  const need = h.dataOffset + stride * h.height;
  if (buf.length < need)
    throw new AppError('corrupt_input', `truncated BMP: ${buf.length} bytes, the header needs ${need}`);
  let alphaMask = 0;
  let masks: [number, number, number] = [0x00ff0000, 0x0000ff00, 0x000000ff];
  if (h.compression === 3) {
    masks = [buf.readUInt32LE(54), buf.readUInt32LE(58), buf.readUInt32LE(62)];
    if (h.headerSize >= 56) alphaMask = buf.readUInt32LE(66);
  } else if (h.bitsPerPixel === 32 && h.headerSize >= 56) {
    alphaMask = buf.readUInt32LE(66);
  }
  const channels: 3 | 4 = h.bitsPerPixel === 32 && alphaMask !== 0 ? 4 : 3;
  const out = new Uint8Array(h.width * h.height * channels);
  const paletteAt = 14 + h.headerSize;
  const shift = (m: number): number => (m === 0 ? 0 : 31 - Math.clz32(m & -m));
  const scale = (v: number, m: number): number => {
    const bits = m === 0 ? 0 : 32 - Math.clz32(m >>> shift(m));
    return bits === 0 ? 0 : Math.round((v * 255) / ((1 << bits) - 1));
  };
  for (let y = 0; y < h.height; y += 1) {
    const row = h.dataOffset + (h.topDown ? y : h.height - 1 - y) * stride;
    for (let x = 0; x < h.width; x += 1) {
      const o = (y * h.width + x) * channels;
      if (h.bitsPerPixel <= 8) {
        const perByte = 8 / h.bitsPerPixel;
        const byte = buf[row + Math.floor(x / perByte)] as number;
        const bitShift = 8 - h.bitsPerPixel * ((x % perByte) + 1);
        const idx = (byte >> bitShift) & ((1 << h.bitsPerPixel) - 1);
        if (idx >= h.paletteSize)
          throw new AppError('corrupt_input', `BMP pixel uses palette index ${idx} of ${h.paletteSize}`);
        const p = paletteAt + idx * 4;
        out[o] = buf[p + 2] as number;
        out[o + 1] = buf[p + 1] as number;
        out[o + 2] = buf[p] as number;
      } else if (h.bitsPerPixel === 24) {
        const p = row + x * 3;
        out[o] = buf[p + 2] as number;
        out[o + 1] = buf[p + 1] as number;
        out[o + 2] = buf[p] as number;
      } else {
        const v = buf.readUInt32LE(row + x * 4);
        for (let c = 0; c < 3; c += 1) {
          const m = masks[c] as number;
          out[o + c] = scale((v & m) >>> shift(m), m);
        }
        if (channels === 4) out[o + 3] = scale((v & alphaMask) >>> shift(alphaMask), alphaMask);
      }
    }
  }
  return { width: h.width, height: h.height, channels, data: out };
}
