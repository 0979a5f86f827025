// The shipped sample data imports completely: every file is readable, the Fashion-MNIST folder gives 10 classes.
import path from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { ROOT } from '../../main/app/paths.js';
import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';
import { tempDir } from '../media/helpers.js';

const { dir, cleanup } = tempDir('ssm-samples-');
afterAll(cleanup);

it('samples/ imports with nothing skipped', async () => {
  const store = ProjectStore.open(dir);
  const ctx = { signal: new AbortController().signal, progress: (): void => undefined };
  const fashion = await importPaths(store, [path.join(ROOT, 'samples/images/fashion-mnist')], ctx);
  expect([fashion.imported, fashion.labelled, fashion.skipped]).toEqual([40, 40, []]);
  expect(store.summary().classes).toHaveLength(10);
  const rest = await importPaths(store, [path.join(ROOT, 'samples')], ctx);
  expect(rest.skipped.every((s) => s.reason.startsWith('duplicate of'))).toBe(true);
  const kinds = store.items().reduce<Record<string, number>>((m, i) => ({ ...m, [i.kind]: (m[i.kind] ?? 0) + 1 }), {});
  expect(kinds).toEqual({ image: 43, video: 1, dicom: 2, nifti: 1 });
  const series = store.items().find((i) => i.path.endsWith('mr-series'));
  expect(series).toMatchObject({ kind: 'dicom', width: 16, height: 16, slices: 7 });
  const video = store.items().find((i) => i.kind === 'video');
  expect(video).toMatchObject({ width: 384, height: 288, frames: 40 });
  store.close();
});
