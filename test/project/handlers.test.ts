// The media and project methods through the app's router (validation included) and the import job through the job host.
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { JobInfo } from '../../contract/jobs.js';
import { ROOT } from '../../main/app/paths.js';
import { createAppServices, type AppServices } from '../../main/app/services.js';
import { nibabel, pydicom, tempDir } from '../media/helpers.js';

const { dir, cleanup } = tempDir('ssm-handlers-');
let services: AppServices;
const ctx = { transport: 'test' as const };

beforeAll(async () => {
  services = createAppServices({ mode: 'browser', dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache') });
  for (const name of ['a', 'b']) {
    await sharp({ create: { width: 10, height: 8, channels: 3, background: name === 'a' ? '#f00' : '#00f' } })
      .png()
      .toFile(path.join(dir, `${name}.png`));
  }
});
afterAll(async () => {
  await services.dispose();
  cleanup();
});

describe('router: media and project methods', () => {
  it('media.info validates its params and probes', async () => {
    const info = await services.router.invoke('media.info', { path: path.join(dir, 'a.png') }, ctx);
    expect(info).toMatchObject({ kind: 'image', width: 10, height: 8 });
    const reply = await services.router.dispatch(
      { type: 'request', id: 1, method: 'media.info', params: { path: 'relative.png' } },
      ctx,
    );
    expect(reply).toMatchObject({ ok: false, error: { code: 'bad_request', path: 'params.path' } });
  });

  it('import job, then labels, undo/redo and an export through project.*', async () => {
    const project = path.join(dir, 'project');
    const done = new Promise<JobInfo>((resolve) => {
      services.jobs.on('job', (j) => {
        if (j.kind === 'import' && j.finishedAt !== null) resolve(j);
      });
    });
    await services.router.invoke('jobs.start', { kind: 'import', params: { project, paths: [dir] } }, ctx);
    const job = await done;
    expect(job.state).toBe('done');
    expect(job.result).toMatchObject({ imported: 2, skipped: [] });

    const items = await services.router.invoke('project.items', { dir: project, offset: 0, limit: 10 }, ctx);
    expect(items).toHaveLength(2);
    const id = items[0]!.id;
    let s = await services.router.invoke(
      'project.setLabel',
      { dir: project, itemId: id, className: 'red', frameStart: null, frameEnd: null },
      ctx,
    );
    expect([s.labels, s.canUndo]).toEqual([1, true]);
    s = await services.router.invoke('project.undo', { dir: project }, ctx);
    expect([s.labels, s.canRedo]).toEqual([0, true]);
    s = await services.router.invoke('project.redo', { dir: project }, ctx);
    expect(s.labels).toBe(1);
    expect(await services.router.invoke('project.labels', { dir: project, itemId: id }, ctx)).toEqual([
      { itemId: id, className: 'red', frameStart: null, frameEnd: null },
    ]);
    const out = path.join(dir, 'labels.csv');
    expect(await services.router.invoke('project.export', { dir: project, format: 'labels-csv', out }, ctx)).toEqual({
      out,
      files: 1,
    });
    const bad = await services.router.dispatch(
      { type: 'request', id: 2, method: 'project.export', params: { dir: project, format: 'xlsx', out } },
      ctx,
    );
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request', path: 'params.format' } });
  });

  it('media.frame and media.slice return PNG pictures for display', async () => {
    const small = await services.router.invoke(
      'media.frame',
      { path: path.join(dir, 'a.png'), frame: 0, maxSize: 16 },
      ctx,
    );
    expect([small.width, small.height]).toEqual([10, 8]); // never enlarged
    const frame = await services.router.invoke(
      'media.frame',
      { path: path.join(ROOT, 'samples/video/vtest-4s.mp4'), frame: 39, maxSize: 96 },
      ctx,
    );
    expect([frame.width, frame.height]).toEqual([96, 72]);
    const png = Buffer.from(frame.pngBase64, 'base64');
    expect((await sharp(png).metadata()).format).toBe('png');
    const nii = nibabel('anatomical.nii');
    const axial = await services.router.invoke('media.slice', { path: nii, axis: 2, index: 12, window: null }, ctx);
    expect([axial.width, axial.height]).toEqual([33, 41]);
    expect(axial.window.width).toBeGreaterThan(0);
    const sagittal = await services.router.invoke(
      'media.slice',
      { path: nii, axis: 0, index: 16, window: { center: 0, width: 100 } },
      ctx,
    );
    expect([sagittal.width, sagittal.height, sagittal.window]).toEqual([41, 25, { center: 0, width: 100 }]);
    const ct = await services.router.invoke(
      'media.slice',
      { path: pydicom('MR_small.dcm'), axis: 2, index: 0, window: null },
      ctx,
    );
    expect(ct.window).toEqual({ center: 600, width: 1600 }); // the file's preset
    const out = await services.router.dispatch(
      { type: 'request', id: 3, method: 'media.slice', params: { path: nii, axis: 2, index: 25, window: null } },
      ctx,
    );
    expect(out).toMatchObject({
      ok: false,
      error: { code: 'not_found', message: 'slice 25 is out of range on axis 2 (0 to 24)' },
    });
  });
});
