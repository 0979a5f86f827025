// The s4nd_time layer through the ONNX exporter vs engine predict at two resolutions (dynamic H, W): a small
// interpolator-shaped model (save, conv, s4nd_time reading t from the saved normalised input plane, concat, conv).
import { describe, expect, it } from 'vitest';

import { Engine, type ModelSpec } from '../../main/engine/index.js';
import { exportOnnx } from '../../main/onnx/export.js';
import { checkParity, type ParityInput } from '../../main/onnx/parity.js';
import { seeded } from './helpers.js';

const engine = new Engine();
// Engine: kernels in double, products in float32; ONNX: all float32 (Exp, Cos, Sin of dt·A·t). Measured ~1e-7.
const TOL = 1e-5;
const norm = { mean: 0.5, std: 0.25 };

/** (2, 10, h, w) inputs whose channel 9 holds the normalised t of each sample, as interpolationInput writes it. */
function inputs(sizes: number[][], times: number[], seed: number): ParityInput[] {
  return sizes.map((size, i) => {
    const per = size.reduce((a, b) => a * b, 1);
    const shape = [times.length, 10, ...size];
    const x = seeded(times.length * 10 * per, seed + i);
    times.forEach((t, b) => x.fill((t - norm.mean) / norm.std, (b * 10 + 9) * per, (b * 10 + 10) * per));
    return { x, shape };
  });
}

describe('s4nd_time export', () => {
  const spec: ModelSpec = {
    input: { channels: 10, size: [12, 12] },
    layers: [
      { type: 'save', name: 'frames' },
      { type: 'conv2d', out: 8, kernel: 3, padding: 1 },
      { type: 's4nd_time', d_state: 8, dt_min: 0.1, dt_max: 1, time: { from: 'frames', channel: 9, ...norm } },
      { type: 'layernorm' },
      { type: 'concat', with: 'frames' },
      { type: 'conv2d', out: 3, kernel: 1 },
    ],
    loss: { type: 'l1' },
  };

  it('matches engine predict at 12x12 and 24x24 for t = 1/3 and 3/4', async () => {
    const model = engine.createModel(spec, 4);
    const bytes = exportOnnx(model);
    const report = await checkParity(
      model,
      bytes,
      inputs(
        [
          [12, 12],
          [24, 24],
        ],
        [1 / 3, 0.75],
        5,
      ),
      TOL,
    );
    for (const r of report.resolutions)
      console.log(
        `s4nd_time ${r.size.join('x')}: maxAbs ${r.maxAbs.toExponential(2)} maxRel ${r.maxRel.toExponential(2)}`,
      );
    expect(report.resolutions).toHaveLength(2);
    expect(report.ok).toBe(true);
    model.dispose();
  });
});
