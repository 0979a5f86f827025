// The S4ND layer exported to ONNX from the published reference cases' parameters, run with onnxruntime-node (CPU),
// against the reference float32 outputs. One exported model per parameter set serves every input size: the rate is
// derived in the graph from the input size (rate = base size / size).
import { describe, expect, it } from 'vitest';

import { exportOnnx } from '../../main/onnx/export.js';
import { createSession, runSession } from '../../main/onnx/runtime.js';
import { packParams } from '../../main/engine/s4nd-case.js';
import { loadS4ndNative } from '../../main/engine/s4nd-native.js';
import { caseSource, errors, loadCase, seeded, tensorOf } from './helpers.js';

// README §12: a float32 implementation should match the reference within ~1e-4 relative (max|err| / max|ref|).
// The ONNX graph generates kernels in float32 and convolves with the DFT op (CPU EP).
const TOL = 1e-4;

async function runCase(bytes: Uint8Array, file: string): Promise<{ maxAbs: number; maxRel: number }> {
  const c = loadCase(file);
  const u = tensorOf(c, 'inputs', 'u');
  const y = tensorOf(c, 'outputs32', 'y');
  const session = await createSession(bytes, 1);
  const out = await runSession(session, Float32Array.from(u.data), u.shape);
  expect(out.shape).toEqual(y.shape);
  return errors(out.data, y.data);
}

for (const conv of ['direct', 'dft'] as const) {
  describe(`S4ND layer exported to ONNX (${conv} convolution) vs the official reference (float32 y)`, () => {
    // case 1 (16x16, rate 1), 2a (8x8, rate 2) and 2b (32x32, rate 0.5) share one parameter set: one export, base 16.
    const case1 = loadCase('case1_s4d_2d_16x16.json');
    const s4dBytes = exportOnnx(caseSource(case1, [16, 16]), { s4ndConv: conv });

    for (const [file, label] of [
      ['case1_s4d_2d_16x16.json', 'case1 S4D 16x16 rate 1'],
      ['case2a_s4d_2d_8x8_rate2.json', 'case2a S4D 8x8 rate 2 (same exported model)'],
      ['case2b_s4d_2d_32x32_rate0.5.json', 'case2b S4D 32x32 rate 0.5 (same exported model)'],
    ] as const) {
      it(label, async () => {
        const e = await runCase(s4dBytes, file);
        console.log(`${conv} ${label}: maxAbs ${e.maxAbs.toExponential(2)} maxRel ${e.maxRel.toExponential(2)}`);
        expect(e.maxRel).toBeLessThanOrEqual(TOL);
      });
    }

    it('case5 DPLR 16x16 rate 1', async () => {
      const c = loadCase('case5_dplr_2d_16x16.json');
      const e = await runCase(exportOnnx(caseSource(c, [16, 16]), { s4ndConv: conv }), 'case5_dplr_2d_16x16.json');
      console.log(`${conv} case5 DPLR: maxAbs ${e.maxAbs.toExponential(2)} maxRel ${e.maxRel.toExponential(2)}`);
      expect(e.maxRel).toBeLessThanOrEqual(TOL);
    });
  });
}

for (const file of ['case1_s4d_2d_16x16.json', 'case5_dplr_2d_16x16.json']) {
  describe(`one export of ${file} at other sizes vs the engine S4ND layer with the same parameters`, () => {
    const c = loadCase(file);
    const bytes = exportOnnx(caseSource(c, [16, 16]));
    const native = loadS4ndNative();
    const { params, lKernel } = packParams(native, c);

    for (const size of [8, 12, 24, 32]) {
      it(`${size}x${size} (rate ${16 / size})`, async () => {
        const u = seeded(2 * 4 * size * size, size);
        const ref = await native.run(c.spec, params, lKernel, u, 2, [size, size], 16 / size, null);
        const out = await runSession(await createSession(bytes, 1), u, [2, 4, size, size]);
        const e = errors(out.data, ref.y);
        console.log(
          `${c.name} ${size}x${size}: maxAbs ${e.maxAbs.toExponential(2)} maxRel ${e.maxRel.toExponential(2)}`,
        );
        expect(e.maxRel).toBeLessThanOrEqual(TOL);
      });
    }
  });
}
