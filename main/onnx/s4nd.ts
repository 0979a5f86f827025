// The S4ND layer (/work/shared/reference/s4nd/README.md) in standard ONNX ops, with kernel generation inside the
// graph so the exported layer keeps its resolution flexibility: every length (L, Lk, P) is derived at run time
// from the input's dynamic shape and the rate.
//
// Per spatial axis a (tensor axis 2 + a of the (B, H, L_0, ...) input):
//   L      = Shape(u)[2 + a]                                   int64
//   Lk     = min(L, Round(l_max / rate))                       float64 Round = half to even, like Python round()
//   P      = L + Lk
//   S4D:   dt = exp(inv_dt) * rate, dtA, Bbar (ZOH), W = mask * C * Bbar        (real/imag pairs, float32)
//          k  = 2 * (W_re @ (e^{l Re dtA} cos(l Im dtA)) - W_im @ (e^{l Re dtA} sin(l Im dtA))),  l = Range(0, Lk)
//   DPLR:  the official generating-function form: with M = round(l_kernel / rate), S_j = c̃ (I - ω_j Ā)⁻¹ B̄ at the M
//          roots of unity, evaluated by Cauchy sums over the N modes plus a rank-1 (Sherman-Morrison) correction,
//          then k = Re IDFT_M(S)[:Lk]. Only rate-free vectors (λ, c̃⊙b, c̃⊙p, p̄⊙b, |p|²) are precomputed (dplr.ts).
//   kb     = [k_fwd, zeros(L - Lk), reverse(k_bwd)]            (C, H, P) two-sided circular kernel
// Convolution, one axis at a time (the N-D kernel is a rank-1 outer product, so this is exact), either
//   direct: T[c, h, i, p] = kb[c, h, (i - p) mod P]             (C, H, L, L) Toeplitz, y <- T @ y along the axis
//   dft:    y = Re IDFT(DFT_P(y) * DFT(kb))[..., :L]             on (B, C, H, L_0, ..., 2), DFT_P zero-pads to P
// then y + D * u, channels flattened to c * H + h, and the optional GELU -> 1x1 Conv -> GLU head.
import type { GraphBuilder } from './graph.js';
import { dplrConstants, type DplrVariant } from './dplr.js';

/** The normalised s4nd layer options the exporter needs (see main/engine/spec.ts). */
export interface S4ndLayerConfig {
  d_model: number;
  d_state: number;
  channels: number;
  bidirectional: boolean;
  mode: 's4d' | 'dplr';
  bandlimit: number;
  linear: boolean;
  l_max: number[];
  /** 'direct': per-axis Toeplitz MatMul (default, fast on CPU); 'dft': FFT convolution with the DFT op. */
  conv: 'direct' | 'dft';
}

export interface S4ndParams {
  /** Parameter tensor by its name relative to the layer (e.g. 'kernel.0.A_real', 'D'). Throws if missing. */
  get(name: string): Float32Array;
  /** DPLR only: the l_kernel state of axis a (the length C̃ is tuned to); 0 = not set up yet. */
  lKernel(axis: number): number;
}

interface Cx {
  re: string;
  im: string;
}

class Emit {
  constructor(readonly g: GraphBuilder) {}
  mul(a: string, b: string): string {
    return this.g.op('Mul', [a, b]);
  }
  add(a: string, b: string): string {
    return this.g.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.g.op('Sub', [a, b]);
  }
  div(a: string, b: string): string {
    return this.g.op('Div', [a, b]);
  }
  neg(a: string): string {
    return this.g.op('Neg', [a]);
  }
  exp(a: string): string {
    return this.g.op('Exp', [a]);
  }
  cmul(a: Cx, b: Cx): Cx {
    return {
      re: this.sub(this.mul(a.re, b.re), this.mul(a.im, b.im)),
      im: this.add(this.mul(a.re, b.im), this.mul(a.im, b.re)),
    };
  }
  cdiv(a: Cx, b: Cx): Cx {
    const den = this.add(this.mul(b.re, b.re), this.mul(b.im, b.im));
    return {
      re: this.div(this.add(this.mul(a.re, b.re), this.mul(a.im, b.im)), den),
      im: this.div(this.sub(this.mul(a.im, b.re), this.mul(a.re, b.im)), den),
    };
  }
  /** exp(z * l) as (re, im): z (..., 1) times l (Lk) broadcast to (..., Lk). */
  cexpScaled(z: Cx, l: string): Cx {
    const mag = this.exp(this.mul(z.re, l));
    const ph = this.mul(z.im, l);
    return { re: this.mul(mag, this.g.op('Cos', [ph])), im: this.mul(mag, this.g.op('Sin', [ph])) };
  }
  /** Splits a (..., 2) tensor holding (re, im) pairs. */
  split(x: string, rank: number): Cx {
    const [re, im] = this.g.node('Split', [x], { axis: { i: rank - 1 } }, 2);
    if (!re || !im) throw new Error('unreachable: Split without two outputs');
    return { re: this.g.squeeze(re, [rank - 1]), im: this.g.squeeze(im, [rank - 1]) };
  }
  /** Builds a (..., 2) tensor from (re, im). */
  join(z: Cx): string {
    return this.g.op('Concat', [this.g.unsqueeze(z.re, [-1]), this.g.unsqueeze(z.im, [-1])], { axis: { i: -1 } });
  }
}

