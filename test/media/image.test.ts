// Images: every still format decodes with the expected pixels; 16-bit stays 16-bit; EXIF orientation is applied;
// truncated, random and hostile files give a clear error.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

import { AppError } from '../../main/ipc/app-error.js';
import { decodeImage, readImageHeader } from '../../main/media/image.js';
import { probeFile } from '../../main/media/probe.js';
import { debianFile, ffmpeg, SKIMAGE, tempDir } from './helpers.js';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const skimage = (name: string): string => debianFile('python3-skimage', path.join(SKIMAGE, name));

/** 4×2 RGB, pixel (x, y) = (x*60, y*100, 7). */
function rgbPixels(): Buffer {
  const b = Buffer.alloc(4 * 2 * 3);
  for (let y = 0; y < 2; y += 1) for (let x = 0; x < 4; x += 1) b.set([x * 60, y * 100, 7], (y * 4 + x) * 3);
  return b;
}

async function expectError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  expect((err as AppError).message).toMatch(message);
}

describe('lossless formats decode to the exact pixels', () => {
  for (const fmt of ['png', 'webp', 'tiff'] as const) {
    it(fmt, async () => {
      const file = path.join(dir, `rgb.${fmt}`);
      const s = sharp(rgbPixels(), { raw: { width: 4, height: 2, channels: 3 } });
      await (
        fmt === 'webp' ? s.webp({ lossless: true }) : fmt === 'tiff' ? s.tiff({ compression: 'lzw' }) : s.png()
      ).toFile(file);
      const img = await decodeImage(file);
      expect([img.width, img.height, img.channels, img.bitDepth]).toEqual([4, 2, 3, 8]);
      expect(Buffer.from(img.data)).toEqual(rgbPixels());
      expect((await probeFile(file)).format).toBe(fmt);
    });
  }

  it('JPEG (lossy: within 6 levels of the source)', async () => {
    const file = path.join(dir, 'rgb.jpg');
    await sharp(rgbPixels(), { raw: { width: 4, height: 2, channels: 3 } })
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toFile(file);
    const img = await decodeImage(file);
    const src = rgbPixels();
    for (let i = 0; i < src.length; i += 1)
      expect(Math.abs((img.data[i] as number) - (src[i] as number))).toBeLessThanOrEqual(6);
  });

  it('BMP 24-bit bottom-up and 32-bit top-down (own decoder)', async () => {
    // 24-bit, 3×2, bottom-up, rows padded to 12 bytes.
    const w = 3;
    const h = 2;
    const stride = 12;
    const bmp = Buffer.alloc(54 + stride * h);
    bmp.write('BM', 0, 'latin1');
    bmp.writeUInt32LE(bmp.length, 2);
    bmp.writeUInt32LE(54, 10);
    bmp.writeUInt32LE(40, 14);
    bmp.writeInt32LE(w, 18);
    bmp.writeInt32LE(h, 22);
    bmp.writeUInt16LE(1, 26);
    bmp.writeUInt16LE(24, 28);
    for (let y = 0; y < h; y += 1) {
      for (let x = 0; x < w; x += 1) {
        const row = 54 + (h - 1 - y) * stride; // bottom-up
        bmp.set([x * 10 + 3, y * 50 + 2, 200 + x], row + x * 3); // B, G, R
      }
    }
    const file = path.join(dir, 'img.bmp');
    writeFileSync(file, bmp);
    const img = await decodeImage(file);
    expect([img.width, img.height, img.channels]).toEqual([3, 2, 3]);
    expect([...img.data.slice(0, 3)]).toEqual([200, 2, 3]); // (0,0) as R, G, B
    expect([...img.data.slice((1 * 3 + 2) * 3, (1 * 3 + 2) * 3 + 3)]).toEqual([202, 52, 23]); // (2,1)
    // 32-bit top-down with an alpha mask (BITMAPV4 header, 108 bytes).
    const b32 = Buffer.alloc(14 + 108 + 2 * 1 * 4);
    b32.write('BM', 0, 'latin1');
    b32.writeUInt32LE(14 + 108, 10);
    b32.writeUInt32LE(108, 14);
    b32.writeInt32LE(2, 18);
    b32.writeInt32LE(-1, 22);
    b32.writeUInt16LE(1, 26);
    b32.writeUInt16LE(32, 28);
    b32.writeUInt32LE(3, 30); // BI_BITFIELDS
    b32.writeUInt32LE(0x00ff0000, 54);
    b32.writeUInt32LE(0x0000ff00, 58);
    b32.writeUInt32LE(0x000000ff, 62);
    b32.writeUInt32LE(0xff000000, 66);
    b32.writeUInt32LE(0x80112233, 122);
    b32.writeUInt32LE(0xff445566, 126);
    const f32 = path.join(dir, 'img32.bmp');
    writeFileSync(f32, b32);
    const i32 = await decodeImage(f32);
    expect([...i32.data]).toEqual([0x11, 0x22, 0x33, 0x80, 0x44, 0x55, 0x66, 0xff]);
  });
});

