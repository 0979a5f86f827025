// Long S4D kernels through the exporter: the kernel is generated in float64 in the graph (main/onnx/s4nd.ts), so its
// accuracy does not degrade with the kernel length. The earlier float32 generation (phase Im(dtA)·l rounded in
// float32, then Cos/Sin) measured 2.1e-6 / 3.5e-6 here at L = 1024 / 512 on the CPU EP (and 9.3e-4 on the WebGPU EP,
// test/gpu/ort-webgpu.test.ts), failing this test; the float64 graph measures 2.3e-7 / 2.8e-7.
import { describe, expect, it } from 'vitest';

import { Engine, type ModelSpec } from '../../main/engine/index.js';
import { exportOnnx } from '../../main/onnx/export.js';
import { checkParity } from '../../main/onnx/parity.js';
import { seeded } from './helpers.js';

const engine = new Engine();

/** One S4D layer, 4 channels, N = 64, trained at L = 1024 with small dt (slow decay, phases up to ~1e2 rad). */
const LONG_S4D: ModelSpec = {
  input: { channels: 4, size: [1024] },
  layers: [{ type: 's4nd', d_state: 64, dt_min: 1e-3, dt_max: 1e-2 }],
  loss: { type: 'mse' },
};

describe('long S4D kernel export', () => {
  it('L = 1024 and 512 (rate 2): ORT CPU EP vs engine within 1e-6 relative', async () => {
    const model = engine.createModel(LONG_S4D, 3);
    const inputs = [1024, 512].map((L, i) => ({ x: seeded(4 * L, 20 + i), shape: [1, 4, L] }));
    const report = await checkParity(model, exportOnnx(model), inputs, 1e-6);
    for (const r of report.resolutions)
      console.log(`long S4D L ${r.size.join('x')} rate ${r.rate}: maxRel ${r.maxRel.toExponential(2)}`);
    expect(report.resolutions.map((r) => r.rate)).toEqual([1, 2]);
    expect(report.ok).toBe(true);
    model.dispose();
  });
});
