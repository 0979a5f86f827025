// S4ND options and the other layer types, exported from engine models and checked against Model.predict at two
// resolutions with the parity API: DPLR (before and after the engine's first-call C -> C̃ rewrite), the
// GELU-Linear-GLU head with several heads, bandlimit, one-directional kernels, 1-D and 3-D inputs, and a small U-Net
// (padding convs, pooling, nearest/bilinear upsampling, save/concat, activations).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { Engine, type LayerSpec, type ModelSpec } from '../../main/engine/index.js';
import { exportCheckpoint, exportOnnx, OnnxExportError, readExportState } from '../../main/onnx/export.js';
import { checkParity, type ParityInput, type ParityReport } from '../../main/onnx/parity.js';
import { createSession, runSession } from '../../main/onnx/runtime.js';
import { errors, seeded } from './helpers.js';

const engine = new Engine();
// Engine kernels in float64 vs ONNX in float32; measured <= ~1e-6 relative (printed below).
const TOL = 1e-4;
const dir = mkdtempSync(path.join(tmpdir(), 'onnx-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inputs(channels: number, sizes: number[][], seed: number): ParityInput[] {
  return sizes.map((size, i) => {
    const shape = [2, channels, ...size];
    return {
      x: seeded(
        shape.reduce((a, b) => a * b, 1),
        seed + i,
      ),
      shape,
    };
  });
}

function log(label: string, report: ParityReport): void {
  for (const r of report.resolutions)
    console.log(
      `${label} ${r.size.join('x')} rate ${r.rate}: maxAbs ${r.maxAbs.toExponential(2)} maxRel ${r.maxRel.toExponential(2)}`,
    );
}

function s4ndModel(channels: number, size: number[], layer: LayerSpec): ModelSpec {
  return { input: { channels, size }, layers: [layer], loss: { type: 'mse' } };
}

describe('S4ND options through the exporter vs engine predict', () => {
  const cases: [string, ModelSpec, number[][]][] = [
    [
      'S4D, GELU-Linear-GLU head, 2 heads, bandlimit 0.5',
      s4ndModel(4, [12, 12], { type: 's4nd', d_state: 8, channels: 2, bandlimit: 0.5, dt_min: 0.05, dt_max: 0.5 }),
      [
        [12, 12],
        [24, 24],
      ],
    ],
    [
      'S4D, linear, 2 heads (C*H outputs), one-directional',
      s4ndModel(3, [10, 10], { type: 's4nd', d_state: 6, channels: 2, linear: true, bidirectional: false }),
      [
        [10, 10],
        [5, 5],
      ],
    ],
    ['S4D 1-D', s4ndModel(4, [32], { type: 's4nd', d_state: 8, dt_min: 0.01, dt_max: 0.3 }), [[32], [16], [64]]],
    [
      'S4D 1-D long (L = 256, N = 64; Vandermonde phases up to dt * Im A * l)',
      s4ndModel(4, [256], { type: 's4nd', d_state: 64, dt_min: 0.01, dt_max: 0.2 }),
      [[256], [512], [100]],
    ],
    [
      'S4D 3-D',
      s4ndModel(2, [4, 8, 8], { type: 's4nd', d_state: 4, linear: true }),
      [
        [4, 8, 8],
        [8, 16, 16],
      ],
    ],
  ];
  for (const [label, spec, sizes] of cases) {
    it(label, async () => {
      const model = engine.createModel(spec, 3);
      const report = await checkParity(model, exportOnnx(model), inputs(spec.input.channels, sizes, 10), TOL);
      log(label, report);
      expect(report.ok).toBe(true);
      model.dispose();
    });
  }
});

describe('DPLR through the exporter vs engine predict', () => {
  const spec = s4ndModel(4, [16, 16], {
    type: 's4nd',
    mode: 'dplr',
    d_state: 8,
    linear: true,
    dt_min: 0.01,
    dt_max: 0.2,
  });

  it('exported before the first call (exporter applies the C -> C̃ rewrite) and after it, at 16, 8 and 32', async () => {
    const model = engine.createModel(spec, 5);
    const ckpt = path.join(dir, 'dplr-fresh.safetensors');
    await model.save(ckpt);
    const fresh = await readExportState(ckpt);
    expect(fresh['layers.0.l_kernel']).toEqual([0, 0]);
    const before = exportOnnx(model, { state: fresh });
    const sizes = [
      [16, 16],
      [8, 8],
      [32, 32],
    ];
    const r1 = await checkParity(model, before, inputs(4, sizes, 20), TOL); // the engine rewrites C on this first call
    log('DPLR exported fresh', r1);
    expect(r1.ok).toBe(true);
    const ckpt2 = path.join(dir, 'dplr-setup.safetensors');
    await model.save(ckpt2);
    const setUp = await readExportState(ckpt2);
    expect(setUp['layers.0.l_kernel']).toEqual([16, 16]);
    const r2 = await checkParity(model, exportOnnx(model, { state: setUp }), inputs(4, sizes, 30), TOL);
    log('DPLR exported after setup', r2);
    expect(r2.ok).toBe(true);
    // Straight from the checkpoint file: same bytes as exporting the live model with its state.
    expect(Buffer.from(await exportCheckpoint(ckpt2)).equals(Buffer.from(exportOnnx(model, { state: setUp })))).toBe(
      true,
    );
    model.dispose();
  });

  it('1-D, N = 32, GELU-Linear-GLU head, at 64 and 48 (non-integer rate)', async () => {
    const model = engine.createModel(
      s4ndModel(4, [64], { type: 's4nd', mode: 'dplr', d_state: 32, dt_min: 0.01, dt_max: 0.2 }),
      2,
    );
    const ckpt = path.join(dir, 'dplr-1d.safetensors');
    await model.save(ckpt);
    const report = await checkParity(
      model,
      exportOnnx(model, { state: await readExportState(ckpt) }),
      inputs(4, [[64], [48]], 60),
      TOL,
    );
    log('DPLR 1-D N=32', report);
    expect(report.ok).toBe(true);
    model.dispose();
  });

  it('applies the growth rule of the call (l_max 15, L 16 at explicit rate 2: round(2 * 8) = 16 > 15)', async () => {
    const model = engine.createModel(
      s4ndModel(2, [15], { type: 's4nd', mode: 'dplr', d_state: 8, linear: true, dt_min: 0.02, dt_max: 0.2 }),
      8,
    );
    const ckpt = path.join(dir, 'dplr-grow.safetensors');
    await model.save(ckpt);
    const bytes = exportOnnx(model, { rate: 'input', state: await readExportState(ckpt) });
    const x = seeded(2 * 2 * 16, 70);
    const ref = await model.predict(x, [2, 2, 16], { rate: 2 }); // the engine sets up C̃ and grows l_kernel to 30
    await model.save(ckpt);
    expect((await readExportState(ckpt))['layers.0.l_kernel']).toEqual([30]);
    const out = await runSession(await createSession(bytes, 1), x, [2, 2, 16], 2);
    const e = errors(out.data, ref.data);
    console.log(`DPLR growth: maxAbs ${e.maxAbs.toExponential(2)} maxRel ${e.maxRel.toExponential(2)}`);
    expect(e.maxRel).toBeLessThanOrEqual(TOL);
    model.dispose();
  });

  it('refuses a DPLR layer without its l_kernel state', () => {
    const model = engine.createModel(spec, 5);
    expect(() => exportOnnx(model)).toThrow(OnnxExportError);
    expect(() => exportOnnx(model)).toThrow(/layers\[0\] \(s4nd\): a DPLR layer needs its state 'layers.0.l_kernel'/);
    model.dispose();
  });
});

describe('U-Net layers through the exporter vs engine predict', () => {
  const unet: ModelSpec = {
    input: { channels: 2, size: [16, 16] },
    layers: [
      { type: 'conv2d', out: 8, kernel: 3, padding: 1 },
      { type: 'silu' },
      { type: 'save', name: 'skip1' },
      { type: 'max_pool', kernel: 2 },
      { type: 'conv2d', out: 8, kernel: 3, padding: 1, bias: false },
      { type: 'relu' },
      { type: 'save', name: 'skip2' },
      { type: 'avg_pool', kernel: 2 },
      { type: 'residual', layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: 8 }] },
      { type: 'upsample', scale: 2, mode: 'bilinear' },
      { type: 'concat', with: 'skip2' },
      { type: 'conv2d', out: 8, kernel: 1 },
      { type: 'glu' },
      { type: 'upsample', scale: 2 },
      { type: 'concat', with: 'skip1' },
      { type: 'conv2d', out: 1, kernel: 3, padding: 1 },
      { type: 'sigmoid' },
    ],
    loss: { type: 'bce_with_logits' },
  };

  it('matches at 16x16 and 32x32', async () => {
    const model = engine.createModel(unet, 4);
    const report = await checkParity(
      model,
      exportOnnx(model),
      inputs(
        2,
        [
          [16, 16],
          [32, 32],
        ],
        40,
      ),
      TOL,
    );
    log('U-Net', report);
    expect(report.ok).toBe(true);
    model.dispose();
  });

  it('flatten + linear head and 3-D convolution', async () => {
    const spec: ModelSpec = {
      input: { channels: 1, size: [4, 6, 6] },
      layers: [
        { type: 'conv3d', out: 3, kernel: 2, stride: 2 },
        { type: 'gelu' },
        { type: 'flatten' },
        { type: 'layernorm' },
        { type: 'linear', out: 4 },
        { type: 'sigmoid' },
      ],
      loss: { type: 'mse' },
    };
    const model = engine.createModel(spec, 6);
    // flatten fixes the feature count, so this model only runs at its training size: one resolution.
    const x = seeded(2 * 4 * 6 * 6, 50);
    const ref = await model.predict(x, [2, 1, 4, 6, 6]);
    const out = await runSession(await createSession(exportOnnx(model)), x, [2, 1, 4, 6, 6]);
    expect(out.shape).toEqual(ref.shape);
    let err = 0;
    out.data.forEach((v, i) => (err = Math.max(err, Math.abs(v - (ref.data[i] ?? NaN)))));
    expect(err).toBeLessThan(1e-5); // outputs in (0, 1); float32 rounding only
    model.dispose();
  });
});
