// Test helpers shared by test/media, test/project and test/cli: temp folders, ffmpeg, Debian sample data, DICOM writer.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { ffmpegPaths } from '../../main/media/ffmpeg-path.js';

const require = createRequire(import.meta.url);

export function tempDir(prefix = 'ssm-media-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the bundled ffmpeg; throws with its stderr on failure. */
export function ffmpeg(args: string[]): void {
  execFileSync(ffmpegPaths().ffmpeg, ['-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A file from a Debian package (real sample data). Installs the package when running as root; otherwise fails
 * loudly with the exact command.
 */
export function debianFile(pkg: string, file: string): string {
  if (existsSync(file)) return file;
  const root = process.getuid?.() === 0;
  if (!root) throw new Error(`missing ${file}: install the Debian package with\n  sudo apt-get install -y ${pkg}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', pkg], { env, stdio: 'pipe' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'pipe' });
    r = spawnSync('apt-get', ['install', '-y', '-qq', pkg], { env, stdio: 'pipe' });
  }
  if (!existsSync(file))
    throw new Error(`apt-get install -y ${pkg} did not provide ${file}: ${r.stderr.toString().slice(-500)}`);
  return file;
}

export const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const NIBABEL = '/usr/lib/python3/dist-packages/nibabel/tests/data';
export const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';

export const pydicom = (name: string): string => debianFile('python3-pydicom', path.join(PYDICOM, name));
export const nibabel = (name: string): string => debianFile('python3-nibabel', path.join(NIBABEL, name));

interface Dcmjs {
  data: { datasetToBuffer(ds: Record<string, unknown>): Buffer };
  log: { setLevel(level: string): void };
}

export interface SliceSpec {
  file: string;
  seriesUid: string;
  rows: number;
  columns: number;
  pixels: Uint16Array | Int16Array | null;
  position: [number, number, number];
  orientation?: [number, number, number, number, number, number];
  instance: number;
  slope?: number;
  intercept?: number;
  patientName?: string;
  frames?: number;
  signed?: boolean;
}

/** Writes a CT slice with dcmjs (Explicit VR Little Endian). `pixels: null` leaves out the pixel data. */
export function writeDicomSlice(s: SliceSpec): void {
  const dcmjs = require('dcmjs') as Dcmjs;
  dcmjs.log.setLevel('error'); // its "Invalid vr type ox - using OW" notes are expected for PixelData
  const uid = `2.25.${Math.floor(Math.random() * 1e15)}${s.instance}`;
  const ds: Record<string, unknown> = {
    _meta: { TransferSyntaxUID: '1.2.840.10008.1.2.1' },
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
    SOPInstanceUID: uid,
    SeriesInstanceUID: s.seriesUid,
    StudyInstanceUID: '2.25.1',
    PatientName: s.patientName ?? 'Anonymous',
    PatientID: 'TEST-0001',
    Modality: 'CT',
    Rows: s.rows,
    Columns: s.columns,
    BitsAllocated: 16,
    BitsStored: 16,
    HighBit: 15,
    PixelRepresentation: s.signed ? 1 : 0,
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    RescaleSlope: String(s.slope ?? 1),
    RescaleIntercept: String(s.intercept ?? 0),
    ImagePositionPatient: s.position,
    ImageOrientationPatient: s.orientation ?? [1, 0, 0, 0, 1, 0],
    PixelSpacing: [0.5, 0.75],
    SliceThickness: 2.5,
    InstanceNumber: s.instance,
    WindowCenter: [40, 300],
    WindowWidth: [400, 1500],
    WindowCenterWidthExplanation: ['SOFT', 'BONE'],
  };
  if (s.frames) ds.NumberOfFrames = String(s.frames);
  if (s.pixels) ds.PixelData = [s.pixels.buffer.slice(s.pixels.byteOffset, s.pixels.byteOffset + s.pixels.byteLength)];
  writeFileSync(s.file, dcmjs.data.datasetToBuffer(ds));
}
