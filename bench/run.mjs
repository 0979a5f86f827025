#!/usr/bin/env node
// Benchmark dispatcher behind `npm run bench -- <name> [args]`: runs bench/<name>.mjs. A module exporting main(args)
// is imported and called; a plain script is run as a child process with the same arguments.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const KNOWN = {
  s4nd: 'S4ND layer fwd / fwd+bwd at the reference shapes (2-D 32x32, 1-D 4096, 3-D 8x32x32)',
  's4nd-conv': 'per-axis direct vs FFT crossover',
  's4nd-webgpu': 'S4ND on WebGPU (same shapes / JSON as s4nd)',
  'media-decode': 'video decoding throughput',
  claims: 'zero-shot resolution and progressive resizing claims',
};
const HELPERS = new Set(['run', 's4nd-common']);

const [name, ...args] = process.argv.slice(2);
const url = name && /^[a-z0-9-]+$/.test(name) && !HELPERS.has(name) ? new URL(`./${name}.mjs`, import.meta.url) : null;
if (!url || !existsSync(url)) {
  const list = Object.entries(KNOWN)
    .map(([k, v]) => `  ${k}: ${v}`)
    .join('\n');
  console.error(`bench: unknown or missing benchmark '${name ?? ''}'. Available:\n${list}`);
  process.exit(2);
}
if (/export\s+(async\s+)?function\s+main\s*\(/.test(readFileSync(url, 'utf8'))) {
  const mod = await import(url.href);
  await mod.main(args);
} else {
  const r = spawnSync(process.execPath, [fileURLToPath(url), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