/** Per-axis run-time lengths. */
interface AxisLengths {
  L: string; // int64 [1]
  Lk: string; // int64 [1]
  P: string; // int64 [1]
}

/**
 * Emits one S4ND layer on `u` (B, H, L_0..L_{D-1}), float32. `rates[a]` is a float64 [1] value: the rate of axis a.
 * Returns the output value: (B, C*H, L...) if linear, else (B, H, L...).
 */
export function emitS4nd(
  g: GraphBuilder,
  u: string,
  cfg: S4ndLayerConfig,
  params: S4ndParams,
  rates: string[],
  prefix: string,
): string {
  const e = new Emit(g);
  const H = cfg.d_model;
  const C = cfg.channels;
  const D = cfg.l_max.length;
  const shapeU = g.op('Shape', [u]);
  const w = (name: string, dims: number[]): string => g.weight(`${prefix}.${name}`, params.get(name), dims);

  // u as (B, 1, H, L...): the head axis broadcasts against the kernels' (C, H, ...).
  let y = g.unsqueeze(u, [1]);
  for (let a = 0; a < D; a++) {
    const rate = rates[a];
    const lMax = cfg.l_max[a];
    if (rate === undefined || lMax === undefined) throw new Error(`s4nd export: no rate or l_max for axis ${a}`);
    const len = axisLengths(g, shapeU, a, lMax, rate);
    const k =
      cfg.mode === 's4d'
        ? s4dKernel(e, cfg, params, w, a, rate, len.Lk)
        : dplrKernel(e, cfg, params, w, a, rate, len.Lk); // (rows, H, Lk)
    // Two-sided circular kernel (C, H, P).
    const fwd = cfg.bidirectional ? g.slice(k, g.i64([0]), g.i64([C]), [0]) : k; // forward rows [0, C)
    let kb: string;
    if (cfg.bidirectional) {
      const bwd = g.slice(k, g.i64([C]), g.i64([2 * C]), [0]);
      // Lk-1, ..., 0 as (Lk - 1) - Range(0, Lk): a descending Range with this computed start came out empty here.
      const up = g.op('Range', [g.i64([0], []), g.squeeze(len.Lk, [0]), g.i64([1], [])]);
      const rev = g.op('Sub', [g.op('Sub', [len.Lk, g.i64([1])]), up]);
      const bwdRev = g.op('Gather', [bwd, rev], { axis: { i: 2 } });
      const gap = g.op('Sub', [len.L, len.Lk]);
      const fwdPad = g.op('Pad', [fwd, g.op('Concat', [g.i64([0, 0, 0, 0, 0]), gap], { axis: { i: 0 } })]);
      kb = g.op('Concat', [fwdPad, bwdRev], { axis: { i: 2 } });
    } else {
      kb = g.op('Pad', [fwd, g.op('Concat', [g.i64([0, 0, 0, 0, 0]), len.L], { axis: { i: 0 } })]);
    }
    y = cfg.conv === 'dft' ? convAxisDft(e, y, kb, len, a, D) : convAxisDirect(e, y, kb, len, a, D, shapeU);
  }
  // D skip and channel flattening: (B, C, H, L...) -> (B, C*H, L...).
  const dSkip = g.reshape(w('D', [C, H]), g.i64([1, C, H, ...Array<number>(D).fill(1)]));
  y = e.add(y, e.mul(dSkip, g.unsqueeze(u, [1])));
  const outShape = g.op(
    'Concat',
    [g.dim(shapeU, 0), g.i64([C * H]), g.slice(shapeU, g.i64([2]), g.i64([2 + D]), [0])],
    { axis: { i: 0 } },
  );
  y = g.reshape(y, outShape);
  if (cfg.linear) return y;
  // GELU (exact erf) -> pointwise Linear(C*H -> 2H) as a 1x1 Conv -> GLU.
  const z = gelu(g, y);
  const ones = Array<number>(D).fill(1);
  const v = g.op('Conv', [z, w('output_linear.0.weight', [2 * H, C * H, ...ones]), w('output_linear.0.bias', [2 * H])]);
  const [val, gate] = g.node('Split', [v], { axis: { i: 1 } }, 2);
  if (!val || !gate) throw new Error('unreachable: Split without two outputs');
  return e.mul(val, g.op('Sigmoid', [gate]));
}

/** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(g: GraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.f32([Math.SQRT1_2], [])])]);
  return g.op('Mul', [g.op('Mul', [x, g.f32([0.5], [])]), g.op('Add', [erf, g.f32([1], [])])]);
}

function axisLengths(g: GraphBuilder, shapeU: string, a: number, lMax: number, rate: string): AxisLengths {
  const L = g.dim(shapeU, 2 + a);
  // Round() is half-to-even, matching Python's round(); computed in float64 like the engine.
  const kLen = g.op('Cast', [g.op('Round', [g.op('Div', [g.f64([lMax]), rate])])], { to: { i: 7 } });
  const Lk = g.op('Min', [L, kLen]);
  return { L, Lk, P: g.op('Add', [L, Lk]) };
}

/** l = 0 .. Lk-1 as float32 (Lk), or float64 with `to` = 11. */
function lagRange(g: GraphBuilder, Lk: string, to = 1): string {
  return g.op('Cast', [g.op('Range', [g.i64([0], []), g.squeeze(Lk, [0]), g.i64([1], [])])], { to: { i: to } });
}

/**
 * S4D kernel of axis a: (rows, H, Lk), float32. Generated in float64 (the float32 weights are cast exactly, the
 * float64 rate is used as is) and rounded to float32 once at the end, like the engine (native/src/s4nd, double).
 * onnxruntime's WebGPU EP has no float64 kernels, so this small (H·N·Lk) part runs on its CPU EP: float32 Cos/Sin on
 * a GPU are only accurate to ~2e-4 absolute (SwiftShader measured; Vulkan allows 2^-11 on [-π, π]), which made the
 * exported models miss the 1e-3 parity check there, and a float32 phase Im(dtA)·l loses ~6e-8·|phase| for long kernels.
 */
function s4dKernel(
  e: Emit,
  cfg: S4ndLayerConfig,
  params: S4ndParams,
  w32: (name: string, dims: number[]) => string,
  a: number,
  rate: string,
  Lk: string,
): string {
  const g = e.g;
  const H = cfg.d_model;
  const N2 = cfg.d_state / 2;
  const rows = cfg.bidirectional ? 2 * cfg.channels : cfg.channels;
  const p = `kernel.${a}`;
  const w = (name: string, dims: number[]): string => g.op('Cast', [w32(name, dims)], { to: { i: 11 } }); // float64
  const dtBase = e.exp(w(`${p}.inv_dt`, [H, 1])); // (H, 1)
  const dt = e.mul(dtBase, rate); // (H, 1)
  const aImagW = w(`${p}.A_imag`, [1, N2]);
  const A: Cx = { re: e.neg(e.exp(w(`${p}.A_real`, [1, N2]))), im: e.neg(aImagW) }; // (1, N/2)
  const dtA: Cx = { re: e.mul(dt, A.re), im: e.mul(dt, A.im) }; // (H, N/2)
  const one = g.f64([1], []);
  const ex = e.cexpScaled(dtA, one); // exp(dtA)
  const q = e.cdiv({ re: e.sub(ex.re, one), im: ex.im }, A); // (exp(dtA) - 1) / A, (H, N/2)
  const B = e.split(w(`${p}.B`, [1, 1, N2, 2]), 4); // (1, 1, N/2)
  const Bbar = e.cmul({ re: g.squeeze(B.re, [0]), im: g.squeeze(B.im, [0]) }, q); // (H, N/2)
  const Cp = e.split(w(`${p}.C`, [rows, H, N2, 2]), 4); // (rows, H, N/2)
  let W = e.cmul(Cp, Bbar); // (rows, H, N/2)
  if (cfg.bandlimit > 0) {
    // Mode kept iff dt_base * |A_imag| / (2 pi) < bandlimit / 2 (rate-free, strict).
    const freq = e.mul(e.mul(dtBase, g.op('Abs', [aImagW])), g.f64([1 / (2 * Math.PI)], []));
    const mask = g.op('Cast', [g.op('Less', [freq, g.f64([cfg.bandlimit / 2], [])])], { to: { i: 11 } });
    W = { re: e.mul(W.re, mask), im: e.mul(W.im, mask) };
  }
  const k = vandermonde(e, W, { re: g.unsqueeze(dtA.re, [-1]), im: g.unsqueeze(dtA.im, [-1]) }, Lk, 2);
  return g.op('Cast', [k], { to: { i: 1 } });
}

