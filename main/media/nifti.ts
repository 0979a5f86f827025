// NIfTI-1/2 (.nii, .nii.gz) volumes: orientation (qform/sform affine) and voxel spacing kept, scl_slope/inter applied.
// The header's size claim is checked against the bytes actually present before anything is read.
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

import * as nifti from 'nifti-reader-js';

import type { SampleType } from '../../contract/media.js';
import { AppError } from '../ipc/app-error.js';
import { checkVoxels } from './limits.js';
import type { Volume } from './volume.js';

/** The most decompressed bytes a .nii.gz may expand to (a gzip bomb stops here). */
const MAX_NIFTI_BYTES = 4 * 1024 ** 3 - 1;

const TYPES: Record<number, { type: SampleType | 'int8'; bytes: number; name: string }> = {
  2: { type: 'uint8', bytes: 1, name: 'uint8' },
  4: { type: 'int16', bytes: 2, name: 'int16' },
  8: { type: 'int32', bytes: 4, name: 'int32' },
  16: { type: 'float32', bytes: 4, name: 'float32' },
  64: { type: 'float64', bytes: 8, name: 'float64' },
  256: { type: 'int8', bytes: 1, name: 'int8' },
  512: { type: 'uint16', bytes: 2, name: 'uint16' },
  768: { type: 'uint32', bytes: 4, name: 'uint32' },
};

/** The raw orientation fields of a NIfTI-1/2 header, so a derived volume (a mask) can be written with the same geometry. */
export interface NiftiGeometry {
  pixdim: number[];
  qformCode: number;
  sformCode: number;
  /** quatern_b, quatern_c, quatern_d */
  quatern: [number, number, number];
  /** qoffset_x, qoffset_y, qoffset_z */
  qoffset: [number, number, number];
  /** srow_x, srow_y, srow_z (12 values) */
  srow: number[];
  xyztUnits: number;
}

export interface NiftiHeader {
  version: 1 | 2;
  /** Spatial dims (X, Y, Z) and the number of volumes (T, 1 for 3-D). */
  dims: [number, number, number];
  volumes: number;
  spacing: [number, number, number];
  datatype: string;
  datatypeCode: number;
  sampleType: SampleType;
  bitDepth: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  affine: number[][];
  voxOffset: number;
  littleEndian: boolean;
  /** The raw header bytes (first vox_offset bytes). */
  headerBytes: Uint8Array;
  geometry: NiftiGeometry;
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

async function loadBytes(file: string): Promise<ArrayBuffer> {
  const raw = await readFile(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return toArrayBuffer(gunzipSync(raw, { maxOutputLength: MAX_NIFTI_BYTES }));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new AppError('corrupt_input', `truncated or corrupt .nii.gz: ${msg}`);
    }
  }
  return toArrayBuffer(raw);
}

