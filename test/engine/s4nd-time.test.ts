// The s4nd_time layer (continuous-time S4D kernel along time, queried at a fractional t): finite-difference
// gradients of the native op, forward values against a double-precision TypeScript reference of the formula, the
// graph layer reading t from a saved (normalised) input plane, optimizer groups, and the spec validator's errors.
import { describe, expect, it } from 'vitest';

import { Engine, validateSpec, type ModelSpec } from '../../main/engine/index.js';
import { concatF32, gradcheck, randn, rng, type Input } from './gradcheck.js';

const engine = new Engine();

/** Flat layer parameters (inv_dt (C), A_real (N/2), A_imag (N/2), C (2, C, N/2, 2)) as the model initialises them. */
function initParams(C: number, dState: number, dt: [number, number], seed: number): Float32Array {
  const spec: ModelSpec = {
    input: { channels: 2 * C + 1, size: [2, 2] },
    layers: [
      { type: 'save', name: 'frames' },
      { type: 'conv2d', out: 2 * C, kernel: 1 },
      { type: 's4nd_time', d_state: dState, dt_min: dt[0], dt_max: dt[1], time: { from: 'frames', channel: 2 * C } },
    ],
    loss: { type: 'mse' },
  };
  const model = engine.createModel(spec, seed);
  const names = ['inv_dt', 'A_real', 'A_imag', 'C'].map((n) => `layers.2.kernel.${n}`);
  const parts = names.map((n) => model.getParam(n));
  model.dispose();
  return concatF32(parts);
}

/** K±_c(tau) = 2 Re sum_n C±_{c,n} exp(dt_c A_n tau), in double. row 0: forward (u0), row 1: backward (u1). */
function kernel(p: Float32Array, C: number, Nh: number, row: number, c: number, tau: number): number {
  const dt = Math.exp(p[c] ?? 0);
  let k = 0;
  for (let n = 0; n < Nh; n++) {
    const ar = -Math.exp(p[C + n] ?? 0),
      ai = -(p[C + Nh + n] ?? 0);
    const mag = Math.exp(dt * ar * tau),
      ph = dt * ai * tau;
    const i = C + 2 * Nh + ((row * C + c) * Nh + n) * 2;
    const cr = p[i] ?? 0,
      ci = p[i + 1] ?? 0;
    k += 2 * mag * (cr * Math.cos(ph) - ci * Math.sin(ph));
  }
  return k;
}

function reference(x: Float32Array, B: number, C: number, S: number, p: Float32Array, Nh: number, t: number[]) {
  const y = new Float64Array(B * C * S);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      const kp = kernel(p, C, Nh, 0, c, t[b] ?? 0),
        km = kernel(p, C, Nh, 1, c, 1 - (t[b] ?? 0));
      for (let s = 0; s < S; s++)
        y[(b * C + c) * S + s] = kp * (x[(b * 2 * C + c) * S + s] ?? 0) + km * (x[(b * 2 * C + C + c) * S + s] ?? 0);
    }
  return y;
}

