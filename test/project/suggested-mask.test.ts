// project.suggestedMask: one plane of a saved mask suggestion (a PNG for an image, an axial slice of a NIfTI volume),
// through the app's router (validation included).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ItemFilter } from '../../contract/project.js';
import { createAppServices, type AppServices } from '../../main/app/services.js';
import { encodePng } from '../../main/media/image.js';
import { encodeNifti } from '../../main/media/nifti-write.js';
import { ProjectStore } from '../../main/project/store.js';
import { tempDir } from '../media/helpers.js';

const { dir, cleanup } = tempDir('ssm-suggested-mask-');
const ALL: ItemFilter = { status: 'all', className: null, split: null, kind: 'all', search: '' };
const ctx = { transport: 'test' as const };
let services: AppServices;
const project = path.join(dir, 'project');
let id = 0;
const b64 = (a: number[]): string => Buffer.from(new Uint8Array(a)).toString('base64');

beforeAll(async () => {
  services = createAppServices({ mode: 'browser', dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache') });
  await sharp({ create: { width: 3, height: 2, channels: 3, background: '#888' } })
    .png()
    .toFile(path.join(dir, 'grey.png'));
  ProjectStore.open(project).close();
  const done = new Promise<void>((resolve) => {
    services.jobs.on('job', (j) => {
      if (j.kind === 'import' && j.finishedAt !== null) resolve();
    });
  });
  await services.router.invoke(
    'jobs.start',
    { kind: 'import', params: { project, paths: [path.join(dir, 'grey.png')] } },
    ctx,
  );
  await done;
  [id] = (await services.router.invoke('project.itemIds', { dir: project, filter: ALL }, ctx)) as [number];
  const folder = path.join(project, 'suggestions', 'seg');
  mkdirSync(folder, { recursive: true });
  const png = path.join(folder, `item-${id}.png`);
  writeFileSync(
    png,
    await encodePng({ width: 3, height: 2, channels: 1, bitDepth: 8, data: new Uint8Array([0, 1, 0, 2, 0, 1]) }),
  );
  // A 3×2×2 volume: slice 1 holds the foreground.
  const nii = path.join(folder, `item-${id}-volume.nii.gz`);
  const vol = new Uint8Array([0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  const affine = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  writeFileSync(nii, encodeNifti({ dims: [3, 2, 2], spacing: [1, 1, 1], affine, data: vol }, true));
  writeFileSync(
    path.join(project, 'suggestions', 'seg.json'),
    JSON.stringify([{ itemId: id, kind: 'mask', axis: 2, slices: 1, file: png, foreground: 0.5 }]),
  );
  writeFileSync(
    path.join(project, 'suggestions', 'vol.json'),
    JSON.stringify([{ itemId: id, kind: 'mask', axis: 2, slices: 2, file: nii, foreground: 2 / 12 }]),
  );
  writeFileSync(
    path.join(project, 'suggestions', 'outside.json'),
    JSON.stringify([{ itemId: id, kind: 'mask', axis: 2, slices: 1, file: path.join(dir, 'grey.png'), foreground: 1 }]),
  );
});
afterAll(async () => {
  await services.dispose();
  cleanup();
});

describe('project.suggestedMask', () => {
  it('reads the class indices of a PNG mask suggestion', async () => {
    const m = await services.router.invoke(
      'project.suggestedMask',
      { dir: project, itemId: id, model: 'seg', axis: 2, slice: 0 },
      ctx,
    );
    expect(m).toEqual({ width: 3, height: 2, dataBase64: b64([0, 1, 0, 2, 0, 1]) });
  });

  it('reads one axial slice of a NIfTI mask suggestion', async () => {
    const at = async (slice: number): Promise<unknown> =>
      services.router.invoke('project.suggestedMask', { dir: project, itemId: id, model: 'vol', axis: 2, slice }, ctx);
    expect(await at(0)).toEqual({ width: 3, height: 2, dataBase64: b64([0, 0, 0, 0, 0, 0]) });
    expect(await at(1)).toEqual({ width: 3, height: 2, dataBase64: b64([1, 0, 0, 0, 0, 1]) });
    await expect(at(2)).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('is null for a model without a mask suggestion, and refuses files outside suggestions/', async () => {
    expect(
      await services.router.invoke(
        'project.suggestedMask',
        { dir: project, itemId: id, model: 'none', axis: 2, slice: 0 },
        ctx,
      ),
    ).toBeNull();
    await expect(
      services.router.invoke(
        'project.suggestedMask',
        { dir: project, itemId: id, model: 'outside', axis: 2, slice: 0 },
        ctx,
      ),
    ).rejects.toMatchObject({ code: 'bad_request' });
    await expect(
      services.router.invoke('project.suggestedMask', { dir: project, itemId: id, model: '', axis: 2, slice: 0 }, ctx),
    ).rejects.toMatchObject({ code: 'bad_request' });
  });
});
