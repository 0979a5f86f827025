// The library, labeling and media methods the renderer uses, through the app's router (validation included).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ItemFilter } from '../../contract/project.js';
import { createAppServices, type AppServices } from '../../main/app/services.js';
import { ProjectStore } from '../../main/project/store.js';
import { tempDir } from '../media/helpers.js';

const { dir, cleanup } = tempDir('ssm-handlers-library-');
const ALL: ItemFilter = { status: 'all', className: null, split: null, kind: 'all', search: '' };
const ctx = { transport: 'test' as const };
let services: AppServices;
const project = path.join(dir, 'project');
let ids: number[] = [];

beforeAll(async () => {
  services = createAppServices({ mode: 'browser', dataDir: path.join(dir, 'data'), cacheDir: path.join(dir, 'cache') });
  const samples = new Uint16Array(6 * 4).map((_, i) => 1000 * i);
  await sharp(samples, { raw: { width: 6, height: 4, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(path.join(dir, 'deep.png'));
  await sharp({ create: { width: 5, height: 3, channels: 3, background: '#0f0' } })
    .png()
    .toFile(path.join(dir, 'green.png'));
  const store = ProjectStore.open(project);
  store.close();
  const done = new Promise<void>((resolve) => {
    services.jobs.on('job', (j) => {
      if (j.kind === 'import' && j.finishedAt !== null) resolve();
    });
  });
  await services.router.invoke(
    'jobs.start',
    { kind: 'import', params: { project, paths: [path.join(dir, 'deep.png'), path.join(dir, 'green.png')] } },
    ctx,
  );
  await done;
  ids = await services.router.invoke('project.itemIds', { dir: project, filter: ALL }, ctx);
});
afterAll(async () => {
  await services.dispose();
  cleanup();
});

describe('router: library and labeling methods', () => {
  it('remembers opened projects, most recent first, across service restarts', async () => {
    expect(await services.router.invoke('project.recent', {}, ctx)).toEqual([]);
    const other = path.join(dir, 'other');
    await services.router.invoke('project.open', { dir: other }, ctx);
    await services.router.invoke('project.open', { dir: project }, ctx);
    expect(await services.router.invoke('project.recent', {}, ctx)).toEqual([project, other]);
    const again = createAppServices({
      mode: 'browser',
      dataDir: path.join(dir, 'data'),
      cacheDir: path.join(dir, 'c2'),
    });
    expect(await again.router.invoke('project.recent', {}, ctx)).toEqual([project, other]);
    await again.dispose();
  });

  it('pages filtered items, gets one with its info, and bulk-labels in one undoable edit', async () => {
    expect(ids).toHaveLength(2);
    const page = await services.router.invoke(
      'project.query',
      { dir: project, filter: { ...ALL, search: 'GREEN' }, offset: 0, limit: 10 },
      ctx,
    );
    expect(page.total).toBe(1);
    const item = await services.router.invoke('project.item', { dir: project, itemId: page.items[0]!.id }, ctx);
    expect(item).toMatchObject({ className: null, info: { width: 5, height: 3, kind: 'image' } });
    let s = await services.router.invoke('project.setLabels', { dir: project, itemIds: ids, className: 'leaf' }, ctx);
    expect(s.labels).toBe(2);
    s = await services.router.invoke('project.undo', { dir: project }, ctx);
    expect(s.labels).toBe(0);
    const bad = await services.router.dispatch(
      { type: 'request', id: 1, method: 'project.query', params: { dir: project, filter: { ...ALL, kind: 'audio' } } },
      ctx,
    );
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('stores masks and review states per slice, checking the mask size', async () => {
    const id = ids[1]!;
    const data = Buffer.from(new Uint8Array([0, 1, 1, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 1])).toString('base64');
    await services.router.invoke(
      'project.setMask',
      { dir: project, itemId: id, axis: 2, slice: 0, mask: { width: 5, height: 3, dataBase64: data } },
      ctx,
    );
    expect(await services.router.invoke('project.mask', { dir: project, itemId: id, axis: 2, slice: 0 }, ctx)).toEqual({
      width: 5,
      height: 3,
      dataBase64: data,
    });
    await expect(
      services.router.invoke(
        'project.setMask',
        { dir: project, itemId: id, axis: 2, slice: 0, mask: { width: 4, height: 3, dataBase64: data } },
        ctx,
      ),
    ).rejects.toThrow(/mask has 15 bytes, expected 4×3/);
    // Deflated masks (what the renderer sends) are stored as the same bytes; garbage and oversize data are refused.
    const big = new Uint8Array(5 * 3).fill(3);
    const deflated = deflateSync(big).toString('base64');
    await services.router.invoke(
      'project.setMask',
      {
        dir: project,
        itemId: id,
        axis: 2,
        slice: 1,
        mask: { width: 5, height: 3, dataBase64: deflated, encoding: 'deflate' },
      },
      ctx,
    );
    const back = await services.router.invoke('project.mask', { dir: project, itemId: id, axis: 2, slice: 1 }, ctx);
    expect(Buffer.from(back!.dataBase64, 'base64')).toEqual(Buffer.from(big));
    const bomb = deflateSync(new Uint8Array(1_000_000)).toString('base64');
    await expect(
      services.router.invoke(
        'project.setMask',
        {
          dir: project,
          itemId: id,
          axis: 2,
          slice: 1,
          mask: { width: 5, height: 3, dataBase64: bomb, encoding: 'deflate' },
        },
        ctx,
      ),
    ).rejects.toThrow(/not zlib-deflated 5×3 bytes/);
    await expect(
      services.router.invoke(
        'project.setMask',
        {
          dir: project,
          itemId: id,
          axis: 2,
          slice: 1,
          mask: { width: 5, height: 3, dataBase64: 'AAAA', encoding: 'deflate' },
        },
        ctx,
      ),
    ).rejects.toThrow(/not zlib-deflated/);
    await services.router.invoke(
      'project.setReview',
      { dir: project, itemId: id, axis: 2, slice: 0, state: 'needs_work' },
      ctx,
    );
    expect(await services.router.invoke('project.reviews', { dir: project, itemId: id }, ctx)).toEqual([
      { itemId: id, axis: 2, slice: 0, state: 'needs_work' },
    ]);
    const s = await services.router.invoke('project.undo', { dir: project }, ctx);
    expect(s.canRedo).toBe(true);
    expect(await services.router.invoke('project.reviews', { dir: project, itemId: id }, ctx)).toEqual([]);
  });

  it('reads saved model suggestions per item and filters the predicted items', async () => {
    const [a, b] = ids as [number, number];
    expect(await services.router.invoke('project.suggestions', { dir: project, itemId: a }, ctx)).toEqual([]);
    mkdirSync(path.join(project, 'suggestions'), { recursive: true });
    const top = [{ index: 1, label: 'Leaf', p: 0.75 }];
    writeFileSync(path.join(project, 'suggestions', 'm1.json'), JSON.stringify([{ itemId: b, kind: 'class', top }]));
    writeFileSync(path.join(project, 'suggestions', 'broken.json'), '[{"itemId": ');
    expect(await services.router.invoke('project.suggestions', { dir: project, itemId: b }, ctx)).toEqual([
      { itemId: b, kind: 'class', top, model: 'm1' },
    ]);
    const predicted = { ...ALL, status: 'predicted' as const };
    expect(await services.router.invoke('project.itemIds', { dir: project, filter: predicted }, ctx)).toEqual([b]);
    const page = await services.router.invoke(
      'project.query',
      { dir: project, filter: predicted, offset: 0, limit: 5 },
      ctx,
    );
    expect(page.total).toBe(1);
    await expect(services.router.invoke('project.suggestions', { dir: project, itemId: 999 }, ctx)).rejects.toThrow(
      /no item with id 999/,
    );
  });

  it('writes uploaded bytes into imported/ without overwriting, and only under media file names', async () => {
    const dataBase64 = Buffer.from('not really a png').toString('base64');
    const first = await services.router.invoke(
      'project.upload',
      { dir: project, name: '../../x.png', dataBase64 },
      ctx,
    );
    expect(first.path).toBe(path.join(project, 'imported', 'x.png'));
    const second = await services.router.invoke('project.upload', { dir: project, name: 'x.png', dataBase64 }, ctx);
    expect(second.path).toBe(path.join(project, 'imported', 'x-2.png'));
    await expect(
      services.router.invoke('project.upload', { dir: project, name: 'run.sh', dataBase64 }, ctx),
    ).rejects.toThrow(/not a media file name/);
    await expect(
      services.router.invoke('project.upload', { dir: project, name: '.hidden.png', dataBase64 }, ctx),
    ).rejects.toThrow(/not a media file name/);
  });

  it('reads 16-bit samples at full depth with media.pixels, and names the demo project and samples', async () => {
    const px = await services.router.invoke('media.pixels', { path: path.join(dir, 'deep.png'), frame: 0 }, ctx);
    expect(px).toMatchObject({ width: 6, height: 4, channels: 1, bitDepth: 16 });
    const bytes = Buffer.from(px.dataBase64, 'base64');
    const values = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
    expect(Array.from(values.slice(0, 4))).toEqual([0, 1000, 2000, 3000]);
    expect(values[23]).toBe(23_000);
    const demo = await services.router.invoke('project.demo', {}, ctx);
    expect(demo.dir).toBe(path.join(dir, 'data', 'projects', 'demo'));
    expect(demo.paths.every((p) => existsSync(p))).toBe(true);
  });
});
