// DICOM: single and multi-frame files, and folders of slices assembled into volumes by SeriesInstanceUID, sorted along
// the slice normal (ImageOrientationPatient × ImagePositionPatient). Rescale slope/intercept applied; window presets
// read from the file. Uncompressed transfer syntaxes are decoded; compressed ones are reported as unsupported.
// Patient-identifying values are redacted from every error (see dicom-redact.ts).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

import type * as DicomParser from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import sharp from 'sharp';

import type { WindowPreset } from '../../contract/media.js';
import { AppError } from '../ipc/app-error.js';
import { phiValues, redact } from './dicom-redact.js';
import { decodeRleFrame } from './dicom-rle.js';
import { checkPixels, checkVoxels } from './limits.js';
import type { Volume } from './volume.js';

const require = createRequire(import.meta.url);
// dicom-parser ships a UMD bundle; require() gives its exports reliably under ESM.
const dicomParser = require('dicom-parser') as typeof DicomParser;

const UNCOMPRESSED: Record<string, string> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
};

const RLE = '1.2.840.10008.1.2.5';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
/** Compressed transfer syntaxes the app decodes (RLE itself; 8-bit JPEG baseline with libjpeg through sharp). */
const DECODED: ReadonlySet<string> = new Set([RLE, JPEG_BASELINE]);

const COMPRESSED: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

export interface DicomHeader {
  file: string;
  transferSyntax: string;
  transferSyntaxName: string;
  seriesUid: string;
  instanceNumber: number;
  modality: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  photometric: string;
  planar: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  slope: number;
  intercept: number;
  /** (x, y) spacing within a slice in mm: PixelSpacing is (row spacing, column spacing). */
  pixelSpacing: [number, number];
  sliceThickness: number | null;
  spacingBetweenSlices: number | null;
  position: [number, number, number] | null;
  orientation: [number, number, number, number, number, number] | null;
  /** GridFrameOffsetVector (multi-frame RT dose and similar): z offsets of each frame. */
  frameOffsets: number[] | null;
  windows: WindowPreset[];
  littleEndian: boolean;
  pixelOffset: number;
  pixelLength: number;
  /** Identifying values of this file, for redaction only; never shown. */
  phi: string[];
  /** Encapsulated (compressed) pixel data: for each frame, the byte ranges of its fragments in the file. */
  encapsulated?: { offset: number; length: number }[][];
}

function numbers(ds: DataSet, tag: string): number[] {
  const n = ds.numStringValues(tag) ?? 0;
  const out: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const v = Number(ds.string(tag, i));
    if (Number.isFinite(v)) out.push(v);
  }
  return out;
}

function num(ds: DataSet, tag: string): number | null {
  const v = numbers(ds, tag)[0];
  return v === undefined ? null : v;
}

function parse(bytes: Uint8Array): DataSet {
  try {
    return dicomParser.parseDicom(bytes);
  } catch (err) {
    // dicom-parser throws a string, an Error, or { exception, dataSet } for a file that ends early.
    const partial =
      typeof err === 'object' && err !== null && 'dataSet' in err ? (err as { dataSet?: DataSet }).dataSet : undefined;
    const reason =
      typeof err === 'string'
        ? err
        : err instanceof Error
          ? err.message
          : typeof err === 'object' && err !== null && 'exception' in err
            ? String((err as { exception: unknown }).exception)
            : String(err);
    throw new AppError('corrupt_input', redact(`unreadable DICOM: ${reason}`, phiValues(partial)));
  }
}

