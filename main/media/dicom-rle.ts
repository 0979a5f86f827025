// DICOM RLE Lossless (1.2.840.10008.1.2.5): one fragment per frame; each frame holds a 64-byte header (segment count,
// then up to 15 segment offsets) and one PackBits-compressed segment per byte plane, most significant byte first,
// sample by sample. Decoded frames are returned as little-endian, pixel-interleaved bytes (the uncompressed layout).
import { AppError } from '../ipc/app-error.js';

function unpackBits(src: Uint8Array, out: Uint8Array): number {
  let i = 0;
  let o = 0;
  while (i < src.length && o < out.length) {
    const n = ((src[i] as number) << 24) >> 24; // signed byte
    i += 1;
    if (n >= 0) {
      const count = Math.min(n + 1, out.length - o, src.length - i);
      out.set(src.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n !== -128) {
      const count = Math.min(-n + 1, out.length - o);
      out.fill(src[i] ?? 0, o, o + count);
      i += 1;
      o += count;
    }
  }
  return o;
}

export function decodeRleFrame(
  frame: Uint8Array,
  rows: number,
  columns: number,
  samples: number,
  bitsAllocated: number,
): Uint8Array {
  const bytesPerSample = bitsAllocated / 8;
  const pixels = rows * columns;
  if (frame.length < 64)
    throw new AppError('corrupt_input', `truncated RLE frame: ${frame.length} bytes, the header needs 64`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  if (segments !== samples * bytesPerSample) {
    throw new AppError('corrupt_input', `RLE frame has ${segments} segments, expected ${samples * bytesPerSample}`);
  }
  const out = new Uint8Array(pixels * samples * bytesPerSample);
  const plane = new Uint8Array(pixels);
  for (let s = 0; s < segments; s += 1) {
    const start = view.getUint32(4 + s * 4, true);
    const end = s + 1 < segments ? view.getUint32(8 + s * 4, true) : frame.length;
    if (start < 64 || end > frame.length || end < start)
      throw new AppError('corrupt_input', `RLE segment ${s} lies outside its frame`);
    plane.fill(0);
    const got = unpackBits(frame.subarray(start, end), plane);
    if (got < pixels) throw new AppError('corrupt_input', `truncated RLE segment ${s}: ${got} of ${pixels} bytes`);
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample); // segments go MSB first; output is little endian
    for (let p = 0; p < pixels; p += 1)
      out[(p * samples + sample) * bytesPerSample + byteInSample] = plane[p] as number;
  }
  return out;
}
