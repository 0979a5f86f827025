// 3-D pooling and upsampling exported to ONNX (MaxPool / AveragePool with 3-D windows, Resize nearest / trilinear
// on 5-D tensors with dynamic spatial sizes): engine predict vs onnxruntime at two resolutions, no S4ND in the way.
import { describe, expect, it } from 'vitest';

import { Engine, type ModelSpec } from '../../main/engine/index.js';
import { exportOnnx } from '../../main/onnx/export.js';
import { checkParity, type ParityInput } from '../../main/onnx/parity.js';
import { seeded } from './helpers.js';

const engine = new Engine();
const TOL = 1e-5; // float32 convs and interpolation in both; measured ~1e-7

const input = (size: number[], seed: number, batch = 2): ParityInput => {
  const shape = [batch, 2, ...size];
  return {
    x: seeded(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  };
};

const volumeNet: ModelSpec = {
  input: { channels: 2, size: [8, 8, 8] },
  layers: [
    { type: 'conv3d', out: 4, kernel: 3, padding: 1 }, // (4, D, H, W)
    { type: 'save', name: 'full' },
    { type: 'max_pool', kernel: 2 }, // (4, D/2, H/2, W/2)
    { type: 'conv3d', out: 4, kernel: 3, padding: 1 },
    { type: 'save', name: 'half' },
    { type: 'avg_pool', kernel: 2 }, // (4, D/4, H/4, W/4)
    { type: 'upsample', scale: 2, mode: 'nearest' }, // (4, D/2, H/2, W/2)
    { type: 'concat', with: 'half' }, // (8, D/2, H/2, W/2)
    { type: 'avg_pool', kernel: 3, stride: 1 }, // overlapping windows: (8, D/2-2, ...)
    { type: 'upsample', scale: 2, mode: 'trilinear' }, // (8, D-4, H-4, W-4)
    { type: 'max_pool', kernel: 3, stride: 1 }, // (8, D-6, ...)
    { type: 'conv3d', out: 2, kernel: 1 },
  ],
  loss: { type: 'mse' },
};

describe('3-D pooling / upsampling in ONNX vs engine predict', () => {
  it('matches at 8³ and 12³ (batch and spatial sizes dynamic) out of one export', async () => {
    const model = engine.createModel(volumeNet, 5);
    const bytes = exportOnnx(model);
    const report = await checkParity(model, bytes, [input([8, 8, 8], 1), input([12, 12, 12], 2, 1)], TOL);
    for (const r of report.resolutions)
      console.log(
        `3-D resample net ${r.size.join('x')}: maxAbs ${r.maxAbs.toExponential(2)} maxRel ${r.maxRel.toExponential(2)}`,
      );
    expect(report.resolutions.map((r) => r.size.join('x'))).toEqual(['8x8x8', '12x12x12']);
    expect(report.ok).toBe(true);
    model.dispose();
  });

  it('a pure trilinear / max-pool / nearest chain (no convs) matches to 1e-6 at 4³ and 6³', async () => {
    const spec: ModelSpec = {
      input: { channels: 2, size: [4, 4, 4] },
      layers: [
        { type: 'upsample', scale: 3, mode: 'trilinear' },
        { type: 'max_pool', kernel: 2 },
        { type: 'upsample', scale: 2 },
      ],
      loss: { type: 'mse' },
    };
    const model = engine.createModel(spec, 1);
    const report = await checkParity(model, exportOnnx(model), [input([4, 4, 4], 3), input([6, 6, 6], 4)], 1e-6);
    for (const r of report.resolutions)
      console.log(`trilinear chain ${r.size.join('x')}: maxAbs ${r.maxAbs.toExponential(2)}`);
    expect(report.ok).toBe(true);
    model.dispose();
  });
});
