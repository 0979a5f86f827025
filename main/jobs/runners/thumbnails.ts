// Thumbnails for every image in a folder (recursive), cached by path + size + mtime.
import { createHash } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

import sharp from 'sharp';

import { AppError } from '../../ipc/app-error.js';
import type { JobRunner } from '../runner.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.bmp', '.gif']);

async function listImages(folder: string, signal: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const pending = [folder];
  while (pending.length > 0) {
    signal.throwIfAborted();
    const dir = pending.pop() as string;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) pending.push(full);
      else if (e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) out.push(full);
    }
  }
  return out.sort();
}

export const thumbnails: JobRunner<'thumbnails'> = async ({ folder, size }, ctx) => {
  const info = await stat(folder).catch(() => null);
  if (!info?.isDirectory()) throw new AppError('not_found', `folder not found: ${folder}`, 'params.folder');
  const files = await listImages(folder, ctx.signal);
  const outDir = path.join(ctx.cacheDir, 'thumbnails');
  await mkdir(outDir, { recursive: true });
  const failed: { path: string; reason: string }[] = [];
  let written = 0;
  ctx.progress(0, files.length, `found ${files.length} images`);
  for (const [i, file] of files.entries()) {
    ctx.signal.throwIfAborted();
    try {
      const st = await stat(file);
      const key = createHash('sha1').update(`${file}\0${size}\0${st.mtimeMs}`).digest('hex');
      await sharp(file, { failOn: 'error' })
        .rotate()
        .resize(size, size, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toFile(path.join(outDir, `${key}.webp`));
      written += 1;
    } catch (err) {
      failed.push({ path: file, reason: err instanceof Error ? err.message : String(err) });
    }
    ctx.progress(i + 1, files.length, path.basename(file));
  }
  return { images: files.length, written, failed, outDir };
};
