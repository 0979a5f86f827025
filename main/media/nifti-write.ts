// Writes NIfTI-1 (.nii or .nii.gz) volumes: masks exported with the geometry of their source.
// With a NIfTI-1 little-endian source header as template, its qform/sform/pixdim are kept byte for byte.
import { gzipSync } from 'node:zlib';

export interface NiftiWriteInput {
  dims: [number, number, number];
  spacing: [number, number, number];
  /** Voxel → RAS mm, 4×4 row-major; written as the sform (code 2, aligned) when there is no template. */
  affine: number[][];
  data: Uint8Array;
  /** The source's header bytes (NiftiHeader.headerBytes). */
  template?: Uint8Array;
}

const HEADER = 348;
const VOX_OFFSET = 352;

export function encodeNifti(input: NiftiWriteInput, gzip: boolean): Buffer {
  const buf = Buffer.alloc(VOX_OFFSET + input.data.length);
  const t = input.template;
  const useTemplate = t !== undefined && t.length >= HEADER && Buffer.from(t.buffer, t.byteOffset, 4).readInt32LE(0) === HEADER;
  if (useTemplate) buf.set(t.subarray(0, HEADER), 0);
  buf.writeInt32LE(HEADER, 0);
  // dim[0..7]
  const dim = [3, input.dims[0], input.dims[1], input.dims[2], 1, 1, 1, 1];
  dim.forEach((d, i) => buf.writeInt16LE(d, 40 + i * 2));
  buf.writeInt16LE(2, 70); // datatype: uint8
  buf.writeInt16LE(8, 72); // bitpix
  if (!useTemplate) {
    const pixdim = [1, input.spacing[0], input.spacing[1], input.spacing[2], 1, 1, 1, 1];
    pixdim.forEach((p, i) => buf.writeFloatLE(p, 76 + i * 4));
    buf[123] = 2; // xyzt_units: mm
    buf.writeInt16LE(0, 252); // qform_code
    buf.writeInt16LE(2, 254); // sform_code: aligned anatomical
    for (let r = 0; r < 3; r += 1) {
      for (let c = 0; c < 4; c += 1) buf.writeFloatLE(input.affine[r]?.[c] ?? 0, 280 + r * 16 + c * 4);
    }
  }
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
