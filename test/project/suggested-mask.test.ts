// project.suggestedMask: one plane of a saved mask suggestion (a PNG for an image, an axial slice of a NIfTI volume),
// through the app's router (validation included), its model's classes mapped onto the project's mask values by name.
// The suggestions are saved under the ids of two shipped models (their cards give the class names): the classifier
// fashion-mnist-s4nd stands in for a 10-class segmenter, brain-mri-s4nd-unet is a one-class ("brain") segmenter.
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
    path.join(project, 'suggestions', 'fashion-mnist-s4nd.json'),
    JSON.stringify([{ itemId: id, kind: 'mask', axis: 2, slices: 1, file: png, foreground: 0.5 }]),
  );
  writeFileSync(
    path.join(project, 'suggestions', 'brain-mri-s4nd-unet.json'),
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
  it("maps a PNG mask suggestion's classes onto the project's mask values by name", async () => {
    // Project values: zebra 1, yak 2, Trouser 3 (the model's class 2); the model's class 1 (T-shirt/top) is unknown.
    for (const name of ['zebra', 'yak', 'Trouser'])
      await services.router.invoke('project.addClass', { dir: project, name }, ctx);
    const summary = (await services.router.invoke('project.open', { dir: project }, ctx)) as {
      maskClasses: { value: number; name: string }[];
    };
    expect(summary.maskClasses).toEqual([
      { value: 1, name: 'zebra' },
      { value: 2, name: 'yak' },
      { value: 3, name: 'Trouser' },
    ]);
    const get = (paintValue?: number): Promise<unknown> =>
      services.router.invoke(
        'project.suggestedMask',
        {
          dir: project,
          itemId: id,
          model: 'fashion-mnist-s4nd',
          axis: 2,
          slice: 0,
          ...(paintValue ? { paintValue } : {}),
        },
        ctx,
      );
    const m = (await get(2)) as { dataBase64: string; classes: unknown[] };
    expect(m).toMatchObject({ width: 3, height: 2, dataBase64: b64([0, 2, 0, 3, 0, 2]) });
    expect(m.classes.slice(0, 2)).toEqual([
      { name: 'T-shirt/top', value: 2, matched: false },
      { name: 'Trouser', value: 3, matched: true },
    ]);
    // Without a paint value an unknown class stays background.
    expect(await get()).toMatchObject({ dataBase64: b64([0, 0, 0, 3, 0, 0]) });
  });

  it('reads one axial slice of a NIfTI mask suggestion', async () => {
    const at = async (slice: number): Promise<unknown> =>
      services.router.invoke(
        'project.suggestedMask',
        { dir: project, itemId: id, model: 'brain-mri-s4nd-unet', axis: 2, slice, paintValue: 1 },
        ctx,
      );
    const classes = [{ name: 'brain', value: 1, matched: false }];
    expect(await at(0)).toEqual({ width: 3, height: 2, dataBase64: b64([0, 0, 0, 0, 0, 0]), classes });
    expect(await at(1)).toEqual({ width: 3, height: 2, dataBase64: b64([1, 0, 0, 0, 0, 1]), classes });
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
