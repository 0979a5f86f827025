// media.voxel: the raw value of one voxel in the volume's units and its position in mm. CT_small.dcm (a CT slice with
// rescale intercept -1024: values in HU) and anatomical.nii, each checked against the file read independently of the
// handler's cache: the stored integer pixel × slope + intercept (DICOM), the NIfTI reader's data and affine.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { mediaHandlers } from '../../main/app/handlers/media.js';
import { ROOT } from '../../main/app/paths.js';
import type { CallContext } from '../../main/ipc/router.js';
import { mediaSchemas } from '../../main/ipc/schemas/media.js';
import { assembleSeries, readDicomHeader, readDicomVolume } from '../../main/media/dicom.js';
import { readNifti } from '../../main/media/nifti.js';

const h = mediaHandlers();
const ctx = {} as CallContext;
const CT = path.join(ROOT, 'samples/medical/CT_small.dcm');
const NII = path.join(ROOT, 'samples/medical/anatomical.nii');

describe('media.voxel', () => {
  it('a CT voxel in HU (rescale applied) with its position in mm', async () => {
    const header = await readDicomHeader(CT);
    expect(header.intercept).not.toBe(0); // the rescale matters for this file
    const volume = await readDicomVolume(assembleSeries([header])[0]!);
    const [nx] = volume.dims;
    const at = { x: 40, y: 60, z: 0 };
    const r = await h['media.voxel']({ path: CT, ...at }, ctx);
    expect(r.unit).toBe('HU');
    expect(r.voxel).toEqual([40, 60, 0]);
    expect(r.value).toBe(volume.data[at.y * nx + at.x]);
    // The stored value is an integer pixel times slope plus intercept.
    expect(Number.isInteger((r.value - header.intercept) / header.slope)).toBe(true);
    const a = volume.affine;
    for (let i = 0; i < 3; i++) {
      const row = a[i]!;
      expect(r.mm[i]).toBeCloseTo(row[0]! * 40 + row[1]! * 60 + row[3]!, 6);
    }
  });

  it('a NIfTI voxel: its value and world position from the sform/qform', async () => {
    const { volume } = await readNifti(NII);
    const [nx, ny] = volume.dims;
    const at = { x: 16, y: 20, z: 12 };
    const r = await h['media.voxel']({ path: NII, ...at }, ctx);
    expect(r.value).toBe(volume.data[(at.z * ny + at.y) * nx + at.x]);
    expect(r.value).not.toBe(0);
    expect(r.unit).toBeNull();
    const mm = [0, 1, 2].map((i) => {
      const row = volume.affine[i]!;
      return row[0]! * at.x + row[1]! * at.y + row[2]! * at.z + row[3]!;
    });
    r.mm.forEach((v, i) => expect(v).toBeCloseTo(mm[i]!, 6));
  });

  it('refuses a voxel outside the volume and bad params', async () => {
    await expect(h['media.voxel']({ path: NII, x: 33, y: 0, z: 0 }, ctx)).rejects.toThrow(/outside the 33×41×25/);
    expect(mediaSchemas['media.voxel'].safeParse({ path: NII, x: -1, y: 0, z: 0 }).success).toBe(false);
    expect(mediaSchemas['media.voxel'].safeParse({ path: 'rel.nii', x: 0, y: 0, z: 0 }).success).toBe(false);
  });
});
