// Finite-difference gradient checking for native ops (through opForwardBackward, the code path the graph uses).
//
// Method: pick a seeded random upstream gradient g, define f(inputs) = sum(g * op(inputs)) accumulated in
// double, and compare the analytic input gradients with central differences (f(x + eps) - f(x - eps)) / 2eps.
// The kernels run in float32, so the differences are noisy: with eps = 1e-2 and inputs of order 1, rounding
// noise in f is about 1e-6, i.e. ~1e-4 in the quotient, and truncation error is ~eps^2 |f'''| / 6 ~ 2e-5.
// Default tolerance: |num - ana| <= atol + rtol * |num| with atol = 2e-3, rtol = 2e-2, an order of magnitude
// above both error sources yet far below what a wrong rule produces (tested: a 10% error in one element fails).
import type { EngineBinding } from '../../main/engine/binding.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Input {
  data: Float32Array;
  shape: number[];
  /** Not differentiated (loss targets). */
  constant?: boolean;
}

export function randn(shape: number[], r: () => number, scale = 1): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * scale;
  return { data, shape };
}

/** Values spread apart by at least `gap` (no ties, no kinks within eps): a shuffled ramp. */
export function distinct(shape: number[], r: () => number, gap = 0.05): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * gap);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [vals[i], vals[j]] = [vals[j] ?? 0, vals[i] ?? 0];
  }
  return { data: Float32Array.from(vals), shape };
}

/** The arrays one after another in one Float32Array. */
export function concatF32(parts: readonly Float32Array[]): Float32Array {
  const flat = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    flat.set(p, off);
    off += p.length;
  }
  return flat;
}

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Elements checked per input (evenly spread); all when the input is smaller. */
  samples?: number;
  /** Test hook: corrupts the analytic gradients before comparison (to prove the check can fail). */
  corrupt?: (grads: (Float32Array | null)[]) => void;
  seed?: number;
}

export interface GradcheckReport {
  ok: boolean;
  checked: number;
  worst: { input: number; index: number; numeric: number; analytic: number; excess: number } | null;
  failures: string[];
}

export function gradcheck(
  engine: EngineBinding,
  op: string,
  inputs: Input[],
  attrs: Record<string, unknown> = {},
  opts: GradcheckOptions = {},
): GradcheckReport {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 2e-3;
  const rtol = opts.rtol ?? 2e-2;
  const samples = opts.samples ?? 40;
  const attrsJson = JSON.stringify(attrs);
  const datas = inputs.map((i) => i.data);
  const shapes = inputs.map((i) => i.shape);
  const first = engine.opForwardBackward(op, datas, shapes, attrsJson, null);
  const r = rng(opts.seed ?? 1234);
  const g = new Float32Array(first.output.length);
  for (let i = 0; i < g.length; i++) g[i] = r() * 2 - 1;
  const f = (): number => {
    const out = engine.opForwardBackward(op, datas, shapes, attrsJson, null).output;
    let s = 0;
    for (let i = 0; i < out.length; i++) s += (g[i] ?? 0) * (out[i] ?? 0);
    return s;
  };
  const analytic = engine.opForwardBackward(op, datas, shapes, attrsJson, g).grads;
  opts.corrupt?.(analytic);
  const report: GradcheckReport = { ok: true, checked: 0, worst: null, failures: [] };
  inputs.forEach((input, k) => {
    if (input.constant) return;
    const ana = analytic[k];
    if (!ana) {
      report.ok = false;
      report.failures.push(`input ${k}: no analytic gradient`);
      return;
    }
    const n = input.data.length;
    const step = Math.max(1, Math.floor(n / samples));
    for (let j = 0; j < n; j += step) {
      const orig = input.data[j] ?? 0;
      input.data[j] = orig + eps;
      const fp = f();
      input.data[j] = orig - eps;
      const fm = f();
      input.data[j] = orig;
      const numeric = (fp - fm) / (2 * eps);
      const a = ana[j] ?? NaN;
      const excess = Math.abs(numeric - a) - (atol + rtol * Math.abs(numeric));
      report.checked++;
      if (!report.worst || excess > report.worst.excess)
        report.worst = { input: k, index: j, numeric, analytic: a, excess };
      if (!(excess <= 0)) {
        report.ok = false;
        if (report.failures.length < 5)
          report.failures.push(`input ${k}[${j}]: numeric ${numeric.toFixed(6)} vs analytic ${a.toFixed(6)}`);
      }
    }
  });
  return report;
}