function headerOf(file: string, ds: DataSet, fileSize: number): DicomHeader {
  const phi = phiValues(ds);
  const ts = ds.string('x00020010')?.trim() ?? '1.2.840.10008.1.2';
  const pixel = ds.elements.x7fe00010;
  const rows = ds.uint16('x00280010') ?? 0;
  const columns = ds.uint16('x00280011') ?? 0;
  if (!pixel)
    throw new AppError(
      'corrupt_input',
      'DICOM file has no pixel data (7FE0,0010): not an image (report, plan or structure set?)',
    );
  checkPixels(columns, rows, 'DICOM header');
  const frames = Math.max(1, Math.round(num(ds, 'x00280008') ?? 1));
  const samplesPerPixel = ds.uint16('x00280002') ?? 1;
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const ps = numbers(ds, 'x00280030');
  const pos = numbers(ds, 'x00200032');
  const ori = numbers(ds, 'x00200037');
  const centers = numbers(ds, 'x00281050');
  const widths = numbers(ds, 'x00281051');
  const names = (ds.string('x00281055') ?? '').split('\\');
  const windows: WindowPreset[] = centers.flatMap((center, i) => {
    const width = widths[i];
    return width === undefined ? [] : [{ center, width, name: names[i]?.trim() || null }];
  });
  const offsets = numbers(ds, 'x3004000c');
  const littleEndian = ts !== '1.2.840.10008.1.2.2';
  const slope = num(ds, 'x00281053');
  return {
    file,
    transferSyntax: ts,
    transferSyntaxName: UNCOMPRESSED[ts] ?? COMPRESSED[ts] ?? ts,
    seriesUid: ds.string('x0020000e')?.trim() || `file:${file}`,
    instanceNumber: num(ds, 'x00200013') ?? 0,
    modality: ds.string('x00080060')?.trim() ?? '',
    rows,
    columns,
    frames,
    samplesPerPixel,
    photometric: ds.string('x00280004')?.trim() ?? 'MONOCHROME2',
    planar: ds.uint16('x00280006') ?? 0,
    bitsAllocated,
    bitsStored: ds.uint16('x00280101') ?? bitsAllocated,
    signed: (ds.uint16('x00280103') ?? 0) === 1,
    slope: slope === null || slope === 0 ? 1 : slope,
    intercept: num(ds, 'x00281052') ?? 0,
    pixelSpacing: ps.length >= 2 ? [ps[1] as number, ps[0] as number] : [1, 1],
    sliceThickness: num(ds, 'x00180050'),
    spacingBetweenSlices: num(ds, 'x00180088'),
    position: pos.length === 3 ? (pos as [number, number, number]) : null,
    orientation: ori.length === 6 ? (ori as [number, number, number, number, number, number]) : null,
    frameOffsets: offsets.length === frames && frames > 1 ? offsets : null,
    windows,
    littleEndian,
    pixelOffset: pixel.dataOffset,
    pixelLength: pixel.encapsulatedPixelData
      ? fileSize - pixel.dataOffset
      : Math.min(pixel.length, fileSize - pixel.dataOffset),
    phi,
  };
}

/** Reads and checks a DICOM file's header (pixel data present and complete, transfer syntax known). */
export async function readDicomHeader(file: string): Promise<DicomHeader> {
  const bytes = await readFile(file);
  return parseDicomHeader(file, bytes);
}

function parseDicomHeader(file: string, bytes: Buffer): DicomHeader {
  const ds = parse(bytes);
  const phi = phiValues(ds);
  try {
    const h = headerOf(file, ds, bytes.length);
    if (DECODED.has(h.transferSyntax)) {
      h.encapsulated = frameFragments(ds, h);
    } else if (UNCOMPRESSED[h.transferSyntax]) {
      const need = h.rows * h.columns * h.frames * h.samplesPerPixel * (h.bitsAllocated / 8);
      if (h.pixelLength < need) {
        throw new AppError(
          'corrupt_input',
          `truncated DICOM pixel data: ${h.rows}×${h.columns}×${h.frames} frames need ${need} bytes, the file holds ${h.pixelLength}`,
        );
      }
    }
    return h;
  } catch (err) {
    if (err instanceof AppError) throw new AppError(err.code, redact(err.message, phi), err.path);
    throw new AppError(
      'corrupt_input',
      redact(`unreadable DICOM: ${err instanceof Error ? err.message : String(err)}`, phi),
    );
  }
}

/** Which fragments make each frame: one fragment per frame, all fragments for a single frame, or by offset table. */
function frameFragments(ds: DataSet, h: DicomHeader): { offset: number; length: number }[][] {
  const el = ds.elements.x7fe00010;
  const fragments = (el?.fragments ?? []).map((f) => ({ offset: f.position, length: f.length }));
  if (fragments.length === 0) throw new AppError('corrupt_input', 'compressed DICOM pixel data has no fragments');
  if (fragments.length === h.frames) return fragments.map((f) => [f]);
  if (h.frames === 1) return [fragments];
  const table = el?.basicOffsetTable ?? [];
  if (table.length === h.frames) {
    const first = fragments[0]?.offset ?? 0;
    // Offsets count from the first fragment's item tag (8 bytes before its data).
    const starts = table.map((o) => first - 8 + o);
    return starts.map((s, i) => fragments.filter((f) => f.offset >= s && f.offset < (starts[i + 1] ?? Infinity)));
  }
  throw new AppError(
    'corrupt_input',
    `compressed DICOM has ${fragments.length} fragments for ${h.frames} frames and no offset table`,
  );
}

