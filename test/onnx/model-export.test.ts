// Whole models built by the engine from a spec with a fixed seed, exported to ONNX and compared with the engine's
// predict at several resolutions through the parity API; export errors for models the exporter cannot write.
import { describe, expect, it } from 'vitest';

import { Engine, type ModelSpec, type NormalizedSpec } from '../../main/engine/index.js';
import { exportOnnx, OnnxExportError } from '../../main/onnx/export.js';
import { checkParity, ParityError, type ParityInput } from '../../main/onnx/parity.js';
import { seeded } from './helpers.js';

const engine = new Engine();

// Engine: kernels in float64, convolution in float32 (its own FFT); ONNX: kernels and DFT in float32.
// Measured ~1e-6 relative; 1e-4 leaves room for other machines' float32 rounding.
const TOL = 1e-4;

function inputAt(channels: number, size: number[], seed: number, batch = 2): ParityInput {
  const shape = [batch, channels, ...size];
  return {
    x: seeded(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
    shape,
  };
}

const classifier: ModelSpec = {
  input: { channels: 1, size: [28, 28] },
  layers: [
    { type: 'conv2d', out: 8, kernel: 4, stride: 4 },
    { type: 'residual', layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: 8 }, { type: 'dropout', p: 0.1 }] },
    { type: 'residual', layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: 8, bandlimit: 0.5 }] },
    { type: 'global_avg_pool' },
    { type: 'layernorm' },
    { type: 'linear', out: 10 },
  ],
  loss: { type: 'cross_entropy' },
};

describe('S4ND classifier exported to ONNX vs engine predict', () => {
  it('matches at 28x28 (rate 1), 14x14 (rate 2) and 56x56 (rate 0.5), rate derived from the input size', async () => {
    const model = engine.createModel(classifier, 7);
    // A few training steps so the parameters are not at their structured initial values.
    for (let s = 0; s < 3; s++) {
      const x = seeded(4 * 28 * 28, 100 + s);
      await model.trainStep({ x, shape: [4, 1, 28, 28], targets: Float32Array.from([0, 3, 5, 9]) }, { lr: 3e-2 });
    }
    const bytes = exportOnnx(model);
    const report = await checkParity(
      model,
      bytes,
      [inputAt(1, [28, 28], 1), inputAt(1, [14, 14], 2, 3), inputAt(1, [56, 56], 3, 1)], // batch is dynamic too
      TOL,
    );
    for (const r of report.resolutions)
      console.log(
        `classifier ${r.size.join('x')} rate ${r.rate}: maxAbs ${r.maxAbs.toExponential(2)} maxRel ${r.maxRel.toExponential(2)}`,
      );
    expect(report.resolutions.map((r) => r.size.join('x'))).toEqual(['28x28', '14x14', '56x56']);
    expect(report.ok).toBe(true);
    model.dispose();
  });

  it('takes an explicit rate input when exported with rate: "input"', async () => {
    const model = engine.createModel(classifier, 8);
    const report = await checkParity(
      model,
      exportOnnx(model, { rate: 'input' }),
      [inputAt(1, [28, 28], 4), inputAt(1, [14, 14], 5)],
      TOL,
    );
    expect(report.ok).toBe(true);
    model.dispose();
  });

  it('matches with the DFT-op convolution too', async () => {
    const model = engine.createModel(classifier, 10);
    const report = await checkParity(
      model,
      exportOnnx(model, { s4ndConv: 'dft' }),
      [inputAt(1, [28, 28], 8), inputAt(1, [56, 56], 9)],
      TOL,
    );
    for (const r of report.resolutions)
      console.log(
        `classifier (dft) ${r.size.join('x')}: maxAbs ${r.maxAbs.toExponential(2)} maxRel ${r.maxRel.toExponential(2)}`,
      );
    expect(report.ok).toBe(true);
    model.dispose();
  });

  it('reports a mismatch (ok: false) instead of passing a wrong model', async () => {
    const model = engine.createModel(classifier, 9);
    const bytes = exportOnnx(model);
    const w = model.getParam('layers.5.bias');
    model.setParam(
      'layers.5.bias',
      w.map((v) => v + 0.5),
    );
    const report = await checkParity(model, bytes, [inputAt(1, [28, 28], 6), inputAt(1, [14, 14], 7)], TOL);
    expect(report.ok).toBe(false);
    expect(report.resolutions.every((r) => !r.ok && r.maxAbs > 0.4)).toBe(true);
    model.dispose();
  });

  it('refuses a parity check at a single resolution', async () => {
    const model = engine.createModel(classifier, 9);
    await expect(checkParity(model, exportOnnx(model), [inputAt(1, [28, 28], 1)], TOL)).rejects.toThrow(ParityError);
    model.dispose();
  });
});

describe('export errors', () => {
  it('names the layer and the exportable types for an unsupported layer', () => {
    const spec = {
      input: { channels: 1, size: [8, 8] },
      layers: [
        { type: 'conv2d', in: 1, out: 2, kernel: 1, stride: 1, padding: 0, bias: true },
        { type: 'residual', layers: [{ type: 'lstm', hidden: 4 }] },
      ],
      loss: { type: 'mse' },
      optimizer: { weight_decay: 0, betas: [0.9, 0.999], eps: 1e-8, ssm_lr_scale: 0.1, clip_grad_norm: 0 },
    } as unknown as NormalizedSpec;
    const src = { spec, getParam: () => new Float32Array(2) };
    expect(() => exportOnnx(src)).toThrow(OnnxExportError);
    expect(() => exportOnnx(src)).toThrow(
      /layers\[1\]\.layers\[0\] \(lstm\): layer type 'lstm' cannot be exported to ONNX; exportable types: conv2d/,
    );
  });

  it('names the layer whose parameter has the wrong size', () => {
    const model = engine.createModel(
      { input: { channels: 2, size: [6, 6] }, layers: [{ type: 's4nd', d_state: 4 }], loss: { type: 'mse' } },
      1,
    );
    const src = {
      spec: model.spec,
      getParam: (name: string): Float32Array =>
        name.endsWith('kernel.1.A_real') ? new Float32Array(3) : model.getParam(name),
    };
    expect(() => exportOnnx(src)).toThrow(
      "layers[0] (s4nd): ONNX graph: 'layers.0.kernel.1.A_real' has 3 values but dims [1, 2] need 2",
    );
    model.dispose();
  });

  it('names the parameter a source cannot provide', () => {
    const model = engine.createModel(
      { input: { channels: 1, size: [4, 4] }, layers: [{ type: 'conv2d', out: 2, kernel: 1 }], loss: { type: 'mse' } },
      1,
    );
    const src = {
      spec: model.spec,
      getParam: (): Float32Array => {
        throw new Error('gone');
      },
    };
    expect(() => exportOnnx(src)).toThrow("layers[0] (conv2d): cannot read parameter 'layers.0.weight'");
    model.dispose();
  });
});
