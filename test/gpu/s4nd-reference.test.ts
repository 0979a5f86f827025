// GPU S4ND (S4D kernel generation + bidirectional separable FFT convolution + D skip, linear=True) against the
// published reference files of the official layer (/work/shared/reference/s4nd, see its README): forward output,
// per-axis kernels and the gradients of sum(y * G) w.r.t. u, D and every S4D parameter.
// Measure: max|gpu - ref| / max|ref| per tensor (the README's measure), against the float64 reference.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, test } from 'vitest';

import { type GpuRuntime, type GpuTensor } from '../../main/gpu/runtime.js';
import {
  type S4dAxisParams,
  type S4ndConfig,
  releaseS4ndSaved,
  s4dKernel,
  s4dKernelBackward,
  s4ndBackward,
  s4ndForward,
  s4ndSizes,
} from '../../main/gpu/ops/s4nd.js';
import { relMax, testRuntime } from './gpu-test-device.js';
import { S4ND_REFERENCE_DIR } from '../s4nd-reference-dir.js';

const REF_DIR = S4ND_REFERENCE_DIR;

interface RefTensor {
  shape: number[];
  data: number[];
}
interface RefFile {
  spec: {
    d_model_H: number;
    d_state_N: number;
    channels_C: number;
    l_max: number[];
    rate: number;
    bandlimit: number | null;
    input_shape?: number[];
  };
  params: Record<string, RefTensor>;
  inputs: Record<string, RefTensor>;
  outputs: Record<'float32' | 'float64', Record<string, RefTensor | number>>;
  grads: Record<'float32' | 'float64', Record<string, RefTensor>>;
}

function load(name: string): RefFile {
  return JSON.parse(readFileSync(path.join(REF_DIR, name), 'utf8')) as RefFile;
}

function tensor(f: Record<string, RefTensor | number>, key: string): number[] {
  const t = f[key];
  if (!t || typeof t === 'number') throw new Error(`reference has no tensor '${key}'`);
  return t.data;
}

// Float32 on the GPU vs the float64 reference. The official float32 run is itself within 1.1e-6 (y), 5.3e-7 (kernels)
// and 6.5e-6 (grads) of float64; the README suggests 1e-4 for a float32 implementation. We hold the GPU to 1e-5.
const TOL = 1e-5;
const measured: string[] = [];
afterAll(() =>
  console.log(`GPU S4ND vs official float64 reference (max|err|/max|ref|, SwiftShader):\n  ${measured.join('\n  ')}`),
);

function check(label: string, gpu: Float32Array, ref: number[]): void {
  const e = relMax(gpu, ref);
  measured.push(`${label.padEnd(40)} ${e.toExponential(2)}`);
  expect(e, label).toBeLessThan(TOL);
}

function axisParams(rt: GpuRuntime, ref: RefFile, a: number): S4dAxisParams {
  const p = (n: string): GpuTensor => {
    const t = ref.params[`kernel.${a}.${n}`];
    if (!t) throw new Error(`missing kernel.${a}.${n}`);
    return rt.upload(Float32Array.from(t.data), t.shape);
  };
  return { invDt: p('inv_dt'), aReal: p('A_real'), aImag: p('A_imag'), b: p('B'), c: p('C') };
}

const PARAM_NAMES = [
  ['invDt', 'inv_dt'],
  ['aReal', 'A_real'],
  ['aImag', 'A_imag'],
  ['b', 'B'],
  ['c', 'C'],
] as const;

