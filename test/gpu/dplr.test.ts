// DPLR kernel generation on the GPU (ops/dplr.ts) against the CPU engine's float64 DPLR kernels and their gradients
// (native s4nd.kernels) for the reference case 5 parameters (C~, l_kernel 16) at rates 1, 2 and 0.5, and a bandlimit.
// Measure: max|gpu - cpu| / max|cpu| per tensor (the S4ND reference measure), asserted < 1e-5.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, expect, test } from 'vitest';

import { packParams, parseCase, roundHalfEven } from '../../main/engine/s4nd-case.js';
import { loadS4ndNative } from '../../main/engine/s4nd-native.js';
import { dplrKernel, dplrKernelBackward } from '../../main/gpu/ops/dplr.js';
import { relMax, seeded, testRuntime } from './gpu-test-device.js';
import { S4ND_REFERENCE_DIR } from '../s4nd-reference-dir.js';

const REF_DIR = S4ND_REFERENCE_DIR;
const measured: string[] = [];
afterAll(() => console.log(`GPU DPLR kernels vs CPU engine (max rel):\n  ${measured.join('\n  ')}`));

test.each([
  [1, 0],
  [2, 0],
  [0.5, 0],
  [1, 0.6],
])('DPLR kernels and gradients, rate %s, bandlimit %s', async (rate, bandlimit) => {
  const rt = await testRuntime();
  const native = loadS4ndNative();
  const c = parseCase(JSON.parse(readFileSync(path.join(REF_DIR, 'case5_dplr_2d_16x16.json'), 'utf8')));
  const spec = { ...c.spec, bandlimit };
  const { params, lKernel } = packParams(native, c);
  const layout = native.paramLayout(spec);
  const up = (n: string) => {
    const p = layout.find((q) => q.name === n);
    if (!p) throw new Error(`no ${n}`);
    return rt.upload(params.slice(p.offset, p.offset + p.size), p.shape);
  };
  const H = spec.d_model;
  const n2 = spec.d_state / 2;
  const rows = 2 * spec.channels;
  const lk = Math.min(16, roundHalfEven(16 / rate));
  const gk = [0, 1].map((a) => Float64Array.from(seeded(5 + a, rows * H * lk)));
  const ref = await native.kernels(spec, params, lKernel, rate, [lk, lk], gk);
  let worst = 0;
  for (let a = 0; a < 2; a++) {
    const k = `kernel.${a}.`;
    const prm = {
      invDt: up(`${k}inv_dt`),
      aReal: up(`${k}A_real`),
      aImag: up(`${k}A_imag`),
      b: up(`${k}B`),
      p: up(`${k}P`),
      c: up(`${k}C`),
    };
    const s = {
      rows,
      h: H,
      n2,
      m: roundHalfEven((lKernel[a] ?? 0) / rate),
      lk,
      rate,
      bandlimit: bandlimit > 0 ? bandlimit : null,
    };
    const dk = rt.upload(Float32Array.from(gk[a] ?? []), [rows, H, lk]);
    const r = rt.run((b) => ({ k: dplrKernel(rt, b, s, prm), g: dplrKernelBackward(rt, b, s, prm, dk) }));
    const e = relMax(await rt.read(r.k), ref.kernels[a] ?? []);
    expect(e, `${k}kernel`).toBeLessThan(1e-5);
    worst = Math.max(worst, e);
    for (const [ours, n] of [
      ['invDt', 'inv_dt'],
      ['aReal', 'A_real'],
      ['aImag', 'A_imag'],
      ['b', 'B'],
      ['p', 'P'],
      ['c', 'C'],
    ] as const) {
      const p = layout.find((q) => q.name === `${k}${n}`);
      if (!p) throw new Error(`no ${k}${n}`);
      const eg = relMax(await rt.read(r.g[ours]), ref.dparams.subarray(p.offset, p.offset + p.size));
      expect(eg, `${k}${n} grad`).toBeLessThan(1e-5);
      worst = Math.max(worst, eg);
    }
  }
  measured.push(`rate ${rate}, bandlimit ${bandlimit}: worst ${worst.toExponential(2)}`);
});