describe('s4nd_time op', () => {
  const C = 3,
    dState = 8,
    B = 3;
  const times = [0.25, 0.5, 0.8];
  // dt in [0.1, 1] so that the kernels change visibly over tau in [0, 1] and every parameter gradient is sizeable.
  const params = initParams(C, dState, [0.1, 1], 7);
  const tIn: Input = { data: Float32Array.from(times), shape: [B], constant: true };

  it('forward matches the double-precision formula y = K+(t) u0 + K-(1 - t) u1', () => {
    const x = randn([B, 2 * C, 4, 5], rng(3));
    const out = engine.binding.opForwardBackward(
      's4nd_time',
      [x.data, params, tIn.data],
      [x.shape, [params.length], [B]],
      JSON.stringify({ d_state: dState }),
      null,
    );
    expect(out.shape).toEqual([B, C, 4, 5]);
    const ref = reference(x.data, B, C, 20, params, dState / 2, times);
    let err = 0,
      den = 0;
    ref.forEach((v, i) => {
      err += (v - (out.output[i] ?? 0)) ** 2;
      den += v * v;
    });
    expect(err / den).toBeLessThan(1e-12);
    expect(den).toBeGreaterThan(1);
  });

  /** Finite-difference check of the frames' and the parameters' gradients (200 samples). */
  const check = (corrupt?: (g: (Float32Array | null)[]) => void) =>
    gradcheck(
      engine.binding,
      's4nd_time',
      [randn([B, 2 * C, 3, 2], rng(4)), { data: params.slice(), shape: [params.length] }, tIn],
      { d_state: dState },
      { samples: 200, ...(corrupt ? { corrupt } : {}) },
    );

  it('gradients for the frames and every parameter pass finite differences (t gets none)', () => {
    const report = check();
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checked).toBeGreaterThan(150);
  });

  it('the gradient check fails when one parameter gradient is off by 10%', () => {
    const report = check((g) => {
      const gp = g[1];
      if (gp) gp[0] = (gp[0] ?? 0) * 1.1 + 0.05; // inv_dt of channel 0
    });
    expect(report.ok).toBe(false);
  });

  it('rejects odd channels and a wrong parameter count', () => {
    const call = (xs: number[], pn: number) =>
      engine.binding.opForwardBackward(
        's4nd_time',
        [new Float32Array(xs.reduce((a, b) => a * b, 1)), new Float32Array(pn), new Float32Array(xs[0] ?? 1)],
        [xs, [pn], [xs[0] ?? 1]],
        JSON.stringify({ d_state: dState }),
        null,
      );
    expect(() => call([1, 5, 2, 2], params.length)).toThrow(/even channel count/);
    expect(() => call([1, 2 * C, 2, 2], params.length - 1)).toThrow(/the layer needs/);
  });
});

describe('s4nd_time layer in a model', () => {
  const norm = { mean: 0.5, std: 0.25 };
  const spec: ModelSpec = {
    input: { channels: 5, size: [3, 4] },
    layers: [
      { type: 'save', name: 'frames' },
      { type: 'conv2d', out: 4, kernel: 1 },
      { type: 's4nd_time', d_state: 4, time: { from: 'frames', channel: 4, ...norm } },
    ],
    loss: { type: 'l1' },
  };

  it('reads t from the normalised plane of the saved input, undoes the normalisation, and matches the formula', async () => {
    const model = engine.createModel(spec, 3);
    const r = rng(9);
    const B = 2,
      S = 12;
    const x = new Float32Array(B * 5 * S);
    const times = [1 / 3, 0.75];
    for (let b = 0; b < B; b++)
      for (let c = 0; c < 5; c++)
        for (let s = 0; s < S; s++)
          x[(b * 5 + c) * S + s] = c === 4 ? ((times[b] ?? 0) - norm.mean) / norm.std : r() * 2 - 1;
    const out = await model.predict(x, [B, 5, 3, 4]);
    expect(out.shape).toEqual([B, 2, 3, 4]);
    // conv 1x1 by hand, then the formula.
    const w = model.getParam('layers.1.weight'),
      bias = model.getParam('layers.1.bias');
    const feats = new Float32Array(B * 4 * S);
    for (let b = 0; b < B; b++)
      for (let o = 0; o < 4; o++)
        for (let s = 0; s < S; s++) {
          let v = bias[o] ?? 0;
          for (let c = 0; c < 5; c++) v += (w[o * 5 + c] ?? 0) * (x[(b * 5 + c) * S + s] ?? 0);
          feats[(b * 4 + o) * S + s] = v;
        }
    const p = new Float32Array([
      ...model.getParam('layers.2.kernel.inv_dt'),
      ...model.getParam('layers.2.kernel.A_real'),
      ...model.getParam('layers.2.kernel.A_imag'),
      ...model.getParam('layers.2.kernel.C'),
    ]);
    const ref = reference(feats, B, 2, S, p, 2, times);
    ref.forEach((v, i) => expect(out.data[i]).toBeCloseTo(v, 4));
    // A different t gives a different output (the layer does read the plane).
    const x2 = x.slice();
    for (let s = 0; s < S; s++) x2[4 * S + s] = (0.9 - norm.mean) / norm.std;
    const out2 = await model.predict(x2, [B, 5, 3, 4]);
    expect(Math.abs((out2.data[0] ?? 0) - (out.data[0] ?? 0))).toBeGreaterThan(1e-4);
    model.dispose();
  });

  it('puts inv_dt and A in the ssm group and C in no_decay; the loss falls when training', async () => {
    const model = engine.createModel(spec, 3);
    const groups = Object.fromEntries(model.params().map((p) => [p.name, p.group]));
    expect(groups).toMatchObject({
      'layers.2.kernel.inv_dt': 'ssm',
      'layers.2.kernel.A_real': 'ssm',
      'layers.2.kernel.A_imag': 'ssm',
      'layers.2.kernel.C': 'no_decay',
    });
    expect(model.params().find((p) => p.name === 'layers.2.kernel.C')?.shape).toEqual([2, 2, 2, 2]);
    const r = rng(1);
    const B = 4,
      S = 12;
    const x = Float32Array.from({ length: B * 5 * S }, () => r() - 0.5);
    const targets = Float32Array.from({ length: B * 2 * S }, () => r() - 0.5);
    const first = await model.trainStep({ x, shape: [B, 5, 3, 4], targets }, { lr: 1e-2, ssmLr: 1e-3 });
    let last = first.loss;
    for (let i = 0; i < 30; i++)
      last = (await model.trainStep({ x, shape: [B, 5, 3, 4], targets }, { lr: 1e-2, ssmLr: 1e-3 })).loss;
    expect(last).toBeLessThan(first.loss * 0.9);
    model.dispose();
  });
});