/**
 * k[r, h, l] = scale * Re Σ_n W[r, h, n] z[h, n]^l with z = exp(dtA), all float64:
 * W (rows, H, M), dtA (H, M, 1) -> (rows, H, Lk).
 */
function vandermonde(e: Emit, W: Cx, dtA: Cx, Lk: string, scale: number): string {
  const g = e.g;
  const V = e.cexpScaled(dtA, lagRange(g, Lk, 11)); // (H, M, Lk)
  const perm = { perm: { ints: [1, 0, 2] } };
  const wr = g.op('Transpose', [W.re], perm); // (H, rows, M)
  const wi = g.op('Transpose', [W.im], perm);
  const k = e.sub(g.op('MatMul', [wr, V.re]), g.op('MatMul', [wi, V.im])); // (H, rows, Lk)
  return g.op('Transpose', [e.mul(k, g.f64([scale], []))], perm); // (rows, H, Lk)
}

/**
 * DPLR kernel of axis a: (rows, H, Lk). With M = round(l_kernel / rate) and ω_j = exp(-2πi j / M), the DFT of the
 * M-periodic kernel is S_j = c̃ (I - ω_j Ā)⁻¹ B̄ (the (I - Ā^M)⁻¹ of C_eff cancels against the geometric sum), which
 * for the bilinear Ā, B̄ is S_j = dt · c̃ ((1 - ω_j) I - t_j A)⁻¹ b with t_j = (1 + ω_j) dt / 2. With A = diag(λ) - p pᴴ,
 * Sherman-Morrison gives S = dt (k00 - t k01 k10 / (1 + t k11)), k_xy = Σ_n x_n y_n / ((1 - ω) - t λ_n),
 * and k = Re IDFT_M(S)[0 : Lk]. All lengths are dynamic; the rate-free vectors come from dplrConstants.
 */
