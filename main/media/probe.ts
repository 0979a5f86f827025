// One entry point: what is this file (or DICOM folder)? Detects the format from the bytes (never trusting the
// extension alone), reads the header, and with `validate` also decodes enough to prove the data is complete.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import type { MediaInfo } from '../../contract/media.js';
import { AppError } from '../ipc/app-error.js';
import { assembleSeries, readDicomHeader, readDicomVolume, type DicomHeader, type DicomSeries } from './dicom.js';
import { decodeImage, readImageHeader } from './image.js';
import { readNifti, readNiftiHeader } from './nifti.js';
import { expectedFormats, hasMediaExtension, sniffFile, type SniffedFormat } from './sniff.js';
import { probeVideo } from './video.js';

const NAMES: Partial<Record<SniffedFormat, string>> = {
  png: 'PNG',
  jpeg: 'JPEG',
  webp: 'WebP',
  tiff: 'TIFF',
  bmp: 'BMP',
  gif: 'GIF',
  mp4: 'MP4',
  mov: 'MOV',
  webm: 'WebM',
  mkv: 'Matroska',
  avi: 'AVI',
  dicom: 'DICOM',
  nifti: 'NIfTI',
  'nifti-gz': 'gzipped NIfTI',
  gzip: 'gzip',
  csv: 'CSV',
};

function describe(f: SniffedFormat): string {
  return NAMES[f] ?? 'unrecognised data';
}

const IMAGE: ReadonlySet<SniffedFormat> = new Set(['png', 'jpeg', 'webp', 'tiff', 'bmp', 'gif']);
const VIDEO: ReadonlySet<SniffedFormat> = new Set(['mp4', 'mov', 'webm', 'mkv', 'avi']);

/** The detected format, or an error when the bytes do not match the extension or nothing is recognised. */
export async function detect(file: string): Promise<SniffedFormat> {
  const st = await stat(file).catch(() => null);
  if (!st) throw new AppError('not_found', `file not found: ${file}`);
  if (!st.isFile()) throw new AppError('unsupported', `not a regular file: ${file}`);
  if (st.size === 0) throw new AppError('corrupt_input', 'empty file (0 bytes)');
  const sniffed = await sniffFile(file);
  const expected = expectedFormats(file);
  if (sniffed === 'unknown') {
    throw new AppError(
      'corrupt_input',
      expected
        ? `not a ${describe(expected[0] as SniffedFormat)} file: its bytes match no known format`
        : 'not a recognised media file',
    );
  }
  if (expected && !expected.includes(sniffed)) {
    throw new AppError(
      'corrupt_input',
      `mislabelled file: the extension says ${describe(expected[0] as SniffedFormat)} but the data is ${describe(sniffed)}`,
    );
  }
  return sniffed;
}

function base(
  file: string,
): Omit<MediaInfo, 'kind' | 'format' | 'width' | 'height' | 'frames' | 'channels' | 'bitDepth' | 'sampleType'> {
  return {
    path: path.resolve(file),
    slices: null,
    fps: null,
    durationSeconds: null,
    rotation: 0,
    spacing: null,
    hasAudio: false,
    codec: null,
    windowPresets: [],
  };
}

export interface ProbeOptions {
  /** Decode the data (first image page, every DICOM slice, the NIfTI voxels; videos are packet-counted) to prove it is complete. */
  validate?: boolean;
  signal?: AbortSignal;
}

/** The same info with its keys in reading order (what, size, time, geometry), for JSON output. */
function ordered(i: MediaInfo): MediaInfo {
  return {
    path: i.path,
    kind: i.kind,
    format: i.format,
    codec: i.codec,
    width: i.width,
    height: i.height,
    frames: i.frames,
    slices: i.slices,
    channels: i.channels,
    bitDepth: i.bitDepth,
    sampleType: i.sampleType,
    fps: i.fps,
    durationSeconds: i.durationSeconds,
    rotation: i.rotation,
    hasAudio: i.hasAudio,
    spacing: i.spacing,
    windowPresets: i.windowPresets,
  };
}

export async function probeFile(file: string, options: ProbeOptions = {}): Promise<MediaInfo> {
  return ordered(await probeFileUnordered(file, options));
}

async function probeFileUnordered(file: string, options: ProbeOptions): Promise<MediaInfo> {
  const format = await detect(file);
  if (IMAGE.has(format)) {
    const h = await readImageHeader(file);
    if (options.validate) await decodeImage(file, 0);
    return {
      ...base(file),
      kind: 'image',
      format: h.format,
      width: h.width,
      height: h.height,
      frames: h.pages,
      channels: h.channels,
      bitDepth: h.bitDepth,
      sampleType: h.bitDepth === 16 ? 'uint16' : 'uint8',
    };
  }
  if (VIDEO.has(format)) {
    const v = await probeVideo(file, options.signal);
    return {
      ...base(file),
      kind: 'video',
      format: v.format,
      width: v.width,
      height: v.height,
      frames: v.frames,
      channels: 3,
      bitDepth: 8,
      sampleType: 'uint8',
      fps: v.fps,
      durationSeconds: v.durationSeconds,
      rotation: v.rotation,
      hasAudio: v.hasAudio,
      codec: v.codec,
    };
  }
  if (format === 'dicom') {
    const h = await readDicomHeader(file);
    const [series] = assembleSeries([h]);
    if (options.validate && series) await readDicomVolume(series);
    return dicomInfo(file, series as DicomSeries);
  }
  if (format === 'nifti' || format === 'nifti-gz') {
    const h = options.validate ? (await readNifti(file)).header : await readNiftiHeader(file);
    return {
      ...base(file),
      kind: 'nifti',
      format: 'nifti',
      width: h.dims[0],
      height: h.dims[1],
      frames: h.volumes,
      slices: h.dims[2],
      channels: 1,
      bitDepth: h.bitDepth,
      sampleType: h.sampleType,
      spacing: h.spacing,
      codec: h.datatype,
    };
  }
  throw new AppError('unsupported', `${describe(format)} is not a media format the app imports`);
}

