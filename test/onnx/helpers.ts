// Shared helpers of the ONNX export tests: reference cases as export sources, error measures, seeded inputs.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { parseCase, type S4ndCase, type Tensor } from '../../main/engine/s4nd-case.js';
import { validateSpec, type NormalizedSpec } from '../../main/engine/spec.js';
import type { ExportSource } from '../../main/onnx/export.js';

import { S4ND_REFERENCE_DIR as REFERENCE_DIR } from '../s4nd-reference-dir.js';

export { REFERENCE_DIR };

export function loadCase(file: string): S4ndCase {
  return parseCase(JSON.parse(readFileSync(path.join(REFERENCE_DIR, file), 'utf8')));
}

export function tensorOf(c: S4ndCase, kind: 'inputs' | 'outputs32', name: string): Tensor {
  const t = kind === 'inputs' ? c.inputs[name] : c.outputs32[name];
  if (t === undefined || typeof t === 'number') throw new Error(`${c.name}: no tensor ${kind}.${name}`);
  return t;
}

/**
 * A one-layer model spec around the case's S4ND layer, trained ("based") at `baseSize`, with the case's
 * parameters under the engine's names (layers.0.<official name>).
 */
export function caseSource(c: S4ndCase, baseSize: number[]): ExportSource {
  const s = c.spec;
  const { spec } = validateSpec({
    input: { channels: s.d_model, size: baseSize },
    layers: [
      {
        type: 's4nd',
        d_state: s.d_state,
        channels: s.channels,
        bidirectional: s.bidirectional,
        mode: s.mode,
        bandlimit: s.bandlimit,
        linear: s.linear,
        l_max: s.l_max,
      },
    ],
    loss: { type: 'mse' },
  });
  const lKernel = Array.from({ length: c.axes }, (_, a) => c.params[`kernel.${a}.l_kernel`]?.data[0] ?? 0);
  return {
    spec: spec satisfies NormalizedSpec,
    getParam(name: string): Float32Array {
      const t = c.params[name.replace(/^layers\.0\./, '')];
      if (!t) throw new Error(`no parameter '${name}'`);
      return Float32Array.from(t.data);
    },
    state: () => ({ 'layers.0.l_kernel': lKernel }),
  };
}

/** max|a - b| and max|a - b| / max|b| (the README's per-tensor measure). */
export function errors(ours: ArrayLike<number>, ref: ArrayLike<number>): { maxAbs: number; maxRel: number } {
  if (ours.length !== ref.length) throw new Error(`length ${ours.length} vs reference ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs((ours[i] ?? NaN) - (ref[i] ?? NaN));
    num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(ref[i] ?? 0));
  }
  return { maxAbs: num, maxRel: den === 0 ? num : num / den };
}

/** Seeded uniform(-1, 1) values (mulberry32). */
export function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