describe('GPU S4ND vs the official layer', () => {
  test('case7a: S4D kernel generation forward and backward', async () => {
    const rt = await testRuntime();
    const ref = load('case7a_kernels_s4d_case1.json');
    const h = ref.spec.d_model_H;
    const n2 = ref.spec.d_state_N / 2;
    const c = ref.spec.channels_C;
    for (let a = 0; a < 2; a++) {
      const prm = axisParams(rt, ref, a);
      const gk = ref.inputs[`Gk.${a}`];
      if (!gk) throw new Error('missing Gk');
      const dk = rt.upload(Float32Array.from(gk.data), gk.shape);
      const shape = { rows: 2 * c, h, n2, lk: 16, rate: 1, bandlimit: null };
      const r = rt.run((b) => ({ k: s4dKernel(rt, b, shape, prm), g: s4dKernelBackward(rt, b, shape, prm, dk) }));
      check(`case7a kernel.${a}`, await rt.read(r.k), tensor(ref.outputs.float64, `kernel.${a}`));
      for (const [ours, theirs] of PARAM_NAMES) {
        check(
          `case7a grad kernel.${a}.${theirs}`,
          await rt.read(r.g[ours]),
          tensor(ref.grads.float64, `kernel.${a}.${theirs}`),
        );
      }
    }
  });

  for (const [file, rate] of [
    ['case1_s4d_2d_16x16.json', 1],
    ['case2a_s4d_2d_8x8_rate2.json', 2],
    ['case2b_s4d_2d_32x32_rate0.5.json', 0.5],
  ] as const) {
    test(`${file}: layer forward and gradients`, async () => {
      const rt = await testRuntime();
      const ref = load(file);
      expect(ref.spec.rate).toBe(rate);
      const uRef = ref.inputs['u'];
      const gRef = ref.inputs['G'];
      const dRef = ref.params['D'];
      if (!uRef || !gRef || !dRef) throw new Error('missing u, G or D');
      const [nb, h, ...lengths] = uRef.shape as [number, number, ...number[]];
      const cfg: S4ndConfig = {
        batch: nb,
        h,
        channels: ref.spec.channels_C,
        n2: ref.spec.d_state_N / 2,
        lengths,
        lMax: ref.spec.l_max,
        rate: ref.spec.rate,
        bandlimit: ref.spec.bandlimit,
      };
      const axes = lengths.map((_, a) => axisParams(rt, ref, a));
      const u = rt.upload(Float32Array.from(uRef.data), uRef.shape);
      const dy = rt.upload(Float32Array.from(gRef.data), gRef.shape);
      const dSkip = rt.upload(Float32Array.from(dRef.data), dRef.shape);
      const name = file.split('_')[0] ?? file;
      const { lk } = s4ndSizes(cfg);
      expect(lk).toEqual(lengths.map((l) => Math.min(l, Math.round(16 / rate))));
      const r = rt.run((b) => {
        const f = s4ndForward(rt, b, cfg, u, axes, dSkip);
        return { f, g: s4ndBackward(rt, b, cfg, f.saved, dy, axes, dSkip) };
      });
      check(`${name} y`, await rt.read(r.f.y), tensor(ref.outputs.float64, 'y'));
      for (let a = 0; a < lengths.length; a++) {
        const k = r.f.saved.kernels[a];
        if (!k) throw new Error('missing kernel');
        check(`${name} kernel.${a}`, await rt.read(k), tensor(ref.outputs.float64, `kernel.${a}`));
      }
      check(`${name} grad u`, await rt.read(r.g.du), tensor(ref.grads.float64, 'u'));
      check(`${name} grad D`, await rt.read(r.g.dD), tensor(ref.grads.float64, 'D'));
      for (let a = 0; a < lengths.length; a++) {
        const ga = r.g.axes[a];
        if (!ga) throw new Error('missing axis grads');
        for (const [ours, theirs] of PARAM_NAMES) {
          check(
            `${name} grad kernel.${a}.${theirs}`,
            await rt.read(ga[ours]),
            tensor(ref.grads.float64, `kernel.${a}.${theirs}`),
          );
        }
      }
      releaseS4ndSaved(rt, r.f.saved, false);
    });
  }

  test('case5 (DPLR): kernels generated on the CPU and uploaded, convolution + D skip on the GPU', async () => {
    // DPLR kernel generation is not ported to WGSL: the engine computes k_a on the CPU, uploads it, and takes the
    // GPU's dL/dk_a back for the CPU DPLR backward. Here the kernels are the reference's own float64 kernels.
    const rt = await testRuntime();
    const ref = load('case5_dplr_2d_16x16.json');
    const uRef = ref.inputs['u'];
    const gRef = ref.inputs['G'];
    const dRef = ref.params['D'];
    if (!uRef || !gRef || !dRef) throw new Error('missing u, G or D');
    const [nb, h, ...lengths] = uRef.shape as [number, number, ...number[]];
    const cfg: S4ndConfig = {
      batch: nb,
      h,
      channels: ref.spec.channels_C,
      n2: ref.spec.d_state_N / 2,
      lengths,
      lMax: ref.spec.l_max,
      rate: ref.spec.rate,
      bandlimit: ref.spec.bandlimit,
    };
    const { lk } = s4ndSizes(cfg);
    const kernels = lengths.map((_, a) =>
      rt.upload(Float32Array.from(tensor(ref.outputs.float64, `kernel.${a}`)), [2 * cfg.channels, h, lk[a] ?? 1]),
    );
    const u = rt.upload(Float32Array.from(uRef.data), uRef.shape);
    const dy = rt.upload(Float32Array.from(gRef.data), gRef.shape);
    const dSkip = rt.upload(Float32Array.from(dRef.data), dRef.shape);
    const r = rt.run((b) => {
      const f = s4ndForward(rt, b, cfg, u, [], dSkip, kernels);
      return { f, g: s4ndBackward(rt, b, cfg, f.saved, dy, [], dSkip) };
    });
    check('case5 (DPLR, uploaded kernels) y', await rt.read(r.f.y), tensor(ref.outputs.float64, 'y'));
    check('case5 (DPLR, uploaded kernels) grad u', await rt.read(r.g.du), tensor(ref.grads.float64, 'u'));
    check('case5 (DPLR, uploaded kernels) grad D', await rt.read(r.g.dD), tensor(ref.grads.float64, 'D'));
    expect(r.g.dk.map((t) => t.shape)).toEqual(lk.map((n) => [2 * cfg.channels, h, n]));
    releaseS4ndSaved(rt, r.f.saved, true);
  });
});
