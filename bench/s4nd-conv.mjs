// `npm run bench -- s4nd-conv [--threads 2] [--iters 7]`: where the direct (Toeplitz GEMM) path stops beating the FFT
// path. 1-D S4D layers of length L with batch chosen so that batch * L = 32768 (the 2-D 32x32 batch-32 volume),
// H = N = 64, fwd+bwd median for conv=direct and conv=fft. The crossover sets kDirectMaxLength in s4nd_conv.h.
import { fileURLToPath } from 'node:url';

import { loadS4nd, median, parseOptions, runChild, s4dSpec } from './s4nd-common.mjs';

async function child(p) {
  const s4nd = loadS4nd();
  const r = await s4nd.bench(s4dSpec([p.L], 64, 64, p.conv), p.batch, [p.L], 2, p.iters, p.threads);
  return { fwdBwd: median(r.fwdBwd) };
}

export async function main(args) {
  const opts = parseOptions(args, { threads: 2, iters: 7, lengths: '16,32,48,64,96,128,192,256' });
  const script = fileURLToPath(import.meta.url);
  for (const L of opts.lengths.split(',').map(Number)) {
    const batch = Math.max(1, Math.round(32768 / L));
    const d = runChild(script, { L, batch, conv: 'direct', threads: opts.threads, iters: opts.iters });
    const f = runChild(script, { L, batch, conv: 'fft', threads: opts.threads, iters: opts.iters });
    console.log(
      JSON.stringify({
        bench: 's4nd-conv',
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
