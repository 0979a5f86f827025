// A real project for the training tests: Fashion-MNIST images written as PNG files in an ImageFolder layout
// (root/<split>/<class>/<n>.png) and imported with the app's own importer, so labels and splits come from the
// project store exactly as they do for a user.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import sharp from 'sharp';

import { importPaths } from '../../main/project/import.js';
import { ProjectStore } from '../../main/project/store.js';
import { loadFashionMnist, readIdx, fashionMnistDir } from '../engine/fashion-mnist.js';
import { FASHION_CLASSES } from './data.js';

/** Writes `perClass` train and `valPerClass` val images of each of `classes` (indices) and imports them. */
export async function fashionProject(
  root: string,
  classes: number[],
  perClass: number,
  valPerClass: number,
  offset = 0,
): Promise<string> {
  const dir = fashionMnistDir();
  const img = readIdx(path.join(dir, 'train-images-idx3-ubyte.gz'));
  const lab = readIdx(path.join(dir, 'train-labels-idx1-ubyte.gz'));
  void loadFashionMnist;
  const media = path.join(root, 'media');
  const counts = new Map<number, number>();
  const want = perClass + valPerClass;
  const writes: Promise<unknown>[] = [];
  for (let i = offset; i < lab.data.length && classes.some((c) => (counts.get(c) ?? 0) < want); i++) {
    const c = lab.data[i] as number;
    if (!classes.includes(c)) continue;
    const n = counts.get(c) ?? 0;
    if (n >= want) continue;
    counts.set(c, n + 1);
    const split = n < perClass ? 'train' : 'val';
    const folder = path.join(media, split, (FASHION_CLASSES[c] as string).replace('/', '-'));
    const px = Buffer.from(img.data.subarray(i * 784, (i + 1) * 784));
    writes.push(
      mkdir(folder, { recursive: true }).then(async () =>
        writeFile(
          path.join(folder, `${i}.png`),
          await sharp(px, { raw: { width: 28, height: 28, channels: 1 } })
            .png()
            .toBuffer(),
        ),
      ),
    );
  }
  await Promise.all(writes);
  const project = path.join(root, 'project');
  const store = ProjectStore.open(project);
  try {
    await importPaths(store, [media], { signal: new AbortController().signal, progress: () => undefined });
  } finally {
    store.close();
  }
  return project;
}