it('BMP 8-bit palette (own decoder)', async () => {
  // 2×2, palette of 4 colours, bottom-up rows padded to 4 bytes.
  const bmp = Buffer.alloc(54 + 4 * 4 + 2 * 4);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(54 + 16, 10);
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(2, 18);
  bmp.writeInt32LE(2, 22);
  bmp.writeUInt16LE(1, 26);
  bmp.writeUInt16LE(8, 28);
  bmp.writeUInt32LE(4, 46); // colours used
  const palette = [
    [10, 20, 30],
    [40, 50, 60],
    [70, 80, 90],
    [100, 110, 120],
  ]; // stored B, G, R, 0
  palette.forEach(([r, g, b], i) => bmp.set([b as number, g as number, r as number, 0], 54 + i * 4));
  bmp.set([2, 3], 70); // bottom row (y = 1)
  bmp.set([0, 1], 74); // top row (y = 0)
  const file = path.join(dir, 'pal.bmp');
  writeFileSync(file, bmp);
  const img = await decodeImage(file);
  expect([...img.data]).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
  expect((await probeFile(file)).format).toBe('bmp');
});

describe('16-bit data stays 16-bit', () => {
  it('16-bit grey PNG keeps every value (0 … 65535)', async () => {
    const values = new Uint16Array([0, 1, 255, 256, 1000, 32768, 40000, 65535]);
    const file = path.join(dir, 'g16.png');
    await sharp(values, { raw: { width: 4, height: 2, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toFile(file);
    const h = await readImageHeader(file);
    expect(h.bitDepth).toBe(16);
    const img = await decodeImage(file);
    expect(img.data).toBeInstanceOf(Uint16Array);
    expect([...img.data]).toEqual([...values]);
  });

  it('16-bit RGB TIFF (written by ffmpeg, rgb48le) keeps every value', async () => {
    // sharp writes TIFF as 8-bit only, so ffmpeg's TIFF encoder makes the 16-bit file.
    const values = new Uint16Array(2 * 2 * 3).map((_, i) => i * 5000 + 17);
    const rawFile = path.join(dir, 'rgb16.raw');
    writeFileSync(rawFile, Buffer.from(values.buffer));
    const file = path.join(dir, 'rgb16.tif');
    ffmpeg([
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb48le',
      '-s',
      '2x2',
      '-i',
      rawFile,
      '-frames:v',
      '1',
      '-pix_fmt',
      'rgb48le',
      file,
    ]);
    const img = await decodeImage(file);
    expect(img.bitDepth).toBe(16);
    expect([...img.data]).toEqual([...values]);
  });

  it('real 16-bit TIFFs from scikit-image (little and big endian) keep 0/255 in 16-bit samples', async () => {
    for (const name of ['chessboard_GRAY_U16.tif', 'chessboard_GRAY_U16B.tif']) {
      const img = await decodeImage(skimage(name));
      expect(img.data).toBeInstanceOf(Uint16Array);
      expect([img.width, img.height, img.channels]).toEqual([200, 200, 1]);
      // Values 0…255 stored in 16-bit samples: an 8-bit conversion would have squashed them to 0 and 1.
      let max = 0;
      for (const v of img.data) max = Math.max(max, v);
      expect(max).toBe(255);
      expect(new Set(img.data).size).toBeGreaterThan(2);
    }
  });
});

describe('pages and frames', () => {
  it('multi-page TIFF: every page decodes to its own values', async () => {
    const pages = 3;
    const raw = Buffer.alloc(4 * 4 * pages);
    for (let p = 0; p < pages; p += 1) raw.fill(p * 40 + 10, p * 16, (p + 1) * 16);
    const file = path.join(dir, 'multi.tif');
    await sharp(raw, { raw: { width: 4, height: 4 * pages, channels: 1, pageHeight: 4 } })
      .tiff()
      .toFile(file);
    const h = await readImageHeader(file);
    expect([h.pages, h.width, h.height]).toEqual([3, 4, 4]);
    for (let p = 0; p < pages; p += 1)
      expect(new Set((await decodeImage(file, p)).data)).toEqual(new Set([p * 40 + 10]));
    await expectError(decodeImage(file, 3), 'not_found', /page 3 is out of range/);
  });

  it('real multi-page TIFF and animated GIF from scikit-image', async () => {
    expect((await probeFile(skimage('multipage.tif'))).frames).toBe(2);
    const gif = await probeFile(skimage('no_time_for_that_tiny.gif'));
    expect([gif.kind, gif.width, gif.height, gif.frames]).toEqual(['image', 14, 25, 24]);
    const last = await decodeImage(skimage('no_time_for_that_tiny.gif'), 23);
    expect([last.width, last.height]).toEqual([14, 25]);
  });

  it('generated animated GIF: frame colours survive the palette', async () => {
    const raw = Buffer.alloc(2 * 2 * 3 * 3);
    const colours = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    colours.forEach((c, f) => {
      for (let i = 0; i < 4; i += 1) raw.set(c, (f * 4 + i) * 3);
    });
    const file = path.join(dir, 'anim.gif');
    await sharp(raw, { raw: { width: 2, height: 6, channels: 3, pageHeight: 2 } })
      .gif()
      .toFile(file);
    expect((await readImageHeader(file)).pages).toBe(3);
    const f2 = await decodeImage(file, 2);
    expect([...f2.data.slice(0, 3)]).toEqual([0, 0, 255]);
  });
});

it('EXIF orientation is applied (orientation 6: rotate 90° clockwise)', async () => {
  // Stored 4×2: left half red, right half blue. Displayed 2×4: top half red, bottom half blue.
  const raw = Buffer.alloc(4 * 2 * 3);
  for (let y = 0; y < 2; y += 1)
    for (let x = 0; x < 4; x += 1) raw.set(x < 2 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
  const file = path.join(dir, 'rot.jpg');
  await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } })
    .jpeg({ quality: 100 })
    .withMetadata({ orientation: 6 })
    .toFile(file);
  const h = await readImageHeader(file);
  expect([h.width, h.height]).toEqual([2, 4]);
  const img = await decodeImage(file);
  expect([img.width, img.height]).toEqual([2, 4]);
  expect(img.data[0]).toBeGreaterThan(200); // top-left red
  expect(img.data[(3 * 2 + 1) * 3 + 2]).toBeGreaterThan(200); // bottom-right blue
});

it('real photos from scikit-image (PNG, JPEG retina) probe with their sizes', async () => {
  const a = await probeFile(skimage('astronaut.png'), { validate: true });
  expect([a.kind, a.format, a.width, a.height, a.channels, a.bitDepth]).toEqual(['image', 'png', 512, 512, 3, 8]);
  const r = await probeFile(skimage('retina.jpg'), { validate: true });
  expect([r.format, r.width, r.height]).toEqual(['jpeg', 1411, 1411]);
});

describe('corrupt and hostile input', () => {
  it('truncated PNG', async () => {
    const full = path.join(dir, 'full.png');
    await sharp({
      create: {
        width: 64,
        height: 64,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 40 },
      },
    })
      .png()
      .toFile(full);
    const cut = path.join(dir, 'cut.png');
    const bytes = readFileSync(full);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expectError(decodeImage(cut), 'corrupt_input', /truncated PNG/);
  });

  it('truncated JPEG (real file from scikit-image, and a cut one)', async () => {
    await expectError(decodeImage(skimage('truncated.jpg')), 'corrupt_input', /truncated JPEG: .*premature end/);
    const src = readFileSync(skimage('retina.jpg'));
    const cut = path.join(dir, 'cut.jpg');
    writeFileSync(cut, src.subarray(0, 5000));
    await expectError(decodeImage(cut), 'corrupt_input', /truncated JPEG/);
  });

  it('random bytes with a .png extension', async () => {
    const file = path.join(dir, 'random.png');
    writeFileSync(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)));
    await expectError(probeFile(file), 'corrupt_input', /not a PNG file: its bytes match no known format/);
  });

  it('a .png that is really a JPEG is reported as mislabelled', async () => {
    const file = path.join(dir, 'jpeg-inside.png');
    writeFileSync(file, readFileSync(skimage('retina.jpg')));
    await expectError(
      probeFile(file),
      'corrupt_input',
      /mislabelled file: the extension says PNG but the data is JPEG/,
    );
  });

  it('a PNG header claiming 100000×100000 is refused before decoding', async () => {
    const crcTable = Array.from({ length: 256 }, (_, n) => {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    const crc = (b: Buffer): number => {
      let x = 0xffffffff;
      for (const v of b) x = (crcTable[(x ^ v) & 0xff] as number) ^ (x >>> 8);
      return (x ^ 0xffffffff) >>> 0;
    };
    const chunk = (type: string, data: Buffer): Buffer => {
      const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const c = Buffer.alloc(4);
      c.writeUInt32BE(crc(td));
      return Buffer.concat([len, td, c]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(100000, 0);
    ihdr.writeUInt32BE(100000, 4);
    ihdr[8] = 8;
    ihdr[9] = 2;
    const png = Buffer.concat([
      Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(Buffer.alloc(1000))),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const file = path.join(dir, 'bomb.png');
    writeFileSync(file, png);
    const msg = /PNG header claims 100000×100000 pixels \(10 gigapixels\), above the 268 megapixel limit/;
    await expectError(readImageHeader(file), 'too_large', msg);
    await expectError(decodeImage(file), 'too_large', msg);
  });

  it('an empty file', async () => {
    const file = path.join(dir, 'empty.jpg');
    writeFileSync(file, '');
    await expectError(probeFile(file), 'corrupt_input', /empty file/);
  });
});