export function dicomInfo(where: string, series: DicomSeries): MediaInfo {
  const first = series.headers[0] as DicomHeader;
  return ordered({
    ...base(where),
    kind: 'dicom',
    format: 'dicom',
    width: series.dims[0],
    height: series.dims[1],
    frames: 1,
    slices: series.dims[2],
    channels: series.channels,
    bitDepth: first.bitsStored,
    sampleType: first.slope !== 1 || !Number.isInteger(first.intercept) ? 'float32' : first.signed ? 'int16' : 'uint16',
    spacing: series.spacing,
    codec: first.transferSyntaxName,
    windowPresets: first.windows,
  });
}

/** Every DICOM series in a folder (recursive), each with its files sorted along the slice normal. */
export async function probeDicomFolder(
  dir: string,
  options: ProbeOptions = {},
): Promise<{ series: DicomSeries[]; skipped: { path: string; reason: string }[] }> {
  const headers: DicomHeader[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    options.signal?.throwIfAborted();
    const d = pending.pop() as string;
    for (const e of await readdir(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) pending.push(full);
      else if (e.isFile() && (await sniffFile(full).catch(() => 'unknown')) === 'dicom') {
        try {
          headers.push(await readDicomHeader(full));
        } catch (err) {
          skipped.push({ path: full, reason: err instanceof Error ? err.message : String(err) });
        }
      }
    }
  }
  return { series: assembleSeries(headers), skipped };
}

/** `info` for a path: a file, or a folder holding one DICOM series. */
export async function probePath(p: string, options: ProbeOptions = {}): Promise<MediaInfo> {
  const st = await stat(p).catch(() => null);
  if (!st) throw new AppError('not_found', `no such file or folder: ${p}`);
  if (!st.isDirectory()) return probeFile(p, options);
  const { series } = await probeDicomFolder(p, options);
  if (series.length === 0)
    throw new AppError(
      'unsupported',
      `folder holds no DICOM series (use import for a folder of images or videos): ${p}`,
    );
  if (series.length > 1)
    throw new AppError('unsupported', `folder holds ${series.length} DICOM series; point at one series folder`);
  const s = series[0] as DicomSeries;
  if (options.validate) await readDicomVolume(s);
  return dicomInfo(p, s);
}

export interface FolderInfo {
  path: string;
  kind: 'folder';
  /** Every media file (DICOM slices grouped into one entry per series), in path order. */
  items: MediaInfo[];
  skipped: { path: string; reason: string }[];
}

/** What a folder holds (recursive): each media file probed and validated, DICOM slices grouped by series. */
export async function probeFolder(dir: string, options: ProbeOptions = {}): Promise<FolderInfo> {
  const items: MediaInfo[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const pending = [dir];
  const files: string[] = [];
  while (pending.length > 0) {
    options.signal?.throwIfAborted();
    const d = pending.pop() as string;
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) pending.push(full);
      else if (e.isFile() && (hasMediaExtension(e.name) || path.extname(e.name) === '')) files.push(full);
    }
  }
  const dicomDirs = new Set<string>();
  for (const f of files.sort()) {
    const fmt = await sniffFile(f).catch(() => 'unknown');
    if (fmt === 'dicom') {
      dicomDirs.add(path.dirname(f));
      continue;
    }
    if (fmt === 'unknown' && path.extname(f) === '') continue;
    try {
      items.push(await probeFile(f, options));
    } catch (err) {
      skipped.push({ path: f, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  for (const d of [...dicomDirs].sort()) {
    const { series, skipped: bad } = await probeDicomFolderShallow(d);
    for (const s of series) items.push(dicomInfo(s.files.length > 1 ? d : (s.files[0] as string), s));
    skipped.push(...bad);
  }
  return { path: path.resolve(dir), kind: 'folder', items, skipped };
}

/** The DICOM series whose files sit directly in `dir` (not in subfolders). */
async function probeDicomFolderShallow(
  dir: string,
): Promise<{ series: DicomSeries[]; skipped: { path: string; reason: string }[] }> {
  const headers: DicomHeader[] = [];
  const skipped: { path: string; reason: string }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (!e.isFile() || (await sniffFile(full).catch(() => 'unknown')) !== 'dicom') continue;
    try {
      headers.push(await readDicomHeader(full));
    } catch (err) {
      skipped.push({ path: full, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  try {
    return { series: assembleSeries(headers), skipped };
  } catch (err) {
    return {
      series: [],
      skipped: [...skipped, { path: dir, reason: err instanceof Error ? err.message : String(err) }],
    };
  }
}
