// `npm run bench -- s4nd --backend webgpu [--shapes 2d,1d,3d] [--iters 10] [--warmup 3] [--H 64] [--N 64]
//  [--driver system|swiftshader]` (or `npm run bench -- s4nd-webgpu …`): the S4ND layer of bench/s4nd.mjs (S4D,
// bidirectional, channels 1, linear, l_max = input size, loss = sum(y * G), gradients for the input and all
// parameters) on the WebGPU backend, same shapes and JSON line format plus backend/adapter fields. Each timed run is one
// command submission followed by a wait for the GPU (queue.onSubmittedWorkDone); medians over --iters after --warmup.
//
// On a software adapter (SwiftShader, llvmpipe, WARP, fallback) it runs ONLY a tiny smoke size per shape and marks
// the timings as not meaningful: an emulated GPU says nothing about GPU performance.
// Needs the compiled TypeScript (node scripts/build.mjs main) and, for --driver swiftshader, scripts/swiftshader.mjs.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';

import { loadS4nd, median, parseOptions, root, s4dSpec } from './s4nd-common.mjs';

const SHAPES = {
  '2d': { dims: [32, 32], batch: 32 },
  '1d': { dims: [4096], batch: 32 },
  '3d': { dims: [8, 32, 32], batch: 32 },
};
// Smoke sizes for software adapters: same rank, tiny.
const SMOKE = {
  '2d': { dims: [8, 8], batch: 2 },
  '1d': { dims: [64], batch: 2 },
  '3d': { dims: [2, 8, 8], batch: 2 },
};

async function importBuilt(rel) {
  const file = path.join(root, 'dist', rel);
  if (!existsSync(file)) throw new Error(`bench: ${file} is missing; build it with: node scripts/build.mjs main`);
  return import(pathToFileURL(file).href);
}

export async function main(args) {
  const opts = parseOptions(args, {
    shapes: '2d,1d,3d',
    iters: 10,
    warmup: 3,
    H: 64,
    N: 64,
    driver: 'system',
    backend: 'webgpu',
  });
  if (opts.backend !== 'webgpu') throw new Error(`bench: this is the webgpu benchmark (got --backend ${opts.backend})`);
  if (opts.driver === 'swiftshader' && !process.env.VK_ICD_FILENAMES) {
    // Dawn reads VK_ICD_FILENAMES when it loads: set it before the first import of webgpu.
    process.env.VK_ICD_FILENAMES = execFileSync(process.execPath, [path.join(root, 'scripts', 'swiftshader.mjs')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
  } else if (opts.driver !== 'system' && opts.driver !== 'swiftshader') {
    throw new Error(`bench: --driver must be system or swiftshader`);
  }
  // Dawn warns "XDG_RUNTIME_DIR is invalid" without one.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(path.join(os.tmpdir(), 'ssm-gpu-xdg-'));
  const { acquireDevice } = await importBuilt('main/gpu/device.js');
  const { GpuRuntime } = await importBuilt('main/gpu/runtime.js');
  const { isSoftwareAdapter } = await importBuilt('main/gpu/detect.js');
  const s4 = await importBuilt('main/gpu/ops/s4nd.js');
  const { maxFftLength } = await importBuilt('main/gpu/ops/fft.js');

  const dev = await acquireDevice();
  if (!dev.ok) {
    console.log(JSON.stringify({ bench: 's4nd', backend: 'webgpu', error: `no WebGPU device: ${dev.reason}` }));
    process.exitCode = 1;
    return;
  }
  const a = dev.context.adapter;
  const adapter = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ');
  const software = isSoftwareAdapter(a);
  const rt = new GpuRuntime(dev.context);
  const native = loadS4nd();
  const H = software ? 4 : opts.H;
  const N = software ? 8 : opts.N;
  const iters = software ? 2 : opts.iters;
  const warmup = software ? 1 : opts.warmup;

  for (const key of opts.shapes.split(',')) {
    const shape = (software ? SMOKE : SHAPES)[key];
    if (!shape) throw new Error(`bench: unknown shape '${key}' (known: ${Object.keys(SHAPES).join(', ')})`);
    const base = {
      bench: 's4nd',
      backend: 'webgpu',
      adapter,
      software_adapter: software,
      dims: shape.dims,
      batch: shape.batch,
      H,
      N,
    };
    const maxP = maxFftLength(rt);
    const P = Math.max(...shape.dims.map((l) => 2 * l));
    if (P > maxP) {
      console.log(
        JSON.stringify({
          ...base,
          error: `unsupported on webgpu: FFT length ${P} (L + Lk) > ${maxP}, the single-workgroup FFT limit of this device; use the CPU`,
        }),
      );
      continue;
    }
    const spec = s4dSpec(shape.dims, H, N, 'fft');
    const { params } = native.init(spec, 1234);
    const layout = native.paramLayout(spec);
    const up = (name) => {
      const p = layout.find((q) => q.name === name);
      return rt.upload(params.slice(p.offset, p.offset + p.size), p.shape);
    };
    const axes = shape.dims.map((_, ax) => ({
      invDt: up(`kernel.${ax}.inv_dt`),
      aReal: up(`kernel.${ax}.A_real`),
      aImag: up(`kernel.${ax}.A_imag`),
      b: up(`kernel.${ax}.B`),
      c: up(`kernel.${ax}.C`),
    }));
    const D = up('D');
    const n = shape.batch * H * shape.dims.reduce((x, y) => x * y, 1);
    const rnd = (seed) => {
      let s = seed >>> 0;
      return Float32Array.from({ length: n }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
    };
    const u = rt.upload(rnd(1), [shape.batch, H, ...shape.dims]);
    const G = rt.upload(rnd(2), [shape.batch, H, ...shape.dims]);
    const cfg = {
      batch: shape.batch,
      h: H,
      channels: 1,
      n2: N / 2,
      lengths: shape.dims,
      lMax: shape.dims,
      rate: 1,
      bandlimit: null,
    };
    const time = async (withBackward) => {
      const ts = [];
      for (let i = 0; i < warmup + iters; i++) {
        rt.beginScope();
        const t0 = performance.now();
        rt.run((b) => {
          const f = s4.s4ndForward(rt, b, cfg, u, axes, D);
          if (withBackward) s4.s4ndBackward(rt, b, cfg, f.saved, G, axes, D);
        });
        await rt.sync();
        const dt = (performance.now() - t0) / 1000;
        rt.endScope();
        if (i >= warmup) ts.push(dt);
      }
      return median(ts);
    };
    const fwd = await time(false);
    const fwdBwd = await time(true);
    console.log(
      JSON.stringify({
        ...base,
        fwd_s_median: +fwd.toFixed(5),
        fwd_bwd_s_median: +fwdBwd.toFixed(5),
        runs: iters,
        timings_meaningful: !software,
        ...(software
          ? {
              note: 'software adapter (CPU emulation of a GPU): smoke size only; these timings are NOT meaningful and must not be compared with the CPU engine or a real GPU',
            }
          : {}),
      }),
    );
  }
  dev.context.destroy();
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e.stack ?? String(e));
    process.exit(1);
  });
}