function parseHeader(ab: ArrayBuffer): NiftiHeader {
  if (!nifti.isNIFTI(ab))
    throw new AppError('corrupt_input', 'not a NIfTI file (no n+1/ni1/n+2 magic at the expected offset)');
  let h: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    h = nifti.readHeader(ab);
  } catch (err) {
    throw new AppError('corrupt_input', `unreadable NIfTI header: ${err instanceof Error ? err.message : String(err)}`);
  }
  const nd = h.dims[0] ?? 0;
  if (nd < 2 || nd > 7) throw new AppError('corrupt_input', `NIfTI header claims ${nd} dimensions (expected 2 to 7)`);
  const dim = (i: number): number => (i <= nd ? (h.dims[i] ?? 1) : 1);
  const dims: [number, number, number] = [dim(1), dim(2), dim(3)];
  let volumes = 1;
  for (let i = 4; i <= nd; i += 1) volumes *= dim(i);
  checkVoxels([...dims, volumes], 'NIfTI header');
  const t = TYPES[h.datatypeCode];
  if (!t)
    throw new AppError(
      'unsupported',
      `NIfTI datatype ${h.datatypeCode} (${h.getDatatypeCodeString(h.datatypeCode)}) is not supported`,
    );
  const voxOffset = Math.max(Math.floor(h.vox_offset), h instanceof nifti.NIFTI2 ? 544 : 352);
  const need = dims[0] * dims[1] * dims[2] * volumes * t.bytes;
  const have = ab.byteLength - voxOffset;
  if (have < need) {
    throw new AppError(
      'corrupt_input',
      `NIfTI header claims ${dims.join('×')}×${volumes} voxels of ${t.name} (${need} bytes) but the file holds ${Math.max(0, have)} bytes of voxel data`,
    );
  }
  const spacing: [number, number, number] = [
    Math.abs(h.pixDims[1] ?? 1) || 1,
    Math.abs(h.pixDims[2] ?? 1) || 1,
    Math.abs(h.pixDims[3] ?? 1) || 1,
  ];
  const srow = [...(h.affine[0] ?? []), ...(h.affine[1] ?? []), ...(h.affine[2] ?? [])];
  if (h instanceof nifti.NIFTI1 && h.sform_code > 0) {
    // nifti-reader keeps only the affine it chose; the sform rows are read as stored.
    const view = new DataView(ab, 0, 348);
    for (let i = 0; i < 12; i += 1) srow[i] = view.getFloat32(280 + i * 4, h.littleEndian);
  }
  const geometry: NiftiGeometry = {
    pixdim: Array.from({ length: 8 }, (_, i) => h.pixDims[i] ?? 0),
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    quatern: [h.quatern_b, h.quatern_c, h.quatern_d],
    qoffset: [h.qoffset_x, h.qoffset_y, h.qoffset_z],
    srow,
    xyztUnits: h.xyzt_units,
  };
  return {
    geometry,
    version: h instanceof nifti.NIFTI2 ? 2 : 1,
    dims,
    volumes,
    spacing,
    datatype: t.name,
    datatypeCode: h.datatypeCode,
    sampleType: t.type === 'int8' ? 'int16' : t.type,
    bitDepth: t.bytes * 8,
    sclSlope: h.scl_slope,
    sclInter: h.scl_inter,
    qformCode: h.qform_code,
    sformCode: h.sform_code,
    affine: h.affine.map((row) => [...row]),
    voxOffset,
    littleEndian: h.littleEndian,
    headerBytes: new Uint8Array(ab.slice(0, voxOffset)),
  };
}

export async function readNiftiHeader(file: string): Promise<NiftiHeader> {
  return parseHeader(await loadBytes(file));
}

/** Reads one 3-D volume (index `t` of a 4-D series) with scl_slope/inter applied. */
export async function readNifti(file: string, t = 0): Promise<{ header: NiftiHeader; volume: Volume }> {
  const ab = await loadBytes(file);
  const header = parseHeader(ab);
  if (!Number.isInteger(t) || t < 0 || t >= header.volumes) {
    throw new AppError('not_found', `volume ${t} is out of range (the file has ${header.volumes})`, 'params.volume');
  }
  const n = header.dims[0] * header.dims[1] * header.dims[2];
  const bytes = TYPES[header.datatypeCode]?.bytes ?? 1;
  const view = new DataView(ab, header.voxOffset + t * n * bytes, n * bytes);
  const le = header.littleEndian;
  const read: (i: number) => number =
    header.datatype === 'uint8'
      ? (i) => view.getUint8(i)
      : header.datatype === 'int8'
        ? (i) => view.getInt8(i)
        : header.datatype === 'int16'
          ? (i) => view.getInt16(i * 2, le)
          : header.datatype === 'uint16'
            ? (i) => view.getUint16(i * 2, le)
            : header.datatype === 'int32'
              ? (i) => view.getInt32(i * 4, le)
              : header.datatype === 'uint32'
                ? (i) => view.getUint32(i * 4, le)
                : header.datatype === 'float32'
                  ? (i) => view.getFloat32(i * 4, le)
                  : (i) => view.getFloat64(i * 8, le);
  // scl_slope 0 means "no scaling" (NIfTI-1 standard).
  const slope = header.sclSlope && Number.isFinite(header.sclSlope) ? header.sclSlope : 1;
  const inter = slope !== 1 || header.sclSlope ? (Number.isFinite(header.sclInter) ? header.sclInter : 0) : 0;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i += 1) data[i] = read(i) * slope + inter;
  return { header, volume: { dims: header.dims, channels: 1, spacing: header.spacing, affine: header.affine, data } };
}
