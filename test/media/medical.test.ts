// DICOM and NIfTI: real files from pydicom, nibabel and MRIcron; generated series (dcmjs) for ordering, rescale and
// geometry; patient data never in error messages; lying headers refused.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, describe, expect, it } from 'vitest';

import { AppError } from '../../main/ipc/app-error.js';
import { assembleSeries, readDicomHeader, readDicomVolume } from '../../main/media/dicom.js';
import { readNifti, readNiftiHeader } from '../../main/media/nifti.js';
import { probeDicomFolder, probeFile, probePath } from '../../main/media/probe.js';
import { slice, windowed, type Volume } from '../../main/media/volume.js';
import { debianFile, nibabel, pydicom, tempDir, writeDicomSlice } from './helpers.js';

const { dir, cleanup } = tempDir('ssm-medical-');
afterAll(cleanup);

async function caught(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('DICOM (real files from pydicom)', () => {
  it('CT_small: rescale intercept applied to the stored values', async () => {
    const file = pydicom('CT_small.dcm');
    const h = await readDicomHeader(file);
    expect([h.columns, h.rows, h.frames, h.slope, h.intercept]).toEqual([128, 128, 1, 1, -1024]);
    const vol = await readDicomVolume(assembleSeries([h])[0]!);
    const bytes = readFileSync(file);
    // Stored value of pixel 0 (signed 16-bit little endian) + intercept.
    const stored = bytes.readInt16LE(h.pixelOffset);
    expect(vol.data[0]).toBe(stored - 1024);
    const info = await probeFile(file, { validate: true });
    expect([info.kind, info.width, info.height, info.slices, info.bitDepth]).toEqual(['dicom', 128, 128, 1, 16]);
    expect(info.spacing?.[0]).toBeCloseTo(0.661468, 5);
  });

  it('MR_small in little endian, big endian and implicit VR decode to the same volume; window preset from the file', async () => {
    const vols = await Promise.all(
      ['MR_small.dcm', 'MR_small_bigendian.dcm', 'MR_small_implicit.dcm'].map(async (n) => {
        const h = await readDicomHeader(pydicom(n));
        expect(h.windows).toEqual([{ center: 600, width: 1600, name: null }]);
        return readDicomVolume(assembleSeries([h])[0]!);
      }),
    );
    expect(vols[0]!.dims).toEqual([64, 64, 1]);
    expect(Buffer.from(vols[1]!.data.buffer).equals(Buffer.from(vols[0]!.data.buffer))).toBe(true);
    expect(Buffer.from(vols[2]!.data.buffer).equals(Buffer.from(vols[0]!.data.buffer))).toBe(true);
  });

  it('multi-frame RT dose: frames become slices, z spacing from GridFrameOffsetVector', async () => {
    const info = await probeFile(pydicom('rtdose.dcm'), { validate: true });
    expect([info.width, info.height, info.slices]).toEqual([10, 10, 15]);
    expect(info.spacing).toEqual([10, 10, 5]);
  });

  it('RLE Lossless decodes to exactly the uncompressed data (grey, multi-frame, RGB 8/16-bit); JPEG baseline through libjpeg', async () => {
    const volume = async (name: string): Promise<Volume> => {
      const [s] = assembleSeries([await readDicomHeader(pydicom(name))]);
      return readDicomVolume(s!);
    };
    for (const [rle, raw] of [
      ['MR_small_RLE.dcm', 'MR_small.dcm'],
      ['rtdose_rle.dcm', 'rtdose.dcm'],
    ] as const) {
      const a = await volume(rle);
      const b = await volume(raw);
      expect(a.dims).toEqual(b.dims);
      expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true);
    }
    // pydicom's SC_rgb test pattern: row 5 is red, row 15 is (255, 128, 128); 16-bit scales to 65535/32896.
    const rgb = await volume('SC_rgb_rle_2frame.dcm');
    expect([rgb.dims, rgb.channels]).toEqual([[100, 100, 2], 3]);
    const px = (v: Volume, x: number, y: number, z: number): number[] => {
      const i = ((z * v.dims[1] + y) * v.dims[0] + x) * 3;
      return [...v.data.slice(i, i + 3)];
    };
    expect(px(rgb, 50, 5, 0)).toEqual([255, 0, 0]);
    expect(px(rgb, 50, 5, 1)).toEqual([0, 255, 255]); // the second frame is the inverse
    expect(px(rgb, 50, 15, 0)).toEqual([255, 128, 128]);
    expect(px(await volume('SC_rgb_rle_16bit.dcm'), 50, 15, 0)).toEqual([65535, 32896, 32896]);
    // JPEG baseline (YBR_FULL, dcmtk): lossy, so within 2 levels of the same pattern.
    const jpeg = await volume('SC_rgb_jpeg_dcmtk.dcm');
    const near = (a: number[], b: number[]): void =>
      a.forEach((v, i) => expect(Math.abs(v - (b[i] as number))).toBeLessThanOrEqual(2));
    near(px(jpeg, 50, 5, 0), [255, 0, 0]);
    near(px(jpeg, 50, 15, 0), [255, 128, 128]);
  });

  it('broken and unsupported files give the reason', async () => {
    expect((await caught(probeFile(pydicom('MR_truncated.dcm')))).message).toMatch(
      /unreadable DICOM: .*buffer overrun/,
    );
    const plan = await caught(probeFile(pydicom('rtplan.dcm')));
    expect([plan.code, plan.message]).toEqual(['corrupt_input', expect.stringMatching(/no pixel data \(7FE0,0010\)/)]);
    const j2k = await caught(readDicomVolume(assembleSeries([await readDicomHeader(pydicom('JPEG2000.dcm'))])[0]!));
    expect([j2k.code, j2k.message]).toEqual([
      'unsupported',
      'compressed DICOM (JPEG 2000, 1.2.840.10008.1.2.4.91) is not supported yet',
    ]);
  });
});