describe('s4nd_time in the spec validator', () => {
  const base = (layer: Record<string, unknown>, channels = 10): unknown => ({
    input: { channels, size: [8, 8] },
    layers: [{ type: 'save', name: 'frames' }, { type: 'conv2d', out: 8, kernel: 1 }, layer],
    loss: { type: 'l1' },
  });
  it('accepts a valid layer, infers in and the output shape, and fills the defaults', () => {
    const v = validateSpec(base({ type: 's4nd_time', d_state: 8, time: { from: 'frames', channel: 9 } }));
    expect(v.output).toEqual({ kind: 'spatial', channels: 4, size: [8, 8] });
    expect(v.spec.layers[2]).toEqual({
      type: 's4nd_time',
      in: 8,
      d_state: 8,
      dt_min: 0.001,
      dt_max: 0.1,
      time: { from: 'frames', channel: 9, mean: 0, std: 1 },
    });
  });
  it('rejects an unknown saved name, a channel out of range, odd input channels and bad time options', () => {
    expect(() => validateSpec(base({ type: 's4nd_time', time: { from: 'nope', channel: 0 } }))).toThrow(
      /no earlier 'save' layer named 'nope'; saved so far: frames/,
    );
    expect(() => validateSpec(base({ type: 's4nd_time', time: { from: 'frames', channel: 10 } }))).toThrow(
      /channel 10 is out of range; saved 'frames' has 10 channels/,
    );
    expect(() =>
      validateSpec({
        input: { channels: 3, size: [8, 8] },
        layers: [
          { type: 'save', name: 'frames' },
          { type: 's4nd_time', time: { from: 'frames', channel: 0 } },
        ],
        loss: { type: 'l1' },
      }),
    ).toThrow(/needs an even channel count/);
    expect(() => validateSpec(base({ type: 's4nd_time' }))).toThrow(/Missing option 'time'/);
    expect(() => validateSpec(base({ type: 's4nd_time', time: { from: 'frames' } }))).toThrow(
      /needs 'from' and 'channel'/,
    );
    expect(() => validateSpec(base({ type: 's4nd_time', time: { from: 'frames', channel: 1, std: 0 } }))).toThrow(
      /Option 'std'/,
    );
    expect(() => validateSpec(base({ type: 's4nd_time', time: 3 }))).toThrow(/must be an object/);
    expect(() => validateSpec(base({ type: 's4nd_time', d_state: 5, time: { from: 'frames', channel: 1 } }))).toThrow(
      /must be even/,
    );
  });
});
