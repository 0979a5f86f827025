// ONNX emitter for the s4nd_time layer (native/src/ops/s4nd_time.h): the continuous-time S4D kernel along time,
// queried at the t each sample carries in a plane of a saved activation. Standard ops only; dynamic batch and
// spatial sizes. The per-mode constants dt_c·A_n and 2·C±_{c,n} are folded from the parameters at export.
import type { GraphBuilder } from './graph.js';

export interface S4ndTimeConfig {
  /** Input channels 2C. */
  in: number;
  d_state: number;
  /** Channel of the saved tensor holding the t plane, and the normalisation to undo: t = mean(plane)·std + mean. */
  channel: number;
  mean: number;
  std: number;
}

/**
 * x (B, 2C, S...) and the saved tensor `src` (B, Cs, S'...) -> (B, C, S...):
 *   t (B) = ReduceMean over space of src[:, channel] · std + mean
 *   K±(tau) (B, C) = ReduceSum_n 2·Re(C±_{c,n} · exp(dt_c A_n tau)) = Σ_n e^{dt_c Re A_n tau} (2Re C cos φ − 2Im C sin φ),
 *   φ = dt_c Im A_n tau;  y = u0 · K+(t) + u1 · K-(1 − t).
 */
export function emitS4ndTime(
  g: GraphBuilder,
  x: string,
  src: string,
  spatial: number,
  srcSpatial: number,
  cfg: S4ndTimeConfig,
  get: (name: string) => Float32Array,
): string {
  const C = cfg.in / 2,
    Nh = cfg.d_state / 2;
  const invDt = get('kernel.inv_dt'),
    aRe = get('kernel.A_real'),
    aIm = get('kernel.A_imag'),
    coef = get('kernel.C'); // (2, C, Nh, 2)
  const dtRe = new Float64Array(C * Nh),
    dtIm = new Float64Array(C * Nh);
  for (let c = 0; c < C; c++) {
    const dt = Math.exp(invDt[c] ?? 0);
    for (let n = 0; n < Nh; n++) {
      dtRe[c * Nh + n] = -dt * Math.exp(aRe[n] ?? 0);
      dtIm[c * Nh + n] = -dt * (aIm[n] ?? 0);
    }
  }
  const twice = (row: number, part: number): Float64Array =>
    Float64Array.from({ length: C * Nh }, (_, i) => 2 * (coef[(row * C * Nh + i) * 2 + part] ?? 0));
  const dims = [1, C, Nh];
  // t (B, 1, 1)
  const plane = g.slice(src, g.i64([cfg.channel]), g.i64([cfg.channel + 1]), [1]); // (B, 1, S'...)
  const axes = Array.from({ length: srcSpatial }, (_, i) => 2 + i);
  const tMean = g.op('ReduceMean', [plane], { axes: { ints: axes }, keepdims: { i: 0 } }); // (B, 1)
  const t = g.unsqueeze(g.op('Add', [g.op('Mul', [tMean, g.f32([cfg.std])]), g.f32([cfg.mean])]), [2]); // (B, 1, 1)
  // K±(τ) in float64 (onnxruntime's WebGPU EP leaves it to its CPU EP: GPU float32 Cos/Sin are ~2e-4 accurate).
  const t64 = g.op('Cast', [t], { to: { i: 11 } });
  const kernelAt = (tau: string, row: number): string => {
    const mag = g.op('Exp', [g.op('Mul', [g.f64(dtRe, dims), tau])]); // (B, C, Nh)
    const ph = g.op('Mul', [g.f64(dtIm, dims), tau]);
    const re = g.op('Sub', [
      g.op('Mul', [g.f64(twice(row, 0), dims), g.op('Cos', [ph])]),
      g.op('Mul', [g.f64(twice(row, 1), dims), g.op('Sin', [ph])]),
    ]);
    const k = g.op('ReduceSum', [g.op('Mul', [mag, re]), g.i64([2])], { keepdims: { i: 0 } }); // (B, C)
    return g.unsqueeze(
      g.op('Cast', [k], { to: { i: 1 } }),
      Array.from({ length: spatial }, (_, i) => 2 + i),
    ); // (B, C, 1...)
  };
  const kp = kernelAt(t64, 0);
  const km = kernelAt(g.op('Sub', [g.f64([1]), t64]), 1);
  const u0 = g.slice(x, g.i64([0]), g.i64([C]), [1]);
  const u1 = g.slice(x, g.i64([C]), g.i64([2 * C]), [1]);
  return g.op('Add', [g.op('Mul', [u0, kp]), g.op('Mul', [u1, km])]);
}
