// The portable baseline kernels (what a CPU without AVX2/FMA runs: GEMM, planar complex GEMM, FFT stages) on the
// published cases, in a child process with SSM_FORCE_GENERIC_SIMD=1 (the SIMD choice is made once per process).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { REF_DIR } from './helpers.js';

describe('generic (non-AVX2) SIMD path', () => {
  it('matches the float32 reference on published cases (fft and direct)', () => {
    const child = path.join(import.meta.dirname, 'generic-simd-child.mjs');
    const args = [
      `${REF_DIR}/case1_s4d_2d_16x16.json:fft`,
      `${REF_DIR}/case2b_s4d_2d_32x32_rate0.5.json:direct`,
      `${REF_DIR}/case5_dplr_2d_16x16.json:fft`,
    ];
    const r = spawnSync(process.execPath, [child, ...args], {
      encoding: 'utf8',
      env: { ...process.env, SSM_FORCE_GENERIC_SIMD: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as {
      gemm: string;
      cases: Array<{ case: string; y: number; du: number; grads: number }>;
    };
    expect(out.gemm).toBe('generic');
    expect(out.cases.length).toBe(3);
    for (const c of out.cases) {
      expect(c.y, c.case).toBeLessThan(1e-5); // runner tolerances: outputs 1e-5, gradients 1e-4
      expect(c.du, c.case).toBeLessThan(1e-4);
      expect(c.grads, c.case).toBeLessThan(1e-4);
    }
  });
});
