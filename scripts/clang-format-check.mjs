#!/usr/bin/env node
// Checks (or with --fix, applies) clang-format on native/src. Installs clang-format with apt when missing and root.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureDebianPackage } from './debian-packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fix = process.argv.includes('--fix');

ensureDebianPackage('clang-format', '/usr/bin/clang-format');

const files = readdirSync(path.join(root, 'native/src'), { recursive: true })
  .filter((f) => /\.(cc|h)$/.test(f))
  .map((f) => path.join('native/src', f));
const args = fix ? ['-i', ...files] : ['--dry-run', '--Werror', ...files];
const r = spawnSync('clang-format', args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(`clang-format: ${fix ? 'failed' : 'native/src is not formatted; run `npm run format`'}`);
  process.exit(1);
}
console.log(`clang-format: ${files.length} files ${fix ? 'formatted' : 'ok'}`);
