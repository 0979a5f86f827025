// Atomic outputs: write to a temporary sibling, flush, then rename into place, so a crash or an error never leaves a
// half-written export. Folders are built beside the target and swapped in with one rename.
import { randomBytes } from 'node:crypto';
import { open, rename, rm, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';

function tmpName(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = tmpName(target);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, target);
}

/** Builds a folder with `fill(tmpDir)` and renames it to `target` (replacing an earlier export there). */
export async function writeDirAtomic<T>(target: string, fill: (dir: string) => Promise<T>): Promise<T> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = tmpName(target);
  await mkdir(tmp);
  let result: T;
  try {
    result = await fill(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const old = (await stat(target).catch(() => null)) ? tmpName(target) : null;
  if (old) await rename(target, old);
  await rename(tmp, target);
  if (old) await rm(old, { recursive: true, force: true });
  return result;
}
