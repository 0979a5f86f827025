// The 3-D U-Nets of the zoo (s4nd-unet3d and its Conv3D baseline conv-unet3d) on a real volume: 16³ crops (2-voxel
// steps, 32 mm) of the MNI ch2 T1 brain (Debian mricron-data). Binary: the ch2bet brain mask. Multi-class (two
// sigmoid channels): the brain mask and the bright tissue inside it (T1 above the in-brain median: mostly white
// matter). Each model trains a few steps and its held-out loss must fall; then it is exported to ONNX and the export
// must pass the parity check against the engine at two resolutions (16³ and 8³: rate 2 for S4ND).
import { describe, expect, it } from 'vitest';

import { Engine } from '../../main/engine/index.js';
import { makeBatch, rng, type Sample } from '../../main/models/dataset.js';
import { volumeScale } from '../../main/models/media-input.js';
import { ZOO, type ZooArchitecture } from '../../main/models/zoo.js';
import { readNifti } from '../../main/media/nifti.js';
import { exportOnnx } from '../../main/onnx/export.js';
import { checkParity } from '../../main/onnx/parity.js';
import { CH2, CH2BET, ensurePackage } from './data.js';

const engine = new Engine();

interface Cubes {
  binary: Sample[];
  twoClass: Sample[];
}

/** n³ crops of ch2 at 2-voxel steps; crops whose centre lies in the brain mask half the time, anywhere otherwise. */
async function brainCubes(count: number, n: number, seed: number): Promise<Cubes> {
  ensurePackage('mricron-data', CH2);
  const t1 = (await readNifti(CH2)).volume;
  const bet = (await readNifti(CH2BET)).volume;
  const scale = volumeScale(t1);
  const [nx = 0, ny = 0, nz = 0] = t1.dims;
  const inBrain: number[] = [];
  for (let i = 0; i < bet.data.length; i += 7) if ((bet.data[i] ?? 0) > 0) inBrain.push(t1.data[i] ?? 0);
  inBrain.sort((a, b) => a - b);
  const median = inBrain[inBrain.length >> 1] ?? 0; // in-brain T1 median: splits grey/CSF from white matter
  let s = seed >>> 0;
  const rand = (m: number): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % m;
  };
  const stride = 2;
  const span = n * stride;
  const out: Cubes = { binary: [], twoClass: [] };
  while (out.binary.length < count) {
    const x0 = rand(nx - span),
      y0 = rand(ny - span),
      z0 = rand(nz - span);
    const centre = ((z0 + span / 2) * ny + (y0 + span / 2)) * nx + (x0 + span / 2);
    if (out.binary.length % 2 === 0 && !((bet.data[centre] ?? 0) > 0)) continue; // every other crop inside the brain
    const vox = n * n * n;
    const input = new Float32Array(vox);
    const mask = new Float32Array(vox);
    const two = new Float32Array(2 * vox); // (2, n, n, n): brain, bright tissue in the brain
    for (let z = 0; z < n; z++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          const src = ((z0 + z * stride) * ny + (y0 + y * stride)) * nx + (x0 + x * stride);
          const dst = (z * n + y) * n + x;
          const v = t1.data[src] ?? 0;
          const brain = (bet.data[src] ?? 0) > 0 ? 1 : 0;
          input[dst] = (v / scale - 0.3) / 0.3;
          mask[dst] = brain;
          two[dst] = brain;
          two[vox + dst] = brain && v > median ? 1 : 0;
        }
    out.binary.push({ input, channels: 1, size: [n, n, n], target: mask, targetChannels: 1 });
    out.twoClass.push({ input, channels: 1, size: [n, n, n], target: two, targetChannels: 2 });
  }
  return out;
}

const N = 16;
const train = brainCubes(24, N, 5);
const held = brainCubes(6, N, 77);

/** Half-size inputs for the second parity resolution: 2×2×2 average of the held-out crops. */
function halfSize(samples: Sample[]): { x: Float32Array; shape: number[] } {
  const h = N / 2;
  const x = new Float32Array(samples.length * h * h * h);
  samples.forEach((s, b) => {
    for (let z = 0; z < h; z++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < h; xx++) {
          let acc = 0;
          for (let d = 0; d < 8; d++)
            acc += s.input[((2 * z + (d >> 2)) * N + 2 * y + ((d >> 1) & 1)) * N + 2 * xx + (d & 1)] ?? 0;
          x[((b * h + z) * h + y) * h + xx] = acc / 8;
        }
  });
  return { x, shape: [samples.length, 1, h, h, h] };
}

