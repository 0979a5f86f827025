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
//   DPLR:  the same Vandermonde form over the N eigenmodes of A = diag(λ) - p pᴴ (eigendecomposition at export
//          time, see dplr.ts); Ā, B̄ and the (I - Ā^{round(l_kernel / rate)})⁻¹ factor are diagonal in that basis
//          and are computed in the graph from dt.
//   kb     = [k_fwd, zeros(L - Lk), reverse(k_bwd)]            (C, H, P) two-sided circular kernel
//   Kf     = DFT(kb)                                           (C, H, P, 2)
// Convolution, one axis at a time (the N-D kernel is a rank-1 outer product, so this is exact):
//   y = Re IDFT(DFT(y, P) * Kf)[..., :L]                       on (B, C, H, L_0, ..., 2)
// then y + D * u, channels flattened to c * H + h, and the optional GELU -> 1x1 Conv -> GLU head.
import type { GraphBuilder } from './graph.js';
import { dplrModes } from './dplr.js';

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
  const rows = cfg.bidirectional ? 2 * C : C;
  const shapeU = g.op('Shape', [u]);
  const w = (name: string, dims: number[]): string => g.weight(`${prefix}.${name}`, params.get(name), dims);

  // u as (B, 1, H, L...): the head axis broadcasts against the kernels' (C, H, ...).
  let y = g.unsqueeze(u, [1]);
  const rank = 3 + D; // rank of y
  for (let a = 0; a < D; a++) {
    const rate = rates[a];
    const lMax = cfg.l_max[a];
    if (rate === undefined || lMax === undefined) throw new Error(`s4nd export: no rate or l_max for axis ${a}`);
    const len = axisLengths(g, shapeU, a, lMax, rate);
    const k =
      cfg.mode === 's4d'
        ? s4dKernel(e, cfg, params, w, a, rate, len.Lk)
        : dplrKernel(e, cfg, params, prefix, a, rate, len.Lk); // (rows, H, Lk)
    // Two-sided circular kernel (C, H, P).
    const fwd = rows === C && !cfg.bidirectional ? k : g.slice(k, g.i64([0]), g.i64([C]), [0]);
    let kb: string;
    if (cfg.bidirectional) {
      const bwd = g.slice(k, g.i64([C]), g.i64([2 * C]), [0]);
      // Lk-1, ..., 0 (as (Lk - 1) - Range(0, Lk): a descending Range came out empty in onnxruntime 1.30).
      const up = g.op('Range', [g.i64([0], []), g.squeeze(len.Lk, [0]), g.i64([1], [])]);
      const rev = g.op('Sub', [g.op('Sub', [len.Lk, g.i64([1])]), up]);
      const bwdRev = g.op('Gather', [bwd, rev], { axis: { i: 2 } });
      const gap = g.op('Sub', [len.L, len.Lk]);
      const fwdPad = g.op('Pad', [fwd, g.op('Concat', [g.i64([0, 0, 0, 0, 0]), gap], { axis: { i: 0 } })]);
      kb = g.op('Concat', [fwdPad, bwdRev], { axis: { i: 2 } });
    } else {
      kb = g.op('Pad', [fwd, g.op('Concat', [g.i64([0, 0, 0, 0, 0]), len.L], { axis: { i: 0 } })]);
    }
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
    // Zero-pad explicitly to P along the axis (DFT's dft_length does not pad an inner axis in onnxruntime 1.30).
    const zeros = (n: number): number[] => Array<number>(n).fill(0);
    const pads = g.op('Concat', [g.i64(zeros(rank + axis)), len.Lk, g.i64(zeros(rank - axis - 1))], {
      axis: { i: 0 },
    });
    const X = e.split(
      g.op('DFT', [g.unsqueeze(g.op('Pad', [y, pads]), [-1])], { axis: { i: axis }, onesided: { i: 0 } }),
      rank + 1,
    );
    const Y = g.op('DFT', [e.join(e.cmul(X, K))], { axis: { i: axis }, inverse: { i: 1 } });
    const re = g.squeeze(g.slice(Y, g.i64([0]), g.i64([1]), [rank]), [rank]);
    y = g.slice(re, g.i64([0]), len.L, [axis]); // (B, C', H, L...)
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

/** l = 0 .. Lk-1 as float32 (Lk). */
function lagRange(g: GraphBuilder, Lk: string): string {
  return g.op('Cast', [g.op('Range', [g.i64([0], []), g.squeeze(Lk, [0]), g.i64([1], [])])], { to: { i: 1 } });
}

/** S4D kernel of axis a: (rows, H, Lk). */
function s4dKernel(
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
  const N2 = cfg.d_state / 2;
  const rows = cfg.bidirectional ? 2 * cfg.channels : cfg.channels;
  const p = `kernel.${a}`;
  const dtBase = e.exp(w(`${p}.inv_dt`, [H, 1])); // (H, 1)
  const dt = e.mul(dtBase, g.op('Cast', [rate], { to: { i: 1 } })); // (H, 1)
  const aImagW = w(`${p}.A_imag`, [1, N2]);
  const A: Cx = { re: e.neg(e.exp(w(`${p}.A_real`, [1, N2]))), im: e.neg(aImagW) }; // (1, N/2)
  const dtA: Cx = { re: e.mul(dt, A.re), im: e.mul(dt, A.im) }; // (H, N/2)
  const one = g.f32([1], []);
  const ex = e.cexpScaled(dtA, one); // exp(dtA)
  const q = e.cdiv({ re: e.sub(ex.re, one), im: ex.im }, A); // (exp(dtA) - 1) / A, (H, N/2)
  const B = e.split(w(`${p}.B`, [1, 1, N2, 2]), 4); // (1, 1, N/2)
  const Bbar = e.cmul({ re: g.squeeze(B.re, [0]), im: g.squeeze(B.im, [0]) }, q); // (H, N/2)
  const Cp = e.split(w(`${p}.C`, [rows, H, N2, 2]), 4); // (rows, H, N/2)
  let W = e.cmul(Cp, Bbar); // (rows, H, N/2)
  if (cfg.bandlimit > 0) {
    // Mode kept iff dt_base * |A_imag| / (2 pi) < bandlimit / 2 (rate-free, strict).
    const freq = e.mul(e.mul(dtBase, g.op('Abs', [aImagW])), g.f32([1 / (2 * Math.PI)], []));
    const mask = g.op('Cast', [g.op('Less', [freq, g.f32([cfg.bandlimit / 2], [])])], { to: { i: 1 } });
    W = { re: e.mul(W.re, mask), im: e.mul(W.im, mask) };
  }
  return vandermonde(e, W, { re: g.unsqueeze(dtA.re, [-1]), im: g.unsqueeze(dtA.im, [-1]) }, Lk, 2);
}

/**
 * k[r, h, l] = scale * Re Σ_n W[r, h, n] z[h, n]^l with z = exp(dtA): W (rows, H, M), dtA (H, M, 1) -> (rows, H, Lk).
 */
function vandermonde(e: Emit, W: Cx, dtA: Cx, Lk: string, scale: number): string {
  const g = e.g;
  const V = e.cexpScaled(dtA, lagRange(g, Lk)); // (H, M, Lk)
  const perm = { perm: { ints: [1, 0, 2] } };
  const wr = g.op('Transpose', [W.re], perm); // (H, rows, M)
  const wi = g.op('Transpose', [W.im], perm);
  const k = e.sub(g.op('MatMul', [wr, V.re]), g.op('MatMul', [wi, V.im])); // (H, rows, Lk)
  return g.op('Transpose', [e.mul(k, g.f32([scale], []))], perm); // (rows, H, Lk)
}

/** DPLR kernel of axis a: (rows, H, Lk), in the eigenbasis of A computed at export time. */
function dplrKernel(
  e: Emit,
  cfg: S4ndLayerConfig,
  params: S4ndParams,
  prefix: string,
  a: number,
  rate: string,
  Lk: string,
): string {
  const g = e.g;
  const H = cfg.d_model;
  const N = cfg.d_state;
  const rows = cfg.bidirectional ? 2 * cfg.channels : cfg.channels;
  const p = `kernel.${a}`;
  const modes = dplrModes(
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
  // dt = exp(inv_dt) * rate per channel (H, 1); μ (1, N) the eigenvalues of A.
  const dt = e.mul(
    e.exp(g.weight(`${prefix}.${p}.inv_dt`, params.get(`${p}.inv_dt`), [H, 1])),
    g.op('Cast', [rate], { to: { i: 1 } }),
  );
  const mu: Cx = { re: g.f32(modes.muRe, [1, N]), im: g.f32(modes.muIm, [1, N]) };
  const half = e.mul(dt, g.f32([0.5], [])); // (H, 1)
  const hm: Cx = { re: e.mul(half, mu.re), im: e.mul(half, mu.im) }; // dt μ / 2, (H, N)
  const one = g.f32([1], []);
  const num: Cx = { re: e.add(one, hm.re), im: hm.im }; // 1 + dt μ / 2
  const den: Cx = { re: e.sub(one, hm.re), im: e.neg(hm.im) }; // 1 - dt μ / 2
  // log ā = log(1 + dtμ/2) - log(1 - dtμ/2) (principal logs; ā^l = exp(l log ā)).
  const logAbar = csub(e, clog(e, num), clog(e, den)); // (H, N)
  // B̄ in the eigenbasis: dt / (1 - dtμ/2) * (V⁻¹ b).
  const bb = e.cdiv({ re: dt, im: g.f32([0], []) }, den); // (H, N)
  const vb: Cx = { re: g.f32(modes.vbRe, [1, N]), im: g.f32(modes.vbIm, [1, N]) };
  const bbar = e.cmul(bb, vb); // (H, N)
  // (1 - ā^{discrete_L})⁻¹ with discrete_L = round(l_kernel / rate).
  const dL = g.op('Cast', [g.op('Round', [g.op('Div', [g.f64([modes.lKernel]), rate])])], { to: { i: 1 } });
  const aPow = e.cexpScaled(logAbar, dL); // (H, N)
  const inv = e.cdiv({ re: one, im: g.f32([0], []) }, { re: e.sub(one, aPow.re), im: e.neg(aPow.im) });
  const cv: Cx = { re: g.f32(modes.cvRe, [rows, H, N]), im: g.f32(modes.cvIm, [rows, H, N]) }; // c̃ V
  const W = e.cmul(cv, e.cmul(inv, bbar)); // (rows, H, N)
  return vandermonde(e, W, { re: g.unsqueeze(logAbar.re, [-1]), im: g.unsqueeze(logAbar.im, [-1]) }, Lk, 1);
}

function csub(e: Emit, a: Cx, b: Cx): Cx {
  return { re: e.sub(a.re, b.re), im: e.sub(a.im, b.im) };
}

/** Principal complex log: (log|z|, atan2(im, re)). */
function clog(e: Emit, z: Cx): Cx {
  const g = e.g;
  const mag2 = e.add(e.mul(z.re, z.re), e.mul(z.im, z.im));
  const re = e.mul(g.op('Log', [mag2]), g.f32([0.5], []));
  return { re, im: atan2(e, z.im, z.re) };
}

/** atan2(y, x) from Atan and Where (ONNX has no atan2). */
function atan2(e: Emit, y: string, x: string): string {
  const g = e.g;
  const zero = g.f32([0], []);
  const base = g.op('Atan', [e.div(y, x)]); // x = 0 gives ±inf -> ±π/2
  const shift = g.op('Where', [g.op('Less', [y, zero]), g.f32([-Math.PI], []), g.f32([Math.PI], [])]);
  return g.op('Where', [g.op('Less', [x, zero]), e.add(base, shift), base]);
}
