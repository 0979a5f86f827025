// Every zoo architecture is built by the engine and trained a few steps on real data; its loss on a fixed held-out
// batch falls. Classifiers: Fashion-MNIST; 2-D segmenters: axial slices of the ch2 brain with its brain mask;
// 3-D models: 16³ cubes of ch2; interpolators: frame triplets of vtest.avi.
import { describe, expect, it } from 'vitest';

import { Engine } from '../../main/engine/index.js';
import { INTERP_CHANNELS, interpolationInput, makeBatch, rng, type Sample } from '../../main/models/dataset.js';
import { ZOO, type ZooArchitecture } from '../../main/models/zoo.js';
import { brainCubes, brainSlices, fashionSamples, VTEST, videoTriplets } from './data.js';

const engine = new Engine();

/** vtest triplets (a, b -> middle) as time-conditioned interpolator samples at t = 1/2 (10 input channels). */
const timed = (samples: Sample[]): Sample[] =>
  samples.map((s) => {
    const n = s.input.length / 2;
    const input = interpolationInput(s.input.subarray(0, n), s.input.subarray(n), 0.5, { mean: 0.5, std: 0.25 });
    return { ...s, input, channels: INTERP_CHANNELS };
  });

async function trainFew(
  arch: ZooArchitecture,
  train: Sample[],
  held: Sample[],
  outputs: number,
  steps: number,
  lr: number,
): Promise<{ before: number; after: number; params: number }> {
  const first = train[0] as Sample;
  const model = engine.createModel(
    ZOO[arch].build({ channels: first.channels, size: first.size, outputs, normalize: { mean: 0.5, std: 0.25 } }),
    3,
  );
  // From random init (no blendInit): the test is whether the architecture learns, not how good blending is.
  const heldBatch = makeBatch(held, null, rng(0));
  const before = await model.evalLoss(heldBatch);
  const B = 16;
  const r = rng(1);
  for (let s = 0; s < steps; s++) {
    const part = Array.from({ length: B }, (_, i) => train[(s * B + i) % train.length] as Sample);
    await model.trainStep(makeBatch(part, { flip: true }, r), { lr });
  }
  const after = await model.evalLoss(heldBatch);
  const params = model.paramCount();
  model.dispose();
  return { before, after, params };
}

describe('model zoo on real data (loss on held-out data falls)', () => {
  const cases: [
    ZooArchitecture,
    () => Promise<{ train: Sample[]; held: Sample[]; outputs: number }>,
    number,
    number,
  ][] = [
    [
      's4nd-isotropic',
      async () => ({ train: fashionSamples('train', 0, 320), held: fashionSamples('t10k', 0, 64), outputs: 10 }),
      20,
      1e-2,
    ],
    [
      's4nd-convnext',
      async () => ({ train: fashionSamples('train', 0, 320), held: fashionSamples('t10k', 0, 64), outputs: 10 }),
      20,
      1e-2,
    ],
    [
      'conv2d',
      async () => ({ train: fashionSamples('train', 0, 320), held: fashionSamples('t10k', 0, 64), outputs: 10 }),
      60,
      2e-3,
    ],
    [
      's4nd-unet2d',
      async () => ({ train: await brainSlices(30, 150, 3, 32), held: await brainSlices(31, 150, 12, 32), outputs: 1 }),
      12,
      1e-2,
    ],
    [
      'conv-unet2d',
      async () => ({ train: await brainSlices(30, 150, 3, 32), held: await brainSlices(31, 150, 12, 32), outputs: 1 }),
      12,
      1e-2,
    ],
    [
      's4nd-unet3d',
      async () => {
        const a = await brainCubes(40, 12, 1);
        const b = await brainCubes(8, 12, 99);
        return { train: a.seg, held: b.seg, outputs: 1 };
      },
      8,
      1e-2,
    ],
    [
      'conv-unet3d',
      async () => {
        const a = await brainCubes(40, 12, 1);
        const b = await brainCubes(8, 12, 99);
        return { train: a.seg, held: b.seg, outputs: 1 };
      },
      8,
      5e-3,
    ],
    [
      's4nd-classifier3d',
      async () => {
        const a = await brainCubes(64, 12, 2);
        const b = await brainCubes(16, 12, 98);
        return { train: a.cls, held: b.cls, outputs: 2 };
      },
      10,
      1e-2,
    ],
    [
      'conv3d-classifier',
      async () => {
        const a = await brainCubes(64, 12, 2);
        const b = await brainCubes(16, 12, 98);
        return { train: a.cls, held: b.cls, outputs: 2 };
      },
      10,
      3e-3,
    ],
    [
      's4nd-interpolator',
      async () => ({
        train: timed(await videoTriplets(VTEST, 24, 32)),
        held: timed(await videoTriplets(VTEST, 6, 32, 300)),
        outputs: 3,
      }),
      10,
      5e-3,
    ],
    [
      'conv-interpolator',
      async () => ({
        train: timed(await videoTriplets(VTEST, 24, 32)),
        held: timed(await videoTriplets(VTEST, 6, 32, 300)),
        outputs: 3,
      }),
      10,
      5e-3,
    ],
  ];
  for (const [arch, load, steps, lr] of cases) {
    it(`${arch}: ${ZOO[arch].task}, ${steps} steps`, async () => {
      const { train, held, outputs } = await load();
      const t0 = Date.now();
      const r = await trainFew(arch, train, held, outputs, steps, lr);
      console.log(
        `${arch}: ${r.params} params, held-out loss ${r.before.toFixed(4)} -> ${r.after.toFixed(4)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      expect(Number.isFinite(r.after)).toBe(true);
      expect(r.after).toBeLessThan(r.before * 0.97); // at least 3% lower after a few steps
    });
  }
});

describe('interpolator initialisation', () => {
  it('an untrained interpolator outputs the linear blend of its two frames at the requested t (blendInit)', async () => {
    const [sample] = await videoTriplets(VTEST, 1, 24, 100);
    const s = sample as Sample;
    const per = 3 * 24 * 24;
    const a = s.input.subarray(0, per),
      b = s.input.subarray(per);
    const model = engine.createModel(
      ZOO['s4nd-interpolator'].build({
        channels: INTERP_CHANNELS,
        size: [24, 24],
        outputs: 3,
        normalize: { mean: 0.5, std: 0.25 },
      }),
      9,
    );
    ZOO['s4nd-interpolator'].init?.(model);
    let maxErr = 0;
    for (const t of [0.25, 0.5, 0.8]) {
      const x = interpolationInput(a, b, t, { mean: 0.5, std: 0.25 });
      const out = await model.predict(x, [1, INTERP_CHANNELS, 24, 24]);
      for (let i = 0; i < per; i++) {
        const blend = (1 - t) * (a[i] as number) + t * (b[i] as number);
        maxErr = Math.max(maxErr, Math.abs((out.data[i] as number) - blend));
      }
    }
    expect(maxErr).toBeLessThan(1e-5); // float32 blend computed in the input vs here
    model.dispose();
  });
});