function dplrKernel(
  e: Emit,
  cfg: S4ndLayerConfig,
  params: S4ndParams,
  w: (name: string, dims: number[]) => string,
  a: number,
  rate: string,
  Lk: string,
): string {
  const g = e.g;
  const H = cfg.d_model;
  const N = cfg.d_state;
  const rows = cfg.bidirectional ? 2 * cfg.channels : cfg.channels;
  const p = `kernel.${a}`;
  const k = dplrConstants(
    {
      invDt: params.get(`${p}.inv_dt`),
      aReal: params.get(`${p}.A_real`),
      aImag: params.get(`${p}.A_imag`),
      P: params.get(`${p}.P`),
      B: params.get(`${p}.B`),
      C: params.get(`${p}.C`),
    },
    { H, N, rows, bandlimit: cfg.bandlimit, lMax: cfg.l_max[a] ?? 1, lKernel: params.lKernel(a) },
  );
  // float64 throughout, like the S4D kernel (see s4dKernel); k is rounded to float32 once at the end.
  const cx = (v: { re: ArrayLike<number>; im: ArrayLike<number> }, dims: number[]): Cx => ({
    re: g.f64(v.re, dims),
    im: g.f64(v.im, dims),
  });
  const invDt = g.op('Cast', [w(`${p}.inv_dt`, [H, 1])], { to: { i: 11 } });
  const dt = e.mul(e.exp(invDt), rate); // (H, 1)
  // Growth rule of this call: while round(rate·Lk) > l_kernel, l_kernel doubles (c̃ precomputed per doubling).
  // grew[i]: round(rate·Lk) > l_kernel·2^i; the variant with m doublings is picked by a Where chain.
  const cL = g.op('Round', [e.mul(rate, g.op('Cast', [Lk], { to: { i: 11 } }))]);
  const grew = k.variants.slice(0, -1).map((v) => g.op('Greater', [cL, g.f64([v.lKernel])]));
  const pick = (values: string[]): string =>
    grew.reduceRight<string>((acc, cond, i) => g.op('Where', [cond, acc, values[i] ?? acc]), values.at(-1) ?? '');
  const variant = (f: (v: DplrVariant) => string): string => pick(k.variants.map(f));
  const lKernel = variant((v) => g.f64([v.lKernel]));
  // M = round(l_kernel / rate) (half to even) and the M roots of unity.
  const M = g.op('Cast', [g.op('Round', [g.op('Div', [lKernel, rate])])], { to: { i: 7 } });
  const Mf = g.op('Cast', [M], { to: { i: 11 } });
  const theta = e.div(e.mul(lagRange(g, M, 11), g.f64([-2 * Math.PI], [])), Mf); // (M)
  const omega: Cx = { re: g.op('Cos', [theta]), im: g.op('Sin', [theta]) };
  const halfDt = e.mul(dt, g.f64([0.5], [])); // (H, 1)
  const one = g.f64([1], []);
  const t: Cx = { re: e.mul(halfDt, e.add(one, omega.re)), im: e.mul(halfDt, omega.im) }; // (H, M)
  // den[h, j, n] = (1 - ω_j) - t[h, j] λ_n, R = 1 / den: (H, M, N)
  const lam = cx(k.lambda, [1, 1, N]);
  const t3: Cx = { re: g.unsqueeze(t.re, [-1]), im: g.unsqueeze(t.im, [-1]) }; // (H, M, 1)
  const tl = e.cmul(t3, lam);
  const oneMinusW: Cx = { re: g.unsqueeze(e.sub(one, omega.re), [-1]), im: g.unsqueeze(e.neg(omega.im), [-1]) }; // (M, 1)
  const R = e.cdiv({ re: one, im: g.f64([0], []) }, { re: e.sub(oneMinusW.re, tl.re), im: e.sub(oneMinusW.im, tl.im) });
  const Rt: Cx = {
    re: g.op('Transpose', [R.re], { perm: { ints: [0, 2, 1] } }),
    im: g.op('Transpose', [R.im], { perm: { ints: [0, 2, 1] } }),
  }; // (H, N, M)
  const perm = { perm: { ints: [1, 0, 2] } };
  // Σ_n x[r, h, n] R[h, j, n] as batched complex MatMuls: (H, rows, N) @ (H, N, M) -> (H, rows, M)
  const cauchyRows = (x: Cx): Cx => {
    const xr = g.op('Transpose', [x.re], perm);
    const xi = g.op('Transpose', [x.im], perm);
    return {
      re: e.sub(g.op('MatMul', [xr, Rt.re]), g.op('MatMul', [xi, Rt.im])),
      im: e.add(g.op('MatMul', [xr, Rt.im]), g.op('MatMul', [xi, Rt.re])),
    };
  };
  const dims = [rows, H, N];
  const cb: Cx = { re: variant((v) => g.f64(v.cb.re, dims)), im: variant((v) => g.f64(v.cb.im, dims)) };
  const cp: Cx = { re: variant((v) => g.f64(v.cp.re, dims)), im: variant((v) => g.f64(v.cp.im, dims)) };
  const k00 = cauchyRows(cb);
  const k01 = cauchyRows(cp);
  // Σ_n q[n] R[h, j, n] -> (H, 1, M)
  const qb = cx(k.qb, [N, 1]);
  const qp = g.f64(k.qp, [N, 1]);
  const vec = (m: string): string => g.unsqueeze(g.squeeze(m, [2]), [1]);
  const k10: Cx = {
    re: vec(e.sub(g.op('MatMul', [R.re, qb.re]), g.op('MatMul', [R.im, qb.im]))),
    im: vec(e.add(g.op('MatMul', [R.re, qb.im]), g.op('MatMul', [R.im, qb.re]))),
  };
  const k11: Cx = { re: vec(g.op('MatMul', [R.re, qp])), im: vec(g.op('MatMul', [R.im, qp])) };
  const tv: Cx = { re: g.unsqueeze(t.re, [1]), im: g.unsqueeze(t.im, [1]) }; // (H, 1, M)
  const corr = e.cdiv(e.cmul(tv, e.cmul(k01, k10)), { re: e.add(one, e.cmul(tv, k11).re), im: e.cmul(tv, k11).im });
  const dt3 = g.unsqueeze(dt, [2]); // (H, 1, 1)
  const S: Cx = { re: e.mul(dt3, e.sub(k00.re, corr.re)), im: e.mul(dt3, e.sub(k00.im, corr.im)) }; // (H, rows, M)
  const s = g.op('DFT', [e.join(S)], { axis: { i: 2 }, inverse: { i: 1 } }); // (H, rows, M, 2)
  const re = g.squeeze(g.slice(s, g.i64([0]), g.i64([1]), [3]), [3]);
  const kern = g.slice(re, g.i64([0]), Lk, [2]); // (H, rows, Lk)
  return g.op('Cast', [g.op('Transpose', [kern], perm)], { to: { i: 1 } }); // (rows, H, Lk), float32
}

