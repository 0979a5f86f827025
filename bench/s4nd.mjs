// `npm run bench -- s4nd [--backend cpu|webgpu] [--threads 2] [--conv auto|fft|direct] [--iters 15] [--warmup 3] [--shapes 2d,1d,3d]`
// S4ND layer (S4D, bidirectional, channels 1, linear, l_max = input size), loss = sum(y * G) with gradients for the
// input and all parameters. Timings are taken in C++ around Forward / Forward+Backward (medians over --iters runs after
// --warmup runs); each shape runs in its own process so peak_rss_mb is per shape. Also prints baselines measured in
// the same run: the FFT path for the 2-D shape and 1 thread vs N threads.
import { fileURLToPath } from 'node:url';

import { loadS4nd, median, parseOptions, runChild, s4dSpec } from './s4nd-common.mjs';

const PYTORCH_2D_FWD_BWD_S = 0.33; // official implementation, 2 threads, this machine kind (from the brief)

const SHAPES = {
  '2d': { dims: [32, 32], batch: 32 },
  '1d': { dims: [4096], batch: 32 },
  '3d': { dims: [8, 32, 32], batch: 32 },
};

// Nominal flops of the algorithm used per axis (fwd); fwd+bwd counted as 3x fwd (transposed conv + kernel corr).
function nominalFlops(dims, batch, H, algoOf) {
  const S = dims.reduce((a, b) => a * b, 1);
  let f = 0;
  for (const L of dims) {
    const algo = algoOf(L);
    if (algo === 'direct') f += 2 * L * batch * H * S;
    else {
      const P = L + L; // Lk = L when l_max = input size
      const lines = (batch * H * S) / L;
      f += lines * (2 * 2.5 * P * Math.log2(P) + 6 * (P / 2 + 1));
    }
  }
  return 3 * f;
}

function child(payload) {
  const s4nd = loadS4nd();
  const { dims, batch, H, N, conv, threads, warmup, iters } = payload;
  return s4nd.bench(s4dSpec(dims, H, N, conv), batch, dims, warmup, iters, threads).then((r) => {
    const info = s4nd.info();
    return {
      fwd: median(r.fwd),
      fwdBwd: median(r.fwdBwd),
      growAfterWarmup: r.growEventsAfterWarmup,
      growEnd: r.growEventsEnd,
      wsWarm: r.workspaceBytesAfterWarmup,
      wsEnd: r.workspaceBytesEnd,
      gemm: r.gemm,
      directMaxLength: info.directMaxLength,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
  });
}

export async function main(args) {
  // `--backend webgpu` runs the WebGPU benchmark (same shapes and JSON); `--backend cpu` (default) runs this one.
  const b = args.indexOf('--backend');
  if (b >= 0) {
    const backend = args[b + 1];
    const rest = [...args.slice(0, b), ...args.slice(b + 2)];
    if (backend === 'webgpu') return (await import('./s4nd-webgpu.mjs')).main(rest);
    if (backend !== 'cpu') throw new Error(`bench: --backend must be cpu or webgpu, not '${backend ?? ''}'`);
    args = rest;
  }
  const opts = parseOptions(args, { threads: 2, conv: 'auto', iters: 15, warmup: 3, shapes: '2d,1d,3d', H: 64, N: 64 });
  if (!['auto', 'fft', 'direct'].includes(opts.conv)) throw new Error(`bench: --conv must be auto, fft or direct`);
  const script = fileURLToPath(import.meta.url);
  const run = (shape, conv, threads) =>
    runChild(script, { ...shape, H: opts.H, N: opts.N, conv, threads, warmup: opts.warmup, iters: opts.iters });
  for (const key of opts.shapes.split(',')) {
    const shape = SHAPES[key];
    if (!shape) throw new Error(`bench: unknown shape '${key}' (known: ${Object.keys(SHAPES).join(', ')})`);
    let r;
    try {
      r = run(shape, opts.conv, opts.threads);
    } catch (e) {
      console.log(
        JSON.stringify({
          bench: 's4nd',
          dims: shape.dims,
          batch: shape.batch,
          conv: opts.conv,
          error: String(e.message).trim(),
        }),
      );
      continue;
    }
    const algoOf = (L) => (opts.conv === 'auto' ? (L <= r.directMaxLength ? 'direct' : 'fft') : opts.conv);
    const line = {
      bench: 's4nd',
      dims: shape.dims,
      batch: shape.batch,
      H: opts.H,
      N: opts.N,
      threads: opts.threads,
      conv: opts.conv,
      algo_per_axis: shape.dims.map(algoOf),
      fwd_s_median: +r.fwd.toFixed(5),
      fwd_bwd_s_median: +r.fwdBwd.toFixed(5),
      gflops: +(nominalFlops(shape.dims, shape.batch, opts.H, algoOf) / r.fwdBwd / 1e9).toFixed(2),
      peak_rss_mb: Math.round(r.peakRssMb),
      grow_events_after_warmup: r.growEnd - r.growAfterWarmup,
      workspace_mb: +(r.wsEnd / 2 ** 20).toFixed(1),
      workspace_grew_after_warmup: r.wsEnd !== r.wsWarm,
      gemm: r.gemm,
      runs: opts.iters,
    };
    if (key === '2d') line['ratio_vs_pytorch_0.33s'] = +(PYTORCH_2D_FWD_BWD_S / r.fwdBwd).toFixed(2);
    console.log(JSON.stringify(line));
    // Baselines measured in the same run.
    const baselines = [];
    if (key === '2d' && opts.conv !== 'fft') baselines.push(['fft', opts.threads]);
    if (opts.threads !== 1) baselines.push([opts.conv, 1]);
    for (const [conv, threads] of baselines) {
      const b = run(shape, conv, threads);
      console.log(
        JSON.stringify({
          bench: 's4nd-baseline',
          dims: shape.dims,
          batch: shape.batch,
          conv,
          threads,
          fwd_s_median: +b.fwd.toFixed(5),
          fwd_bwd_s_median: +b.fwdBwd.toFixed(5),
          speedup_of_main_line: +(b.fwdBwd / r.fwdBwd).toFixed(2),
          peak_rss_mb: Math.round(b.peakRssMb),
        }),
      );
    }
  }
}

if (process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3])).then(
    (r) => console.log(JSON.stringify(r)),
    (e) => {
      console.error(e.stack ?? String(e));
      process.exit(1);
    },
  );
}
