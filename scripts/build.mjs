#!/usr/bin/env node
// Builds everything the app needs after `npm ci`: the native engine (cmake-js, no download),
// the Node-side TypeScript (tsc) and the renderer (vite). `node scripts/build.mjs [native|main|renderer]...`
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const steps = {
  native: () =>
    run(bin('cmake-js'), ['compile', '--directory', 'native', '--out', 'native/build', '--log-level', 'warn']),
  main: () => run(bin('tsc'), ['-p', 'tsconfig.node.json']),
  renderer: () => run(bin('vite'), ['build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn']),
};

function run(cmd, args) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: '${path.basename(cmd)} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  return Date.now() - t0;
}

const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : Object.keys(steps)) {
  const step = steps[name];
  if (!step) {
    console.error(`build: unknown step '${name}' (expected one of ${Object.keys(steps).join(', ')})`);
    process.exit(2);
  }
  const ms = step();
  console.log(`build: ${name} done in ${(ms / 1000).toFixed(1)} s`);
}
