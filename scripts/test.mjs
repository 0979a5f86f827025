#!/usr/bin/env node
// `npm test`: builds, type-checks, lints, runs the unit/integration tests (vitest) and the end-to-end tests
// (Playwright driving browser mode in Debian Chromium), then prints one summary line "N passed, N failed".
// System packages the tests need are installed here when running as root, else we stop with the exact command.
// `node scripts/test.mjs e2e` runs only the end-to-end part.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureDebianPackage } from './debian-packages.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const only = process.argv[2];
const results = [];

function step(name, cmd, args, env = {}) {
  const t0 = Date.now();
  console.log(`\n=== ${name}: ${path.basename(cmd)} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  results.push({ name, ok, seconds: (Date.now() - t0) / 1000 });
  console.log(
    `=== ${name}: ${ok ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return ok;
}

function vitestCounts(file) {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8'));
    return { passed: j.numPassedTests, failed: j.numFailedTests, skipped: j.numPendingTests + j.numTodoTests };
  } catch {
    return null;
  }
}

mkdirSync(path.join(root, 'test-results'), { recursive: true });
ensureDebianPackage('chromium', '/usr/bin/chromium');

let passed = 0;
let failed = 0;
let skipped = 0;

if (only !== 'e2e') {
  step('build', process.execPath, ['scripts/build.mjs']);
  step('typecheck', 'npm', ['run', '--silent', 'typecheck']);
  step('lint', 'npm', ['run', '--silent', 'lint']);
  const out = path.join(root, 'test-results', 'vitest.json');
  step('unit and integration tests', bin('vitest'), [
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile=${out}`,
  ]);
  const c = vitestCounts(out);
  if (c) {
    passed += c.passed;
    failed += c.failed;
    skipped += c.skipped;
  } else failed += 1;
}

const e2eOut = path.join(root, 'test-results', 'e2e.json');
step('end-to-end tests (browser mode, Chromium)', process.execPath, ['test/e2e/run.mjs', `--json=${e2eOut}`]);
const e = vitestCounts(e2eOut);
if (e) {
  passed += e.passed;
  failed += e.failed;
  skipped += e.skipped;
} else failed += 1;

const stepsFailed = results.filter((r) => !r.ok);
console.log('\n=== summary');
for (const r of results) console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.name} (${r.seconds.toFixed(1)} s)`);
if (stepsFailed.length > 0 && failed === 0) failed = stepsFailed.length;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(stepsFailed.length > 0 || failed > 0 ? 1 : 0);