/** Decodes one compressed frame to uncompressed bytes (little endian, samples interleaved). */
async function decodeCompressedFrame(
  h: DicomHeader,
  bytes: Buffer,
  ranges: { offset: number; length: number }[],
): Promise<Buffer> {
  const data = Buffer.concat(ranges.map((r) => bytes.subarray(r.offset, r.offset + r.length)));
  if (h.transferSyntax === RLE) {
    return Buffer.from(decodeRleFrame(data, h.rows, h.columns, h.samplesPerPixel, h.bitsAllocated).buffer);
  }
  if (h.bitsAllocated !== 8)
    throw new AppError('unsupported', `JPEG baseline DICOM with ${h.bitsAllocated} bits allocated`);
  // libjpeg converts YCbCr to RGB; grey stays one channel.
  try {
    const { data: raw, info } = await sharp(data, { failOn: 'truncated' })
      .toColourspace(h.samplesPerPixel === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== h.columns || info.height !== h.rows || info.channels !== h.samplesPerPixel) {
      throw new AppError(
        'corrupt_input',
        `JPEG frame is ${info.width}×${info.height}×${info.channels}, the header says ${h.columns}×${h.rows}×${h.samplesPerPixel}`,
      );
    }
    return raw;
  } catch (err) {
    throw err instanceof AppError
      ? err
      : new AppError('corrupt_input', `unreadable JPEG frame: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Decodes every frame of one file to real-world values (slope/intercept applied): (frames, rows, columns, samples). */
async function decodePixels(h: DicomHeader, bytes: Buffer): Promise<Float32Array> {
  if (h.encapsulated) {
    // Decode every frame to the uncompressed layout (little endian, interleaved), then read it as such.
    const frames: Buffer[] = [];
    for (const ranges of h.encapsulated) frames.push(await decodeCompressedFrame(h, bytes, ranges));
    const photometric = h.samplesPerPixel === 3 ? 'RGB' : h.photometric;
    const plain = {
      ...h,
      transferSyntax: '1.2.840.10008.1.2.1',
      littleEndian: true,
      planar: 0,
      pixelOffset: 0,
      photometric,
    };
    return decodePixels({ ...plain, encapsulated: undefined }, Buffer.concat(frames));
  }
  if (!UNCOMPRESSED[h.transferSyntax]) {
    throw new AppError(
      'unsupported',
      `compressed DICOM (${h.transferSyntaxName}, ${h.transferSyntax}) is not supported yet`,
    );
  }
  if (![8, 16, 32].includes(h.bitsAllocated))
    throw new AppError('unsupported', `DICOM with ${h.bitsAllocated} bits allocated is not supported`);
  if (h.samplesPerPixel !== 1 && !(h.samplesPerPixel === 3 && h.photometric === 'RGB')) {
    throw new AppError(
      'unsupported',
      `DICOM photometric interpretation ${h.photometric} with ${h.samplesPerPixel} samples is not supported`,
    );
  }
  const spp = h.samplesPerPixel;
  const perFrame = h.rows * h.columns * spp;
  const n = perFrame * h.frames;
  const view = new DataView(bytes.buffer, bytes.byteOffset + h.pixelOffset, n * (h.bitsAllocated / 8));
  const le = h.littleEndian;
  const read: (i: number) => number =
    h.bitsAllocated === 8
      ? (i) => view.getUint8(i)
      : h.bitsAllocated === 16
        ? (i) => view.getUint16(i * 2, le)
        : h.signed
          ? (i) => view.getInt32(i * 4, le)
          : (i) => view.getUint32(i * 4, le);
  // Signed 8/16-bit samples: sign-extend from BitsStored (the bits above it may hold anything).
  const signExtend = h.signed && h.bitsAllocated <= 16;
  const shift = 32 - Math.min(h.bitsStored, h.bitsAllocated);
  const out = new Float32Array(n);
  for (let f = 0; f < h.frames; f += 1) {
    for (let p = 0; p < h.rows * h.columns; p += 1) {
      for (let c = 0; c < spp; c += 1) {
        // Planar configuration 1 stores each colour plane after the other.
        const src = f * perFrame + (h.planar === 1 && spp > 1 ? c * h.rows * h.columns + p : p * spp + c);
        let v = read(src);
        if (signExtend) v = (v << shift) >> shift;
        out[f * perFrame + p * spp + c] = v * h.slope + h.intercept;
      }
    }
  }
  return out;
}

function cross(a: number[], b: number[]): [number, number, number] {
  const [a0 = 0, a1 = 0, a2 = 0] = a;
  const [b0 = 0, b1 = 0, b2 = 0] = b;
  return [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0];
}

function dot(a: readonly number[], b: readonly number[]): number {
  return a.reduce((s, v, i) => s + v * (b[i] ?? 0), 0);
}

/** Voxel → world (RAS, mm). DICOM is LPS, so the first two rows are negated. */
export function dicomAffine(first: DicomHeader, spacing: [number, number, number]): number[][] {
  const o = first.orientation ?? [1, 0, 0, 0, 1, 0];
  const r = o.slice(0, 3);
  const c = o.slice(3, 6);
  const nrm = cross(r, c);
  const p = first.position ?? [0, 0, 0];
  const lps = [0, 1, 2].map((k) => [
    (r[k] ?? 0) * spacing[0],
    (c[k] ?? 0) * spacing[1],
    (nrm[k] ?? 0) * spacing[2],
    p[k] as number,
  ]);
  return [(lps[0] as number[]).map((v) => -v), (lps[1] as number[]).map((v) => -v), lps[2] as number[], [0, 0, 0, 1]];
}

export interface DicomSeries {
  seriesUid: string;
  files: string[];
  headers: DicomHeader[];
  dims: [number, number, number];
  spacing: [number, number, number];
  channels: number;
}

/** Groups headers by SeriesInstanceUID and sorts each series along its slice normal (InstanceNumber as fallback). */
export function assembleSeries(headers: DicomHeader[]): DicomSeries[] {
  const groups = new Map<string, DicomHeader[]>();
  for (const h of headers) groups.set(h.seriesUid, [...(groups.get(h.seriesUid) ?? []), h]);
  const out: DicomSeries[] = [];
  for (const [seriesUid, list] of groups) {
    const first = list[0] as DicomHeader;
    const normal = first.orientation ? cross(first.orientation.slice(0, 3), first.orientation.slice(3, 6)) : null;
    const key = (h: DicomHeader): number => (normal && h.position ? dot(h.position, normal) : h.instanceNumber);
    const sorted = [...list].sort((a, b) => key(a) - key(b) || a.instanceNumber - b.instanceNumber);
    const odd = sorted.find(
      (h) => h.rows !== first.rows || h.columns !== first.columns || h.samplesPerPixel !== first.samplesPerPixel,
    );
    if (odd) {
      throw new AppError(
        'corrupt_input',
        `DICOM series has slices of different sizes (${first.columns}×${first.rows} and ${odd.columns}×${odd.rows})`,
      );
    }
    const slices = sorted.reduce((s, h) => s + h.frames, 0);
    let dz = first.spacingBetweenSlices ?? first.sliceThickness ?? 1;
    if (sorted.length > 1) {
      const gaps = sorted
        .slice(1)
        .map((h, i) => Math.abs(key(h) - key(sorted[i] as DicomHeader)))
        .sort((a, b) => a - b);
      dz = (gaps[Math.floor(gaps.length / 2)] ?? 0) || dz;
    } else if (first.frameOffsets && first.frameOffsets.length > 1) {
      dz = Math.abs((first.frameOffsets[1] as number) - (first.frameOffsets[0] as number)) || dz;
    }
    const dims: [number, number, number] = [first.columns, first.rows, slices];
    checkVoxels(dims, 'DICOM series');
    out.push({
      seriesUid,
      files: sorted.map((h) => h.file),
      headers: sorted,
      dims,
      spacing: [first.pixelSpacing[0], first.pixelSpacing[1], dz],
      channels: first.samplesPerPixel,
    });
  }
  return out;
}

/** Reads the pixel data of a series (or a single multi-frame file) into one volume. */
export async function readDicomVolume(series: DicomSeries): Promise<Volume> {
  const [nx, ny, nz] = series.dims;
  const perSlice = nx * ny * series.channels;
  const data = new Float32Array(perSlice * nz);
  let z = 0;
  for (const h of series.headers) {
    const bytes = await readFile(h.file);
    let pixels: Float32Array;
    try {
      pixels = await decodePixels(parseDicomHeader(h.file, bytes), bytes);
    } catch (err) {
      throw err instanceof AppError ? new AppError(err.code, redact(err.message, h.phi), err.path) : err;
    }
    data.set(pixels, z * perSlice);
    z += h.frames;
  }
  const first = series.headers[0] as DicomHeader;
  return {
    dims: series.dims,
    channels: series.channels,
    spacing: series.spacing,
    affine: dicomAffine(first, series.spacing),
    data,
  };
}