describe('DICOM series from a folder (generated with dcmjs)', () => {
  const series = path.join(dir, 'series');
  const nx = 6;
  const ny = 4;
  const nz = 5;
  // Slice k stored value = 100*k + 10*y + x; slope 2, intercept -100. Files named in shuffled order; positions run
  // along an oblique-free axial normal with 2.5 mm steps.
  const order = [3, 0, 4, 1, 2];
  mkdirSync(series, { recursive: true });
  for (const [i, k] of order.entries()) {
    const px = new Uint16Array(nx * ny);
    for (let y = 0; y < ny; y += 1) for (let x = 0; x < nx; x += 1) px[y * nx + x] = 100 * k + 10 * y + x;
    writeDicomSlice({
      file: path.join(series, `IM${i}.dcm`),
      seriesUid: '2.25.777',
      rows: ny,
      columns: nx,
      pixels: px,
      position: [-10, -20, 30 + 2.5 * k],
      instance: 10 - k, // instance numbers deliberately in reverse: position wins
      slope: 2,
      intercept: -100,
    });
  }
  // A second series in the same folder tree.
  mkdirSync(path.join(series, 'other'), { recursive: true });
  writeDicomSlice({
    file: path.join(series, 'other', 'x.dcm'),
    seriesUid: '2.25.888',
    rows: 2,
    columns: 2,
    pixels: new Uint16Array([1, 2, 3, 4]),
    position: [0, 0, 0],
    instance: 1,
  });

  it('groups by SeriesInstanceUID, sorts along the normal, applies slope/intercept', async () => {
    const { series: found } = await probeDicomFolder(series);
    expect(found.map((s) => s.seriesUid).sort()).toEqual(['2.25.777', '2.25.888']);
    const s = found.find((x) => x.seriesUid === '2.25.777')!;
    expect(s.dims).toEqual([nx, ny, nz]);
    expect(s.spacing[0]).toBeCloseTo(0.75, 6); // PixelSpacing [row 0.5, col 0.75]: x spacing is the column spacing
    expect(s.spacing[1]).toBeCloseTo(0.5, 6);
    expect(s.spacing[2]).toBeCloseTo(2.5, 6);
    const vol = await readDicomVolume(s);
    for (let k = 0; k < nz; k += 1) {
      for (const [x, y] of [
        [0, 0],
        [5, 3],
        [2, 1],
      ] as const) {
        expect(vol.data[(k * ny + y) * nx + x]).toBe((100 * k + 10 * y + x) * 2 - 100);
      }
    }
    // Affine (RAS): LPS position (-10, -20, 30) becomes (10, 20, 30); z step 2.5 mm.
    expect(vol.affine[0]![3]).toBeCloseTo(10, 6);
    expect(vol.affine[1]![3]).toBeCloseTo(20, 6);
    expect(vol.affine[2]![3]).toBeCloseTo(30, 6);
    expect(vol.affine[2]![2]).toBeCloseTo(2.5, 6);
    // Browsable on every axis.
    const axial = slice(vol, 2, 3);
    expect([axial.width, axial.height, axial.data[1 * nx + 2]]).toEqual([nx, ny, (300 + 12) * 2 - 100]);
    const coronal = slice(vol, 1, 2); // y = 2: W = X, H = Z
    expect([coronal.width, coronal.height, coronal.data[4 * nx + 1]]).toEqual([nx, nz, (400 + 20 + 1) * 2 - 100]);
    const sagittal = slice(vol, 0, 5); // x = 5: W = Y, H = Z
    expect([sagittal.width, sagittal.height, sagittal.data[2 * ny + 3]]).toEqual([ny, nz, (200 + 30 + 5) * 2 - 100]);
    expect(() => slice(vol, 2, nz)).toThrow(/slice 5 is out of range on axis 2 \(0 to 4\)/);
  });

  it('a sagittal series is ordered along its own normal (x), not by z or file name', async () => {
    const sag = path.join(dir, 'sagittal');
    mkdirSync(sag);
    // Rows along y, columns along -z: normal = row × col = (0,1,0) × (0,0,-1) = (-1, 0, 0).
    const xs = [3, 9, 0, 6]; // file order; sorted along the normal (-x): 9, 6, 3, 0
    xs.forEach((x, i) => {
      writeDicomSlice({
        file: path.join(sag, `f${i}.dcm`),
        seriesUid: '2.25.31415',
        rows: 2,
        columns: 2,
        pixels: new Uint16Array(4).fill(Math.round(x * 10) + 100),
        position: [x, 0, 0],
        orientation: [0, 1, 0, 0, 0, -1],
        instance: i + 1,
      });
    });
    const { series: found } = await probeDicomFolder(sag);
    const vol = await readDicomVolume(found[0]!);
    expect([0, 1, 2, 3].map((k) => vol.data[k * 4])).toEqual([190, 160, 130, 100]);
    expect(found[0]!.spacing[2]).toBeCloseTo(3, 6);
    // RAS affine: the slice axis (k) steps along -x in LPS, i.e. +x in RAS (first row negated).
    expect(vol.affine[0]![2]).toBeCloseTo(3, 6);
    expect(vol.affine[0]![3]).toBeCloseTo(-9, 6);
  });

  it('info on a folder with one series; window presets with their names', async () => {
    const one = path.join(dir, 'one-series');
    mkdirSync(one);
    for (let k = 0; k < 3; k += 1) {
      writeDicomSlice({
        file: path.join(one, `s${k}`),
        seriesUid: '2.25.5',
        rows: 2,
        columns: 2,
        pixels: new Uint16Array(4).fill(k),
        position: [0, 0, k],
        instance: k,
      });
    }
    const info = await probePath(one, { validate: true });
    expect([info.kind, info.width, info.height, info.slices]).toEqual(['dicom', 2, 2, 3]);
    expect(info.windowPresets).toEqual([
      { center: 40, width: 400, name: 'SOFT' },
      { center: 300, width: 1500, name: 'BONE' },
    ]);
    expect((await caught(probePath(series))).message).toMatch(/folder holds 2 DICOM series/);
  });

  it('a file without pixel data: clear error, and the patient name is never in it', async () => {
    const name = 'Doe^Johnathan';
    const file = path.join(dir, 'nopixels.dcm');
    writeDicomSlice({
      file,
      seriesUid: '2.25.9',
      rows: 2,
      columns: 2,
      pixels: null,
      position: [0, 0, 0],
      instance: 1,
      patientName: name,
    });
    const err = await caught(probeFile(file));
    expect(err.code).toBe('corrupt_input');
    expect(err.message).toMatch(/no pixel data/);
    expect(err.message).not.toMatch(/Johnathan|Doe|TEST-0001/);
    // Truncated pixel data: the message names sizes, never the patient (whose name is in the file).
    const px = new Uint16Array(16).fill(7);
    const full = path.join(dir, 'full.dcm');
    writeDicomSlice({
      file: full,
      seriesUid: '2.25.9',
      rows: 4,
      columns: 4,
      pixels: px,
      position: [0, 0, 0],
      instance: 1,
      patientName: name,
    });
    const bytes = readFileSync(full);
    const cut = path.join(dir, 'cut.dcm');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    const e2 = await caught(probeFile(cut));
    expect(e2.message).not.toMatch(/Johnathan|Doe|TEST-0001/);
  });
});

