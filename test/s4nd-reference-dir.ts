// Where the S4ND reference vectors are: env SSM_S4ND_REFERENCE_DIR, else the shared/ folder beside the checkout
// (as on developer machines and in CI), else the workplace's shared folder. Missing vectors fail loudly.
import { existsSync } from 'node:fs';
import path from 'node:path';

import { ROOT } from '../main/app/paths.js';

function resolveReferenceDir(): string {
  const candidates = [
    process.env['SSM_S4ND_REFERENCE_DIR'],
    path.join(ROOT, '..', 'shared', 'reference', 's4nd'),
    '/work/shared/reference/s4nd',
  ].filter((c): c is string => typeof c === 'string' && c.length > 0);
  for (const dir of candidates) if (existsSync(path.join(dir, 'case1_s4d_2d_16x16.json'))) return dir;
  throw new Error(
    `S4ND reference vectors not found (looked in ${candidates.join(', ')}); set SSM_S4ND_REFERENCE_DIR to the folder ` +
      'holding case1_s4d_2d_16x16.json',
  );
}

export const S4ND_REFERENCE_DIR = resolveReferenceDir();
