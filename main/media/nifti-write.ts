// Writes NIfTI-1 (.nii or .nii.gz, little endian) volumes: masks exported with the geometry of their source.
// Given the source's NiftiGeometry, its qform, sform, pixdim and units are written unchanged; otherwise the affine
// becomes the sform (code 2, aligned anatomical).
import { gzipSync } from 'node:zlib';

import type { NiftiGeometry } from './nifti.js';

export interface NiftiWriteInput {
  dims: [number, number, number];
  spacing: [number, number, number];
  /** Voxel → RAS mm, 4×4 row-major; written as the sform (code 2, aligned) when there is no template. */
  affine: number[][];
  data: Uint8Array;
  /** The source's orientation fields (NiftiHeader.geometry). */
  geometry?: NiftiGeometry;
}

const HEADER = 348;
const VOX_OFFSET = 352;

export function encodeNifti(input: NiftiWriteInput, gzip: boolean): Buffer {
  const buf = Buffer.alloc(VOX_OFFSET + input.data.length);
  buf.writeInt32LE(HEADER, 0);
  // dim[0..7]
  const dim = [3, input.dims[0], input.dims[1], input.dims[2], 1, 1, 1, 1];
  dim.forEach((d, i) => buf.writeInt16LE(d, 40 + i * 2));
  buf.writeInt16LE(2, 70); // datatype: uint8
  buf.writeInt16LE(8, 72); // bitpix
  const g = input.geometry;
  const pixdim = g
    ? [...g.pixdim.slice(0, 4), 1, 1, 1, 1]
    : [1, input.spacing[0], input.spacing[1], input.spacing[2], 1, 1, 1, 1];
  pixdim.forEach((p, i) => buf.writeFloatLE(p, 76 + i * 4));
  buf[123] = g ? g.xyztUnits & 0x07 : 2; // spatial units (mm by default)
  buf.writeInt16LE(g ? g.qformCode : 0, 252);
  buf.writeInt16LE(g ? g.sformCode : 2, 254);
  if (g) {
    g.quatern.forEach((q, i) => buf.writeFloatLE(q, 256 + i * 4));
    g.qoffset.forEach((q, i) => buf.writeFloatLE(q, 268 + i * 4));
  }
  const srow = g ? g.srow : [0, 1, 2].flatMap((r) => [0, 1, 2, 3].map((c) => input.affine[r]?.[c] ?? 0));
  srow.forEach((v, i) => buf.writeFloatLE(v, 280 + i * 4));
  buf.writeFloatLE(VOX_OFFSET, 108); // vox_offset
  buf.writeFloatLE(1, 112); // scl_slope
  buf.writeFloatLE(0, 116); // scl_inter
  buf.writeFloatLE(0, 124); // cal_max
  buf.writeFloatLE(0, 128); // cal_min
  buf.write('n+1\0', 344, 'latin1');
  buf.fill(0, HEADER, VOX_OFFSET); // no extensions
  buf.set(input.data, VOX_OFFSET);
  return gzip ? gzipSync(buf) : buf;
}
