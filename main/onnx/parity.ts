// Parity check between an engine model and its ONNX export, run at several input resolutions. The model manager
// refuses to register an exported model that fails it; the GPU backend runs the same check on onnxruntime's WebGPU EP
// (a session passed in) before a model first runs there (main/models/runner-webgpu.ts).
import type { NormalizedSpec } from '../engine/spec.js';
import { createSession, runSession, type OnnxSession } from './runtime.js';

/** What the check needs from an engine model (the engine's Model satisfies it). */
export interface ParityModel {
  readonly spec: NormalizedSpec;
  predict(x: Float32Array, shape: number[], opts?: { rate?: number }): Promise<{ data: Float32Array; shape: number[] }>;
}

export interface ParityInput {
  /** (B, C, size...) channels-first, float32. */
  x: Float32Array;
  shape: number[];
}

/** Relative tolerance on max|onnx - engine| / max|engine|, plus an optional absolute floor for all-small outputs. */
export interface ParityTolerance {
  rel: number;
  abs?: number;
}

export interface ResolutionParity {
  /** Spatial size of this input. */
  size: number[];
  /** The S4ND rate the engine ran at (input.size / size; the ONNX graph derives it the same way or is fed it). */
  rate: number;
  maxAbs: number;
  maxRel: number;
  ok: boolean;
}

export interface ParityReport {
  ok: boolean;
  tolerance: ParityTolerance;
  resolutions: ResolutionParity[];
}

export class ParityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParityError';
  }
}

/**
 * [async] Runs the engine model and the ONNX model on every input and compares the outputs.
 * Needs inputs at >= 2 distinct spatial resolutions (the export's resolution flexibility is part of the contract).
 * The engine's rate for an input of spatial size s is base / s, which must be the same on every axis.
 * Throws ParityError for unusable inputs; a numeric mismatch is reported as ok: false, never thrown.
 * `opts.session`: an onnxruntime session of these bytes to check instead of a fresh CPU one (e.g. on the WebGPU EP);
 * the caller keeps it (not released here).
 */
export async function checkParity(
  model: ParityModel,
  onnxBytes: Uint8Array,
  inputs: ParityInput[],
  tolerance: number | ParityTolerance,
  opts: { session?: OnnxSession } = {},
): Promise<ParityReport> {
  const tol: ParityTolerance = typeof tolerance === 'number' ? { rel: tolerance } : tolerance;
  if (!(tol.rel >= 0) || (tol.abs !== undefined && !(tol.abs >= 0)))
    throw new ParityError(`tolerance must be non-negative, got ${JSON.stringify(tolerance)}`);
  const base = model.spec.input.size;
  const sizes = new Set(inputs.map((i) => i.shape.slice(2).join('x')));
  if (base.length > 0 && sizes.size < 2)
    throw new ParityError(
      `parity needs inputs at 2 or more spatial resolutions, got ${sizes.size} (${[...sizes].join(', ') || 'none'})`,
    );
  const session = opts.session ?? (await createSession(onnxBytes));
  try {
    const resolutions: ResolutionParity[] = [];
    for (const [i, input] of inputs.entries()) {
      const size = input.shape.slice(2);
      if (size.length !== base.length)
        throw new ParityError(
          `input ${i}: shape ${JSON.stringify(input.shape)} has ${size.length} spatial dims, the model takes ${base.length}`,
        );
      const rates = size.map((s, a) => (base[a] ?? s) / s);
      const rate = rates[0] ?? 1;
      if (rates.some((r) => Math.abs(r - rate) > 1e-12 * rate))
        throw new ParityError(
          `input ${i}: size ${size.join('x')} is not a uniform rescale of the base ${base.join('x')} (rates ${rates.join(', ')}); the engine takes one rate`,
        );
      const ref = await model.predict(input.x, input.shape, { rate });
      const out = await runSession(session, input.x, input.shape, rate);
      const e = compare(out.data, ref.data, out.shape, ref.shape);
      const ok = e.maxRel <= tol.rel || (tol.abs !== undefined && e.maxAbs <= tol.abs);
      resolutions.push({ size, rate, maxAbs: e.maxAbs, maxRel: e.maxRel, ok });
    }
    return { ok: resolutions.every((r) => r.ok), tolerance: tol, resolutions };
  } finally {
    if (!opts.session) await session.release();
  }
}

function compare(
  ours: Float32Array,
  ref: Float32Array,
  oursShape: number[],
  refShape: number[],
): { maxAbs: number; maxRel: number } {
  if (oursShape.join(',') !== refShape.join(',')) return { maxAbs: Infinity, maxRel: Infinity };
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs((ours[i] ?? NaN) - (ref[i] ?? NaN));
    num = Number.isNaN(d) ? Infinity : Math.max(num, d);
    den = Math.max(den, Math.abs(ref[i] ?? 0));
  }
  return { maxAbs: num, maxRel: den === 0 ? num : num / den };
}