/** Held-out Dice per class of logits > 0 against the targets, both (B, K, n³). */
function diceByClass(logits: Float32Array, targets: Float32Array, batch: number, classes: number): number[] {
  const vox = N * N * N;
  return Array.from({ length: classes }, (_, k) => {
    let inter = 0,
      p = 0,
      t = 0;
    for (let b = 0; b < batch; b++)
      for (let i = 0; i < vox; i++) {
        const j = (b * classes + k) * vox + i;
        const pi = (logits[j] ?? 0) > 0 ? 1 : 0;
        const ti = targets[j] ?? 0;
        inter += pi * ti;
        p += pi;
        t += ti;
      }
    return p + t === 0 ? 1 : (2 * inter) / (p + t);
  });
}

async function trainExportCheck(
  arch: ZooArchitecture,
  kind: keyof Cubes,
  steps: number,
): Promise<{ before: number; after: number; params: number; parity: string; dice: number[]; allFg: number[] }> {
  const tr = (await train)[kind];
  const ho = (await held)[kind];
  const outputs = (tr[0] as Sample).targetChannels;
  const entry = ZOO[arch];
  expect(entry.dims).toBe(3);
  const model = engine.createModel(entry.build({ channels: 1, size: [N, N, N], outputs }), 7);
  const heldBatch = makeBatch(ho, null, rng(0));
  const before = await model.evalLoss(heldBatch);
  const B = 4;
  const r = rng(1);
  for (let s = 0; s < steps; s++) {
    const part = Array.from({ length: B }, (_, i) => tr[(s * B + i) % tr.length] as Sample);
    await model.trainStep(makeBatch(part, { flip: true }, r), { lr: entry.lr });
  }
  const after = await model.evalLoss(heldBatch);
  const pred = await model.predict(heldBatch.x, heldBatch.shape);
  expect(pred.shape).toEqual([ho.length, outputs, N, N, N]);
  const dice = diceByClass(pred.data, heldBatch.targets, ho.length, outputs);
  // Baseline: the Dice of predicting foreground everywhere (what a model that learnt only "mostly brain" reaches).
  const allFg = diceByClass(new Float32Array(pred.data.length).fill(1), heldBatch.targets, ho.length, outputs);
  // Parity at the training size (rate 1) and at half size (rate 2 for S4ND); the export has dynamic spatial dims.
  const report = await checkParity(
    model,
    exportOnnx(model),
    [{ x: heldBatch.x, shape: heldBatch.shape }, halfSize(ho)],
    1e-4,
  );
  const parity = report.resolutions
    .map((p) => `${p.size.join('x')} maxRel ${p.maxRel.toExponential(2)}${p.ok ? '' : ' FAIL'}`)
    .join(', ');
  expect(report.resolutions.map((p) => p.size.join('x'))).toEqual(['16x16x16', '8x8x8']);
  expect(report.ok, parity).toBe(true);
  const params = model.paramCount();
  model.dispose();
  return { before, after, params, parity, dice, allFg };
}

describe('3-D U-Nets on real brain volumes (ch2, 16³ crops): train, export, ONNX parity', () => {
  const cases: [ZooArchitecture, keyof Cubes, number][] = [
    ['s4nd-unet3d', 'binary', 30],
    ['s4nd-unet3d', 'twoClass', 30],
    ['conv-unet3d', 'binary', 30],
    ['conv-unet3d', 'twoClass', 30],
  ];
  for (const [arch, kind, steps] of cases) {
    it(`${arch}, ${kind === 'binary' ? 'binary (brain mask)' : '2 classes (brain, bright tissue)'}: ${steps} steps`, async () => {
      const t0 = Date.now();
      const r = await trainExportCheck(arch, kind, steps);
      console.log(
        `${arch} ${kind}: ${r.params} params, held-out loss ${r.before.toFixed(4)} -> ${r.after.toFixed(4)}, Dice ${r.dice.map((d) => d.toFixed(3)).join(' / ')} (all-foreground ${r.allFg.map((d) => d.toFixed(3)).join(' / ')}); ONNX parity ${r.parity}; ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      expect(Number.isFinite(r.after)).toBe(true);
      expect(r.after).toBeLessThan(r.before * 0.9); // at least 10% lower after a few steps
      r.dice.forEach((d, k) => expect(d, `class ${k} Dice`).toBeGreaterThan((r.allFg[k] ?? 1) + 0.05));
    });
  }

  it('the two parameter counts are comparable (within 10%)', () => {
    const count = (a: ZooArchitecture): number => {
      const m = engine.createModel(ZOO[a].build({ channels: 1, size: [N, N, N], outputs: 2 }), 1);
      const p = m.paramCount();
      m.dispose();
      return p;
    };
    const s4nd = count('s4nd-unet3d');
    const conv = count('conv-unet3d');
    console.log(`params: s4nd-unet3d ${s4nd}, conv-unet3d ${conv}`);
    expect(Math.abs(s4nd - conv) / s4nd).toBeLessThan(0.1);
  });
});
