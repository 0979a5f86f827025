// `npm run s4nd:check -- [--conv fft|direct|auto] [--backend cpu|webgpu] <case.json>...`: runs S4ND reference cases
// and prints one JSON line per case; exits 1 if any case fails, 2 for bad usage or an unreadable/malformed/unsupported
// file. `--backend webgpu` runs them on the GPU (main/gpu/s4nd-check.ts; without a GPU set
// VK_ICD_FILENAMES=$(node scripts/swiftshader.mjs)).
import { readFile } from 'node:fs/promises';

import { CaseError, checkCase, parseCase } from './s4nd-case.js';
import type { S4ndConv } from './s4nd-native.js';
import { loadS4ndNative } from './s4nd-native.js';

async function main(argv: string[]): Promise<number> {
  let conv: S4ndConv = 'fft';
  let backend: 'cpu' | 'webgpu' = 'cpu';
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--conv') {
      const v = argv[++i];
      if (v !== 'fft' && v !== 'direct' && v !== 'auto') {
        console.error(`s4nd:check: --conv must be 'fft', 'direct' or 'auto', got ${JSON.stringify(v)}`);
        return 2;
      }
      conv = v;
    } else if (a === '--backend') {
      const v = argv[++i];
      if (v !== 'cpu' && v !== 'webgpu') {
        console.error(`s4nd:check: --backend must be 'cpu' or 'webgpu', got ${JSON.stringify(v)}`);
        return 2;
      }
      backend = v;
    } else if (a.startsWith('--')) {
      console.error(`s4nd:check: unknown option '${a}' (usage: s4nd:check [--conv fft|direct|auto] <case.json>...)`);
      return 2;
    } else {
      files.push(a);
    }
  }
  if (files.length === 0) {
    console.error('s4nd:check: no case files given (usage: s4nd:check [--conv fft|direct|auto] <case.json>...)');
    return 2;
  }
  if (backend === 'webgpu') return (await import('../gpu/s4nd-check.js')).runCasesWebGpu(files, conv);
  const native = loadS4ndNative();
  let status = 0;
  for (const file of files) {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      console.log(JSON.stringify({ case: file, ok: false, error: `cannot read JSON: ${(e as Error).message}` }));
      status = Math.max(status, 2);
      continue;
    }
    try {
      const c = parseCase(raw, conv);
      const r = await checkCase(native, c);
      console.log(JSON.stringify(r));
      if (!r.ok) status = Math.max(status, 1);
    } catch (e) {
      const msg = e instanceof CaseError ? `malformed or unsupported case: ${e.message}` : (e as Error).message;
      console.log(JSON.stringify({ case: file, ok: false, error: msg }));
      status = Math.max(status, 2);
    }
  }
  return status;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`s4nd:check: ${(e as Error).stack ?? String(e)}`);
    process.exit(2);
  },
);