describe('NIfTI', () => {
  it('nibabel anatomical.nii: dims, spacing, qform/sform affine', async () => {
    const h = await readNiftiHeader(nibabel('anatomical.nii'));
    expect([h.dims, h.volumes, h.spacing, h.datatype]).toEqual([[33, 41, 25], 1, [2, 2, 2], 'int16']);
    expect(h.affine).toEqual([
      [-2, 0, 0, 32],
      [0, 2, 0, -40],
      [0, 0, 2, -16],
      [0, 0, 0, 1],
    ]);
    const info = await probeFile(nibabel('anatomical.nii'), { validate: true });
    expect([info.kind, info.width, info.height, info.slices, info.frames, info.spacing]).toEqual([
      'nifti',
      33,
      41,
      25,
      1,
      [2, 2, 2],
    ]);
  });

  it('.nii.gz, 4-D: nibabel example4d and the MRIcron ch2 brain', async () => {
    const ex = await readNifti(nibabel('example4d.nii.gz'), 1);
    expect([ex.header.dims, ex.header.volumes]).toEqual([[128, 96, 24], 2]);
    expect(ex.header.spacing[2]).toBeCloseTo(2.2, 5);
    const ch2 = debianFile('mricron-data', '/usr/share/mricron/templates/ch2.nii.gz');
    const { header, volume } = await readNifti(ch2);
    expect([header.dims, header.datatype, header.sformCode]).toEqual([[181, 217, 181], 'uint8', 4]);
    expect(header.affine[0]).toEqual([1, 0, 0, -90]);
    const mid = slice(volume, 2, 90);
    expect([mid.width, mid.height]).toEqual([181, 217]);
    let max = 0;
    for (const v of mid.data) max = Math.max(max, v);
    expect(max).toBeGreaterThan(100); // brain tissue in the middle slice
    expect(windowed(mid, 128, 256).length).toBe(181 * 217);
  });

  it('scl_slope / scl_inter are applied', async () => {
    const src = readFileSync(nibabel('anatomical.nii'));
    const scaled = Buffer.from(src);
    const le = src.readInt32LE(0) === 348; // anatomical.nii is big endian
    if (le) {
      scaled.writeFloatLE(2, 112);
      scaled.writeFloatLE(10, 116);
    } else {
      scaled.writeFloatBE(2, 112);
      scaled.writeFloatBE(10, 116);
    }
    const file = path.join(dir, 'scaled.nii.gz');
    writeFileSync(file, gzipSync(scaled));
    const a = await readNifti(nibabel('anatomical.nii'));
    const b = await readNifti(file);
    for (const i of [0, 100, 5000, a.volume.data.length - 1])
      expect(b.volume.data[i]).toBe((a.volume.data[i] as number) * 2 + 10);
  });

  it('a header claiming more voxels than the file holds is refused', async () => {
    const src = Buffer.from(readFileSync(nibabel('anatomical.nii')));
    const put = (v: number, at: number): number =>
      src.readInt32LE(0) === 348 ? src.writeInt16LE(v, at) : src.writeInt16BE(v, at);
    put(250, 46); // dim[3]: 25 → 250
    const file = path.join(dir, 'lying.nii');
    writeFileSync(file, src);
    const err = await caught(probeFile(file));
    expect(err.code).toBe('corrupt_input');
    expect(err.message).toMatch(
      /NIfTI header claims 33×41×250×1 voxels of int16 \(676500 bytes\) but the file holds 67650 bytes/,
    );
    // And a hostile size is refused by the voxel limit before any allocation.
    put(32767, 42);
    put(32767, 44);
    put(32767, 46);
    writeFileSync(file, src);
    expect((await caught(probeFile(file))).code).toBe('too_large');
  });

  it('a truncated .nii.gz', async () => {
    const gz = readFileSync(nibabel('example4d.nii.gz'));
    const file = path.join(dir, 'cut.nii.gz');
    writeFileSync(file, gz.subarray(0, gz.length >> 1));
    expect((await caught(probeFile(file))).message).toMatch(/truncated or corrupt \.nii\.gz/);
  });
});

it('slice() on a synthetic volume matches direct indexing on all axes', () => {
  const dims: [number, number, number] = [3, 4, 5];
  const data = new Float32Array(60).map((_, i) => i);
  const vol: Volume = { dims, channels: 1, spacing: [1, 1, 1], affine: [], data };
  const at = (x: number, y: number, z: number): number => (z * 4 + y) * 3 + x;
  expect(slice(vol, 2, 4).data[2 * 3 + 1]).toBe(at(1, 2, 4));
  expect(slice(vol, 1, 3).data[4 * 3 + 2]).toBe(at(2, 3, 4));
  expect(slice(vol, 0, 1).data[3 * 4 + 2]).toBe(at(1, 2, 3));
});
