// The S4ND reference runner on the WebGPU backend (`s4nd:check --backend webgpu`): every published case through the
// same parser, measure and tolerances as the CPU runner.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { expect, test } from 'vitest';

import { GRAD_TOL, OUTPUT_TOL, parseCase } from '../../main/engine/s4nd-case.js';
import { loadS4ndNative } from '../../main/engine/s4nd-native.js';
import { checkCaseWebGpu } from '../../main/gpu/s4nd-case.js';
import { testRuntime } from './gpu-test-device.js';
import { S4ND_REFERENCE_DIR } from '../s4nd-reference-dir.js';

const REF_DIR = S4ND_REFERENCE_DIR;
const CASES = [
  'case1_s4d_2d_16x16.json',
  'case2a_s4d_2d_8x8_rate2.json',
  'case2b_s4d_2d_32x32_rate0.5.json',
  'case5_dplr_2d_16x16.json',
  'case7a_kernels_s4d_case1.json',
  'case7b_kernels_dplr_case5.json',
];

test.each(CASES)('%s passes on webgpu', async (file) => {
  const rt = await testRuntime();
  const c = parseCase(JSON.parse(readFileSync(path.join(REF_DIR, file), 'utf8')));
  const r = await checkCaseWebGpu(rt, loadS4ndNative(), c);
  const worst = (pre: string): number =>
    Math.max(
      0,
      ...Object.entries(r.max_rel)
        .filter(([k]) => k.startsWith(pre))
        .map(([, v]) => v),
    );
  console.log(
    `${file}: ok=${r.ok} y/kernels ${Math.max(worst('y'), worst('kernel')).toExponential(2)} grads ${worst('grad').toExponential(2)}${r.notes ? ` (${r.notes})` : ''}`,
  );
  for (const [k, v] of Object.entries(r.max_rel))
    expect(v, k).toBeLessThanOrEqual(k.startsWith('grad') ? GRAD_TOL : OUTPUT_TOL);
  expect(r.ok).toBe(true);
});