/**
 * One axis of the convolution with the DFT op: y = Re IDFT(DFT_P(y) * DFT(kb))[:L] along tensor axis 3 + a.
 * y (B, C', H, L...), kb (C, H, P) -> (B, C, H, L...).
 */
function convAxisDft(e: Emit, y: string, kb: string, len: AxisLengths, a: number, D: number): string {
  const g = e.g;
  const rank = 3 + D;
  const kf = g.op('DFT', [g.unsqueeze(kb, [-1])], { axis: { i: 2 }, onesided: { i: 0 } }); // (C, H, P, 2)
  // Broadcast the spectrum to (1, C, H, 1.., P, 1.., 2) with P at tensor axis 3 + a.
  const insert = [
    0,
    ...Array.from({ length: D }, (_, b) => b)
      .filter((b) => b !== a)
      .map((b) => 3 + b),
  ];
  const K = e.split(g.unsqueeze(kf, insert), rank + 1);
  const axis = 3 + a;
  // dft_length = P zero-pads the axis from L to P.
  const X = e.split(
    g.op('DFT', [g.unsqueeze(y, [-1]), g.squeeze(len.P, [0])], { axis: { i: axis }, onesided: { i: 0 } }),
    rank + 1,
  );
  const Y = g.op('DFT', [e.join(e.cmul(X, K))], { axis: { i: axis }, inverse: { i: 1 } });
  const re = g.squeeze(g.slice(Y, g.i64([0]), g.i64([1]), [rank]), [rank]);
  return g.slice(re, g.i64([0]), len.L, [axis]);
}

/**
 * One axis of the convolution as a MatMul with the L x L Toeplitz matrix of the two-sided kernel:
 * T[c, h, i, p] = kb[c, h, (i - p) mod P] (index j < L is lag j, j >= L is lag j - P; the zero gap of kb covers
 * the lags beyond ±Lk). y is viewed as (B, C', H, pre, L_a, post) so the same MatMul serves every axis.
 * y (B, C', H, L...), kb (C, H, P) -> (B, C, H, L...).
 */
function convAxisDirect(
  e: Emit,
  y: string,
  kb: string,
  len: AxisLengths,
  a: number,
  D: number,
  shapeU: string,
): string {
  const g = e.g;
  const r = g.op('Range', [g.i64([0], []), g.squeeze(len.L, [0]), g.i64([1], [])]); // (L)
  const d = g.op('Sub', [g.unsqueeze(r, [1]), g.unsqueeze(r, [0])]); // i - p, (L, L)
  const idx = g.op('Where', [g.op('Less', [d, g.i64([0], [])]), g.op('Add', [d, len.P]), d]);
  const T = g.unsqueeze(g.op('Gather', [kb, idx], { axis: { i: 2 } }), [0, 3]); // (1, C, H, 1, L, L)
  const spatial = Array.from({ length: D }, (_, b) => g.dim(shapeU, 2 + b));
  const prod = (xs: string[]): string => xs.reduce((acc, v) => g.op('Mul', [acc, v]), g.i64([1]));
  const shapeY = g.op('Shape', [y]);
  const head = g.slice(shapeY, g.i64([0]), g.i64([3]), [0]);
  const view = g.op('Concat', [head, prod(spatial.slice(0, a)), len.L, prod(spatial.slice(a + 1))], {
    axis: { i: 0 },
  });
  const out = g.op('MatMul', [T, g.reshape(y, view)]); // (B, C, H, pre, L, post)
  const headOut = g.slice(g.op('Shape', [out]), g.i64([0]), g.i64([3]), [0]);
  return g.reshape(out, g.op('Concat', [headOut, ...spatial], { axis: { i: 0 } }));
}
