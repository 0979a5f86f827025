// Shared by the S4ND benchmarks: addon loader, option parsing, child-process runner (one shape per process so that
// peak RSS is per shape).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function loadS4nd() {
  const require = createRequire(import.meta.url);
  const addon = require(path.join(root, 'native', 'build', 'Release', 'ssm_engine.node'));
  if (!addon.s4nd) throw new Error('native addon has no s4nd export: run `npm run build:native`');
  return addon.s4nd;
}

export function parseOptions(args, defaults) {
  const opts = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new Error(`bench: unexpected argument '${a}'`);
    const key = a.slice(2);
    if (!(key in defaults))
      throw new Error(
        `bench: unknown option '${a}' (known: ${Object.keys(defaults)
          .map((k) => '--' + k)
          .join(', ')})`,
      );
    const v = args[++i];
    if (v === undefined) throw new Error(`bench: option '${a}' needs a value`);
    opts[key] = typeof defaults[key] === 'number' ? Number(v) : v;
    if (typeof defaults[key] === 'number' && !Number.isFinite(opts[key]))
      throw new Error(`bench: '${a}' needs a number`);
  }
  return opts;
}

export function median(xs) {
  const s = Array.from(xs).sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/** Runs `node <script> --child <json>` and returns the parsed JSON it prints on its last stdout line. */
export function runChild(script, payload) {
  const r = spawnSync(process.execPath, [script, '--child', JSON.stringify(payload)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench child failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

export function s4dSpec(dims, H, N, conv) {
  return {
    dim: dims.length,
    d_model: H,
    d_state: N,
    channels: 1,
    bidirectional: true,
    mode: 's4d',
    init: 'diag-lin',
    l_max: dims.slice(),
    bandlimit: 0,
    linear: true,
    dt_min: 0.001,
    dt_max: 0.1,
    conv,
  };
}
