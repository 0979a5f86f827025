// Spec validation (rejects bad models before C++ sees them) and the learning-rate schedule.
import { describe, expect, it } from 'vitest';

import { SpecError, validateSpec, warmupCosineLr, type ModelSpec } from '../../main/engine/index.js';

const base = (layers: unknown[], extra: Record<string, unknown> = {}): unknown => ({
  input: { channels: 1, size: [28, 28] },
  layers,
  ...extra,
});
const head = [{ type: 'global_avg_pool' }, { type: 'linear', out: 10 }];

describe('validateSpec', () => {
  it('normalises a valid isotropic S4ND classifier and infers shapes', () => {
    const spec: ModelSpec = {
      input: { channels: 1, size: [28, 28] },
      layers: [
        { type: 'conv2d', out: 32, kernel: 4, stride: 4 },
        {
          type: 'residual',
          layers: [
            { type: 'layernorm' },
            { type: 's4nd', d_state: 64, bidirectional: true },
            { type: 'dropout', p: 0.1 },
          ],
        },
        { type: 'layernorm' },
        { type: 'gelu' },
        ...(head as ModelSpec['layers']),
      ],
      loss: { type: 'cross_entropy', label_smoothing: 0.1 },
    };
    const v = validateSpec(spec);
    expect(v.output).toEqual({ kind: 'flat', features: 10 });
    expect(v.spec.layers[0]).toEqual({ type: 'conv2d', in: 1, out: 32, kernel: 4, stride: 4, padding: 0, bias: true });
    const s4 = v.spec.layers[1]?.layers?.[1];
    expect(s4).toMatchObject({ type: 's4nd', d_model: 32, l_max: [7, 7], d_state: 64, mode: 's4d', linear: false });
    expect(v.spec.loss).toEqual({ type: 'cross_entropy', label_smoothing: 0.1 });
    expect(v.spec.optimizer).toEqual({
      weight_decay: 0.01,
      betas: [0.9, 0.999],
      eps: 1e-8,
      ssm_lr_scale: 0.1,
      clip_grad_norm: 0,
    });
    // A normalised spec validates to itself (checkpoints store it).
    expect(validateSpec(v.spec).spec).toEqual(v.spec);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', 42, /the model spec must be an object/],
    ['missing input', { layers: head }, /needs 'input': \{ channels, size \}/],
    [
      'unknown top-level key',
      { ...(base(head) as object), optimiser: {} },
      /Unknown option 'optimiser' in the model spec; expected one of input, layers, loss, optimizer/,
    ],
    [
      'unknown layer type',
      base([{ type: 'conv9d', out: 3 }]),
      /Unknown layer type "conv9d" at layers\[0\]; expected one of conv2d, conv3d, conv_transpose2d, linear/,
    ],
    [
      'misspelt option',
      base([{ type: 'conv2d', out: 8, kernal: 3 }, ...head]),
      /Unknown option 'kernal' in layers\[0\] \(conv2d\); expected one of out, kernel, stride, padding, bias/,
    ],
    [
      'missing required option',
      base([{ type: 'conv2d', out: 8 }, ...head]),
      /Missing option 'kernel' in layers\[0\] \(conv2d\)/,
    ],
    [
      'option of the wrong type',
      base([{ type: 'conv2d', out: '8', kernel: 3 }, ...head]),
      /Option 'out' in layers\[0\] \(conv2d\) must be an integer in \[1, 8192\], got "8"/,
    ],
    [
      'hostile channel count',
      base([{ type: 'conv2d', out: 1e9, kernel: 3 }, ...head]),
      /Option 'out' in layers\[0\] \(conv2d\) must be an integer in \[1, 8192\], got 1000000000/,
    ],
    [
      'hostile kernel',
      base([{ type: 'conv2d', out: 8, kernel: 1000 }, ...head]),
      /Option 'kernel' .* must be an integer in \[1, 16\]/,
    ],
    [
      'hostile input size',
      { input: { channels: 3, size: [4096, 4096, 4096] }, layers: head },
      /input produces .* values per sample .* above the limit/,
    ],
    [
      'kernel larger than the input',
      { input: { channels: 1, size: [4, 4] }, layers: [{ type: 'conv2d', out: 2, kernel: 5 }, ...head] },
      /kernel 5 with padding 0 does not fit input \(1, 4, 4\)/,
    ],
    [
      'linear on a spatial tensor',
      base([{ type: 'linear', out: 10 }]),
      /layers\[0\] \(linear\) needs flat features but gets \(1, 28, 28\); add a global_avg_pool or flatten before it/,
    ],
    [
      'residual body changing channels',
      base([{ type: 'residual', layers: [{ type: 'conv2d', out: 8, kernel: 1 }] }, ...head]),
      /layers\[0\] \(residual\): the body maps \(1, 28, 28\) to \(8, 28, 28\); a residual needs the same shape/,
    ],
    [
      'nested path in errors',
      base([{ type: 'residual', layers: [{ type: 'gelu' }, { type: 'layernorm', epsilon: 1 }] }, ...head]),
      /Unknown option 'epsilon' in layers\[0\]\.layers\[1\] \(layernorm\); expected one of eps/,
    ],
    ['concat without save', base([{ type: 'concat', with: 'enc1' }, ...head]), /no earlier 'save' layer named 'enc1'/],
    [
      'concat size mismatch',
      base([{ type: 'save', name: 'a' }, { type: 'max_pool', kernel: 2 }, { type: 'concat', with: 'a' }, ...head]),
      /cannot concat \(1, 14, 14\) with saved 'a' \(1, 28, 28\); spatial sizes differ/,
    ],
    [
      'glu on odd channels',
      base([{ type: 'conv2d', out: 3, kernel: 1 }, { type: 'glu' }, ...head]),
      /needs an even channel count but gets \(3, 28, 28\)/,
    ],
    ['odd d_state', base([{ type: 's4nd', d_state: 7 }, ...head]), /Option 'd_state' .* must be even, got 7/],
    ['s4nd on flat features', base([...head, { type: 's4nd' }]), /layers\[2\] \(s4nd\) needs a spatial input/],
    [
      'cross entropy on a dense output',
      base([{ type: 'conv2d', out: 2, kernel: 1 }]),
      /loss cross_entropy needs logits \(B, K\) but the model outputs \(2, 28, 28\) per sample/,
    ],
    [
      'unknown loss option',
      base(head, { loss: { type: 'cross_entropy', smoothing: 0.1 } }),
      /Unknown option 'smoothing' in loss \(cross_entropy\); expected one of label_smoothing/,
    ],
    [
      'inconsistent inferred field',
      base([{ type: 'conv2d', in: 3, out: 8, kernel: 1 }, ...head]),
      /Option 'in' in layers\[0\] \(conv2d\) is inferred as 1 but the spec says 3/,
    ],
    ['bad betas', base(head, { optimizer: { betas: [0.9, 1] } }), /optimizer.betas must be two numbers in \[0, 1\)/],
  ];
  it.each(bad)('rejects: %s', (_name, spec, message) => {
    expect(() => validateSpec(spec)).toThrow(SpecError);
    expect(() => validateSpec(spec)).toThrow(message);
  });

  it('rejects absurdly deep nesting', () => {
    let layers: unknown[] = [{ type: 'gelu' }];
    for (let i = 0; i < 12; i++) layers = [{ type: 'residual', layers }];
    expect(() => validateSpec(base([...layers, ...head]))).toThrow(/nests residual blocks deeper than 8/);
  });
});

describe('warmupCosineLr', () => {
  const s = { lr: 1e-2, warmupSteps: 10, totalSteps: 110, minLr: 1e-4 };
  it('warms up linearly, then decays along a cosine to minLr', () => {
    expect(warmupCosineLr(0, s)).toBeCloseTo(1e-3, 12);
    expect(warmupCosineLr(4, s)).toBeCloseTo(5e-3, 12);
    expect(warmupCosineLr(9, s)).toBeCloseTo(1e-2, 12);
    expect(warmupCosineLr(10, s)).toBeCloseTo(1e-2, 12); // cosine start
    expect(warmupCosineLr(60, s)).toBeCloseTo((1e-2 + 1e-4) / 2, 12); // half way
    expect(warmupCosineLr(35, s)).toBeCloseTo(1e-4 + 0.5 * (1e-2 - 1e-4) * (1 + Math.cos(Math.PI / 4)), 12);
    expect(warmupCosineLr(110, s)).toBe(1e-4);
    expect(warmupCosineLr(500, s)).toBe(1e-4);
  });
  it('rejects a warmup longer than the schedule', () => {
    expect(() => warmupCosineLr(0, { lr: 1, warmupSteps: 5, totalSteps: 3 })).toThrow(RangeError);
  });
});
