// Where the app's own files are, the same whether this code runs from dist/ (built) or from source (tests).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ssm-studio')
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the SSM Studio package root');
    dir = parent;
  }
}

/** The package root (where package.json is). */
export const ROOT = findRoot();

/** A built file under dist/, e.g. built('main/jobs/job-process.js'). */
export function built(relative: string): string {
  return path.join(ROOT, 'dist', relative);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
