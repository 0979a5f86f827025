// `s4nd:check --backend webgpu`: the S4ND reference cases on the WebGPU backend. Prints one JSON line per case (the
// CPU runner's format plus "backend" and "adapter"); a case the GPU path cannot take (a DPLR case without l_kernel)
// runs on the CPU engine with "backend": "cpu" and the reason in "fallback". Returns 1 if a case fails, 2 for an
// unreadable/malformed file or when no WebGPU device is available (with the reason).
// Also runnable directly: node dist/main/gpu/s4nd-check.js <case.json>...
// On a machine without a GPU, point Dawn at SwiftShader first: VK_ICD_FILENAMES=$(node scripts/swiftshader.mjs).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CaseError, checkCase, parseCase } from '../engine/s4nd-case.js';
import { loadS4ndNative, type S4ndConv } from '../engine/s4nd-native.js';
import { acquireDevice } from './device.js';
import { GpuRuntime } from './runtime.js';
import { checkCaseWebGpu } from './s4nd-case.js';

export async function runCasesWebGpu(files: string[], conv: S4ndConv = 'fft'): Promise<number> {
  const dev = await acquireDevice();
  if (!dev.ok) {
    console.log(JSON.stringify({ backend: 'webgpu', ok: false, error: `no WebGPU device: ${dev.reason}` }));
    return 2;
  }
  const rt = new GpuRuntime(dev.context);
  const a = dev.context.adapter;
  const adapter = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ');
  const native = loadS4ndNative();
  let status = 0;
  try {
    for (const file of files) {
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, 'utf8'));
      } catch (e) {
        console.log(
          JSON.stringify({
            case: file,
            backend: 'webgpu',
            ok: false,
            error: `cannot read JSON: ${(e as Error).message}`,
          }),
        );
        status = Math.max(status, 2);
        continue;
      }
      try {
        const c = parseCase(raw, conv);
        let line: object;
        let ok: boolean;
        try {
          const r = await checkCaseWebGpu(rt, native, c);
          line = { ...r, adapter };
          ok = r.ok;
        } catch (e) {
          // A case the GPU path cannot take runs on the CPU engine, and the line says so.
          if (!(e instanceof CaseError && e.message.startsWith('unsupported on webgpu'))) throw e;
          const r = await checkCase(native, c);
          line = { ...r, backend: 'cpu', fallback: e.message };
          ok = r.ok;
        }
        console.log(JSON.stringify(line));
        if (!ok) status = Math.max(status, 1);
      } catch (e) {
        const msg = e instanceof CaseError ? `malformed or unsupported case: ${e.message}` : (e as Error).message;
        console.log(JSON.stringify({ case: file, backend: 'webgpu', ok: false, error: msg }));
        status = Math.max(status, 2);
      }
    }
  } finally {
    dev.context.destroy();
  }
  return status;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node dist/main/gpu/s4nd-check.js <case.json>...');
    process.exit(2);
  }
  runCasesWebGpu(files).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`s4nd:check (webgpu): ${(e as Error).stack ?? String(e)}`);
      process.exit(2);
    },
  );
}
