#!/usr/bin/env node
// Runs the end-to-end tests: `node test/e2e/run.mjs [--json=<file>] [vitest args…]`.
// Needs Debian's chromium (installed here with apt-get when running as root; otherwise we stop with the command)
// and the built app (scripts/start.mjs, which the tests launch, builds what is stale).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureDebianPackage } from '../../scripts/debian-packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.SSM_CHROMIUM ?? '/usr/bin/chromium';

if (!process.env.SSM_CHROMIUM) ensureDebianPackage('chromium', CHROMIUM);

const args = ['run', '--config', 'test/e2e/vitest.config.ts', '--reporter=default'];
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--json=')) args.push('--reporter=json', `--outputFile=${a.slice('--json='.length)}`);
  else args.push(a);
}
const r = spawnSync(path.join(root, 'node_modules', '.bin', 'vitest'), args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SSM_CHROMIUM: CHROMIUM },
});
process.exit(r.status ?? 1);
