// Import: every format lands as an item with its geometry; ImageFolder and CSV labels; dedupe by content; broken
// files are listed with the reason and change nothing in the database.
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ImportResult } from '../../contract/project.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';
import { tempDir } from '../media/helpers.js';
import { makeMixedFolder, type MixedFolder } from './fixtures.js';

const { dir, cleanup } = tempDir('ssm-import-');
afterAll(cleanup);
let fx: MixedFolder;
beforeAll(async () => {
  fx = await makeMixedFolder(path.join(dir, 'src'));
});

const ctx = { signal: new AbortController().signal, progress: (): void => undefined };

/** Every row of every table, for before/after comparisons. */
function dump(store: ProjectStore): Record<string, unknown[]> {
  const tables = store.db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .pluck()
    .all() as string[];
  return Object.fromEntries(tables.map((t) => [t, store.db.prepare(`SELECT * FROM "${t}"`).all()]));
}

describe('import', () => {
  let result: ImportResult;
  let store: ProjectStore;
  beforeAll(async () => {
    store = ProjectStore.open(path.join(dir, 'project'));
    result = await importPaths(store, [fx.good], ctx);
  });
  afterAll(() => store.close());

  it('imports every format with its geometry', () => {
    const byName = new Map(store.items().map((i) => [path.basename(i.path), i]));
    expect(result.imported).toBe(8); // 5 images (one more is a byte copy), a video, a DICOM series, a NIfTI
    expect(byName.get('c1.png')).toMatchObject({ kind: 'image', format: 'png', width: 16, height: 12, frames: 1 });
    expect(byName.get('d1.jpg')).toMatchObject({ kind: 'image', format: 'jpeg' });
    expect(byName.get('c3.webp')).toMatchObject({ kind: 'image', format: 'webp' });
    expect(byName.get('clip.mp4')).toMatchObject({ kind: 'video', width: 64, height: 48, frames: 10 });
    expect(byName.get('series')).toMatchObject({ kind: 'dicom', width: 5, height: 4, slices: 3 });
    expect(byName.get('anatomical.nii')).toMatchObject({ kind: 'nifti', width: 33, height: 41, slices: 25 });
    expect(result.items.find((i) => i.kind === 'dicom')).toEqual({
      path: path.join(fx.good, 'series'),
      kind: 'dicom',
      frames: 1,
      slices: 3,
    });
  });

  it('takes labels and splits from the ImageFolder layout and a CSV', () => {
    const labels = new Map(store.allLabels().map((l) => [path.basename(l.path), l.className]));
    expect(labels.get('c1.png')).toBe('cat');
    expect(labels.get('d1.jpg')).toBe('dog');
    expect(labels.get('c3.webp')).toBe('cat');
    expect(labels.get('clip.mp4')).toBe('testcard');
    expect(labels.get('anatomical.nii')).toBe('brain, T1');
    expect(labels.has('series')).toBe(false);
    const splits = new Map(store.items().map((i) => [path.basename(i.path), i.split]));
    expect([splits.get('c1.png'), splits.get('c3.webp'), splits.get('clip.mp4')]).toEqual(['train', 'val', null]);
    expect(result.skipped).toContainEqual({
      path: path.join(fx.good, 'labels.csv'),
      reason: '1 of 3 CSV rows match no imported item',
    });
  });

  it('dedupes by content hash, within a run and across runs', async () => {
    const dup = result.skipped.find((s) => s.path.endsWith('same-bytes-as-c1.png'));
    expect(dup?.reason).toMatch(/^duplicate of .*c1\.png \(same content\)$/);
    const again = await importPaths(store, [fx.good], ctx);
    expect(again.imported).toBe(0);
    expect(again.skipped.filter((s) => s.reason.startsWith('duplicate of')).length).toBe(9);
  });

  it('broken files: each listed with its reason, and the database is unchanged', async () => {
    const before = dump(store);
    const bad = await importPaths(store, [fx.bad], ctx);
    expect(bad.imported).toBe(0);
    for (const [name, reason] of Object.entries(fx.badReasons)) {
      const s = bad.skipped.find((x) => path.basename(x.path) === name);
      expect(s, name).toBeDefined();
      expect(s?.reason, name).toMatch(reason);
    }
    expect(bad.skipped).toHaveLength(Object.keys(fx.badReasons).length);
    expect(bad.skipped.some((s) => /Roe|Richard/.test(s.reason))).toBe(false); // patient name never shown
    expect(dump(store)).toEqual(before);
    expect(store.integrity().ok).toBe(true);
  });

  it('a path that does not exist is listed, not thrown', async () => {
    const r = await importPaths(store, [path.join(dir, 'nope.png')], ctx);
    expect(r.skipped).toEqual([{ path: path.join(dir, 'nope.png'), reason: 'not found' }]);
  });

  it('cancelling stops the import between files', async () => {
    const controller = new AbortController();
    controller.abort();
    const s2 = ProjectStore.open(path.join(dir, 'cancelled'));
    await expect(
      importPaths(s2, [fx.good], { signal: controller.signal, progress: () => undefined }),
    ).rejects.toThrow();
    expect(s2.summary().items).toBe(0);
    s2.close();
  });
});
