#!/usr/bin/env node
// Regenerates samples/ (the demo data shipped with the app) from Debian packages, with the bundled ffmpeg and sharp.
// `node scripts/make-samples.mjs` (installs the Debian packages when run as root, otherwise prints the command).
// Sources and licences: samples/SOURCES.md.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

import sharp from 'sharp';

import { ensureDebianPackage } from './debian-packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'samples');
const require = createRequire(import.meta.url);

const FASHION = '/usr/share/datasets/fashion-mnist';
const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const NIBABEL = '/usr/lib/python3/dist-packages/nibabel/tests/data';
const OPENCV = '/usr/share/doc/opencv-doc/examples/data';

ensureDebianPackage('dataset-fashion-mnist', `${FASHION}/t10k-images-idx3-ubyte.gz`);
ensureDebianPackage('python3-skimage', `${SKIMAGE}/retina.jpg`);
ensureDebianPackage('python3-pydicom', `${PYDICOM}/CT_small.dcm`);
ensureDebianPackage('python3-nibabel', `${NIBABEL}/anatomical.nii`);
ensureDebianPackage('opencv-doc', `${OPENCV}/vtest.avi`);

/** The ffmpeg the app uses: SSM_FFMPEG / FFMPEG_PATH, else the bundled one. */
function ffmpegPath() {
  return process.env.SSM_FFMPEG || process.env.FFMPEG_PATH || require('@ffmpeg-installer/ffmpeg').path;
}

for (const sub of ['images', 'video', 'medical']) rmSync(path.join(out, sub), { recursive: true, force: true });

// 1. Fashion-MNIST test set: the first 4 images of each of the 10 classes, as PNG in ImageFolder layout.
const CLASSES = [
  't-shirt_top',
  'trouser',
  'pullover',
  'dress',
  'coat',
  'sandal',
  'shirt',
  'sneaker',
  'bag',
  'ankle_boot',
];
const PER_CLASS = 4;
const images = gunzipSync(readFileSync(`${FASHION}/t10k-images-idx3-ubyte.gz`));
const labels = gunzipSync(readFileSync(`${FASHION}/t10k-labels-idx1-ubyte.gz`));
if (images.readUInt32BE(0) !== 0x803 || labels.readUInt32BE(0) !== 0x801)
  throw new Error('unexpected IDX magic numbers');
const count = images.readUInt32BE(4);
const rows = images.readUInt32BE(8);
const cols = images.readUInt32BE(12);
const taken = new Array(CLASSES.length).fill(0);
for (let i = 0; i < count && taken.some((t) => t < PER_CLASS); i += 1) {
  const c = labels[8 + i];
  if (taken[c] >= PER_CLASS) continue;
  taken[c] += 1;
  const dir = path.join(out, 'images', 'fashion-mnist', CLASSES[c]);
  mkdirSync(dir, { recursive: true });
  const px = images.subarray(16 + i * rows * cols, 16 + (i + 1) * rows * cols);
  await sharp(Buffer.from(px), { raw: { width: cols, height: rows, channels: 1 } })
    .png({ compressionLevel: 9 })
    .toFile(path.join(dir, `t10k-${String(i).padStart(5, '0')}.png`));
}

// 2. Real photos from scikit-image (copied unchanged).
mkdirSync(path.join(out, 'images', 'photos'), { recursive: true });
for (const f of ['camera.png', 'chelsea.png', 'retina.jpg'])
  copyFileSync(path.join(SKIMAGE, f), path.join(out, 'images', 'photos', f));

// 3. Video: the first 4 s of OpenCV's vtest.avi (a real pedestrian scene), re-encoded as H.264 at half size.
mkdirSync(path.join(out, 'video'), { recursive: true });
execFileSync(ffmpegPath(), [
  '-v',
  'error',
  '-y',
  '-i',
  `${OPENCV}/vtest.avi`,
  '-t',
  '4',
  '-vf',
  'scale=384:288',
  '-c:v',
  'libx264',
  '-preset',
  'slow',
  '-crf',
  '26',
  '-pix_fmt',
  'yuv420p',
  '-movflags',
  '+faststart',
  '-an',
  path.join(out, 'video', 'vtest-4s.mp4'),
]);

// 4. Medical: a real 7-slice MR series (pydicom's dicomdirtests, downsized to 16×16 by pydicom), a CT slice,
//    and nibabel's anatomical MR volume (NIfTI-1).
const series = path.join(out, 'medical', 'mr-series');
mkdirSync(series, { recursive: true });
const MR700 = `${PYDICOM}/dicomdirtests/98892003/MR700`;
for (const f of readdirSync(MR700)) copyFileSync(path.join(MR700, f), path.join(series, `${f}.dcm`));
copyFileSync(`${PYDICOM}/CT_small.dcm`, path.join(out, 'medical', 'CT_small.dcm'));
copyFileSync(`${NIBABEL}/anatomical.nii`, path.join(out, 'medical', 'anatomical.nii'));

function du(p) {
  const st = statSync(p);
  return st.isDirectory() ? readdirSync(p).reduce((s, f) => s + du(path.join(p, f)), 0) : st.size;
}
for (const sub of ['images', 'video', 'medical'])
  console.log(`samples/${sub}: ${(du(path.join(out, sub)) / 1024).toFixed(0)} KiB`);
