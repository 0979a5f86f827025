// A mixed import folder made at test time: an ImageFolder tree, a video, a DICOM series, a NIfTI volume, a labels CSV,
// and a set of broken files (each with the reason import must give).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

import sharp, { type Sharp } from 'sharp';

import { ffmpeg, nibabel, writeDicomSlice } from '../media/helpers.js';

export interface MixedFolder {
  root: string;
  good: string;
  bad: string;
  /** Broken file → a pattern its skip reason must match. */
  badReasons: Record<string, RegExp>;
}

function hugePng(): Buffer {
  const table = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer): number => {
    let x = 0xffffffff;
    for (const v of b) x = (table[(x ^ v) & 0xff] as number) ^ (x >>> 8);
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
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(100))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export async function makeMixedFolder(root: string): Promise<MixedFolder> {
  const good = path.join(root, 'good');
  const bad = path.join(root, 'bad');
  const img = (r: number, g: number, b: number): Sharp =>
    sharp({ create: { width: 16, height: 12, channels: 3, background: { r, g, b } } });
  for (const d of ['train/cat', 'train/dog', 'val/cat', 'series']) mkdirSync(path.join(good, d), { recursive: true });
  mkdirSync(bad, { recursive: true });
  await img(200, 10, 10).png().toFile(path.join(good, 'train/cat/c1.png'));
  await img(190, 20, 10).png().toFile(path.join(good, 'train/cat/c2.png'));
  await img(10, 200, 10).jpeg().toFile(path.join(good, 'train/dog/d1.jpg'));
  await img(10, 10, 200).webp({ lossless: true }).toFile(path.join(good, 'val/cat/c3.webp'));
  await img(10, 10, 200).png().toFile(path.join(good, 'train/cat/dup-of-nothing.png'));
  copyFileSync(path.join(good, 'train/cat/c1.png'), path.join(good, 'train/dog/same-bytes-as-c1.png'));
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=s=64x48:r=10:d=1',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    path.join(good, 'clip.mp4'),
  ]);
  for (let k = 0; k < 3; k += 1) {
    writeDicomSlice({
      file: path.join(good, 'series', `slice${k}.dcm`),
      seriesUid: '2.25.4242',
      rows: 4,
      columns: 5,
      pixels: new Uint16Array(20).fill(100 + k),
      position: [0, 0, 3 * k],
      instance: k + 1,
    });
  }
  copyFileSync(nibabel('anatomical.nii'), path.join(good, 'anatomical.nii'));
  writeFileSync(
    path.join(good, 'labels.csv'),
    'path,label\nclip.mp4,testcard\nanatomical.nii,"brain, T1"\nmissing.png,ghost\n',
  );

  const badReasons: Record<string, RegExp> = {
    'random.png': /not a PNG file: its bytes match no known format/,
    'jpeg-named.png': /mislabelled file: the extension says PNG but the data is JPEG/,
    'truncated.png': /truncated PNG/,
    'truncated.jpg': /truncated JPEG/,
    'bomb.png': /100000×100000 pixels \(10 gigapixels\), above the 268 megapixel limit/,
    'truncated.mp4': /truncated or corrupt MP4/,
    'nopixels.dcm': /no pixel data/,
    'lying.nii': /NIfTI header claims .* but the file holds/,
    'random.mkv': /not a Matroska file/,
  };
  writeFileSync(path.join(bad, 'random.png'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31 + 7) % 256)));
  writeFileSync(path.join(bad, 'random.mkv'), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 17 + 3) % 256)));
  copyFileSync(path.join(good, 'train/dog/d1.jpg'), path.join(bad, 'jpeg-named.png'));
  const noisy = sharp({
    create: {
      width: 64,
      height: 64,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 50 },
    },
  });
  const png = await noisy.clone().png().toBuffer();
  writeFileSync(path.join(bad, 'truncated.png'), png.subarray(0, png.length >> 1));
  const jpg = await noisy.clone().jpeg().toBuffer();
  writeFileSync(path.join(bad, 'truncated.jpg'), jpg.subarray(0, jpg.length >> 1));
  writeFileSync(path.join(bad, 'bomb.png'), hugePng());
  ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=s=320x240:r=25:d=2',
    '-c:v',
    'libx264',
    '-pix_fmt',
    'yuv420p',
    path.join(root, 'full.mp4'),
  ]);
  const mp4 = readFileSync(path.join(root, 'full.mp4'));
  writeFileSync(path.join(bad, 'truncated.mp4'), mp4.subarray(0, mp4.length >> 1));
  writeDicomSlice({
    file: path.join(bad, 'nopixels.dcm'),
    seriesUid: '2.25.1',
    rows: 2,
    columns: 2,
    pixels: null,
    position: [0, 0, 0],
    instance: 1,
    patientName: 'Roe^Richard',
  });
  const nii = Buffer.from(readFileSync(nibabel('anatomical.nii')));
  if (nii.readInt32LE(0) === 348) nii.writeInt16LE(250, 46);
  else nii.writeInt16BE(250, 46);
  writeFileSync(path.join(bad, 'lying.nii'), nii);
  return { root, good, bad, badReasons };
}
