// `npm run bench -- s4nd-conv [--dim 2] [--threads 2] [--iters 7] [--lengths 16,32,...]`: where the direct
// (Toeplitz GEMM) path stops beating the FFT path. S4D layers with every axis of length L (dim 1: L, dim 2: L x L),
// batch chosen so that batch * L^dim = 32768 (the 2-D 32x32 batch-32 volume), H = N = 64, fwd+bwd median for
// conv=direct and conv=fft. The crossovers set kDirectMaxLength / kDirectMaxLength1d in s4nd_conv.h.
import { fileURLToPath } from 'node:url';

import { loadS4nd, median, parseOptions, runChild, s4dSpec } from './s4nd-common.mjs';

async function child(p) {
  const s4nd = loadS4nd();
  const dims = Array.from({ length: p.dim }, () => p.L);
  const r = await s4nd.bench(s4dSpec(dims, 64, 64, p.conv), p.batch, dims, 2, p.iters, p.threads);
  return { fwdBwd: median(r.fwdBwd) };
}

export async function main(args) {
  const opts = parseOptions(args, { dim: 2, threads: 2, iters: 7, lengths: '16,32,48,64,96,128' });
  const script = fileURLToPath(import.meta.url);
  for (const L of opts.lengths.split(',').map(Number)) {
    const batch = Math.max(1, Math.round(32768 / L ** opts.dim));
    const common = { L, dim: opts.dim, batch, threads: opts.threads, iters: opts.iters };
    const d = runChild(script, { ...common, conv: 'direct' });
    const f = runChild(script, { ...common, conv: 'fft' });
    console.log(
      JSON.stringify({
        bench: 's4nd-conv',
        dim: opts.dim,
        L,
        batch,
        threads: opts.threads,
        direct_fwd_bwd_s: +d.fwdBwd.toFixed(5),
        fft_fwd_bwd_s: +f.fwdBwd.toFixed(5),
        faster: d.fwdBwd < f.fwdBwd ? 'direct' : 'fft',
      }),
    );
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
