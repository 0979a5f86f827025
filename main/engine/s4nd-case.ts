// Reference-case files of the S4ND spec (/work/shared/reference/s4nd/README.md section 1): validation, conversion to a
// layer spec and the float32 comparison used by `npm run s4nd:check` and by the tests.
import type { S4ndConv, S4ndNative, S4ndSpec } from './s4nd-native.js';

export interface Tensor {
  shape: number[];
  dtype: 'float32' | 'int64' | 'float64';
  data: number[];
}

export interface S4ndCase {
  name: string;
  kind: 'layer' | 'kernels';
  spec: S4ndSpec;
  rate: number;
  /** spatial axes actually used (input rank - 2, or the number of Gk.* inputs) */
  axes: number;
  params: Record<string, Tensor>;
  inputs: Record<string, Tensor>;
  outputs32: Record<string, Tensor | number>;
  grads32: Record<string, Tensor>;
  derived: Record<string, Tensor | number>;
}

export class CaseError extends Error {}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new CaseError(`missing ${what}`);
  return v;
}

function parseTensor(v: Json | undefined, where: string): Tensor {
  if (!isObject(v)) throw new CaseError(`${where}: expected {shape, dtype, data}`);
  const shape = v['shape'];
  const dtype = v['dtype'];
  const data = v['data'];
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0))
    throw new CaseError(`${where}.shape must be an array of non-negative integers`);
  if (dtype !== 'float32' && dtype !== 'int64' && dtype !== 'float64')
    throw new CaseError(`${where}.dtype must be 'float32', 'int64' or 'float64', got ${JSON.stringify(dtype)}`);
  const dims = shape as number[];
  const count = dims.reduce((a, b) => a * b, 1);
  let flat: Json[];
  if (Array.isArray(data)) flat = data;
  else if (typeof data === 'number' && dims.length === 0) flat = [data];
  else throw new CaseError(`${where}.data must be an array of numbers`);
  if (flat.length !== count)
    throw new CaseError(`${where}.data has ${flat.length} values, shape [${dims.join(', ')}] needs ${count}`);
  if (!flat.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw new CaseError(`${where}.data must hold finite numbers only`);
  return { shape: dims, dtype, data: flat as number[] };
}

function parseTensorMap(v: Json | undefined, where: string): Record<string, Tensor | number> {
  if (v === undefined) return {};
  if (!isObject(v)) throw new CaseError(`${where} must be an object`);
  const out: Record<string, Tensor | number> = {};
  for (const [k, t] of Object.entries(v)) out[k] = typeof t === 'number' ? t : parseTensor(t, `${where}.${k}`);
  return out;
}

function tensorsOnly(m: Record<string, Tensor | number>, where: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(m)) {
    if (typeof t === 'number') throw new CaseError(`${where}.${k} must be a tensor, got a number`);
    out[k] = t;
  }
  return out;
}

function kwargOr<T extends Json>(kw: JsonObject, spec: JsonObject, keys: string[], fallback: T | undefined): Json {
  for (const k of keys) {
    if (kw[k] !== undefined) return kw[k] as Json;
  }
  for (const k of keys) {
    if (spec[k] !== undefined) return spec[k] as Json;
  }
  if (fallback === undefined) throw new CaseError(`spec: missing '${keys[0]}'`);
  return fallback;
}

function asInt(v: Json, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new CaseError(`spec.${what} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates a parsed case file and converts it. Throws CaseError with a precise message. */
export function parseCase(raw: unknown, conv: S4ndConv = 'fft'): S4ndCase {
  const root = raw as Json;
  if (!isObject(root)) throw new CaseError('case file must be a JSON object');
  const name = typeof root['case'] === 'string' ? root['case'] : '(unnamed)';
  const spec = root['spec'];
  if (!isObject(spec)) throw new CaseError('missing object "spec"');
  const kwRaw = spec['constructor_kwargs'];
  const kw: JsonObject = isObject(kwRaw) ? kwRaw : {};

  const kernel = kwargOr(kw, spec, ['mode', 'kernel'], 'dplr');
  let mode: S4ndSpec['mode'];
  if (kernel === 'diag' || kernel === 's4d') mode = 's4d';
  else if (kernel === 'dplr' || kernel === 's4' || kernel === 'nplr') mode = 'dplr';
  else
    throw new CaseError(
      `unsupported kernel/mode ${JSON.stringify(kernel)} (expected 'diag', 's4d', 'dplr', 's4' or 'nplr')`,
    );
  const disc = kwargOr(kw, spec, ['disc'], mode === 's4d' ? 'zoh' : 'bilinear');
  if (mode === 's4d' && disc !== 'zoh')
    throw new CaseError(`unsupported S4D discretisation ${JSON.stringify(disc)} (only 'zoh')`);
  if (mode === 'dplr' && disc !== 'bilinear' && disc !== null)
    throw new CaseError(`unsupported DPLR discretisation ${JSON.stringify(disc)} (only 'bilinear')`);
  const initRaw = kwargOr(kw, spec, ['init'], mode === 's4d' ? 'diag-lin' : 'legs');
  const init: S4ndSpec['init'] =
    initRaw === 'diag-inv' || initRaw === 'inv' ? 'diag-inv' : initRaw === 'legs' ? 'legs' : 'diag-lin';
  const nSsm = kwargOr(kw, spec, ['n_ssm'], 1);
  if (nSsm !== 1 && nSsm !== null) throw new CaseError(`unsupported n_ssm ${JSON.stringify(nSsm)} (only 1)`);
  const rank = kwargOr(kw, spec, ['rank'], 1);
  if (rank !== 1 && rank !== null) throw new CaseError(`unsupported rank ${JSON.stringify(rank)} (only 1)`);
  const trank = kwargOr(kw, spec, ['trank'], 1);
  if (trank !== 1 && trank !== null) throw new CaseError(`unsupported trank ${JSON.stringify(trank)} (only 1)`);
  const outChannels = kwargOr(kw, spec, ['out_channels'], null);
  if (outChannels !== null) throw new CaseError(`unsupported out_channels ${JSON.stringify(outChannels)} (only null)`);
  const transposed = kwargOr(kw, spec, ['transposed'], true);
  if (transposed !== true) throw new CaseError('unsupported transposed=false (inputs must be (B, H, L...))');
  for (const flag of ['weight_norm', 'ln']) {
    const v = kwargOr(kw, spec, [flag], false);
    if (v !== false && v !== null) throw new CaseError(`unsupported ${flag}=${JSON.stringify(v)}`);
  }
  const dt = kwargOr(kw, spec, ['dt_transform'], 'exp');
  if (dt !== 'exp') throw new CaseError(`unsupported dt_transform ${JSON.stringify(dt)} (only 'exp')`);

  const H = asInt(kwargOr(kw, spec, ['d_model', 'd_model_H'], undefined), 'd_model', 1);
  const N = asInt(kwargOr(kw, spec, ['d_state', 'd_state_N'], 64), 'd_state', 2);
  const C = asInt(kwargOr(kw, spec, ['channels', 'channels_C'], 1), 'channels', 1);
  const dimKw = asInt(kwargOr(kw, spec, ['dim'], 2), 'dim', 1);
  const bidirectional = kwargOr(kw, spec, ['bidirectional'], false);
  if (typeof bidirectional !== 'boolean') throw new CaseError('spec.bidirectional must be a boolean');
  const linear = kwargOr(kw, spec, ['linear'], false);
  if (typeof linear !== 'boolean') throw new CaseError('spec.linear must be a boolean');
  if (!linear) {
    const finalAct = kwargOr(kw, spec, ['final_act'], null);
    if (finalAct !== 'glu')
      throw new CaseError(
        `linear=false needs final_act='glu' (GELU -> Linear(C*H, 2H) -> GLU), got ${JSON.stringify(finalAct)}`,
      );
    const act = kw['activation'] ?? 'gelu';
    if (act !== 'gelu') throw new CaseError(`unsupported activation ${JSON.stringify(act)} (only 'gelu')`);
  }
  const bandRaw = kwargOr(kw, spec, ['bandlimit'], null);
  if (bandRaw !== null && (typeof bandRaw !== 'number' || !(bandRaw > 0)))
    throw new CaseError(`spec.bandlimit must be null or a positive number, got ${JSON.stringify(bandRaw)}`);
  const lmaxRaw = kwargOr(kw, spec, ['l_max'], undefined);
  let lmaxAll: number[];
  if (typeof lmaxRaw === 'number') lmaxAll = Array.from({ length: dimKw }, () => asInt(lmaxRaw, 'l_max', 1));
  else if (Array.isArray(lmaxRaw)) lmaxAll = lmaxRaw.map((v, i) => asInt(v, `l_max[${i}]`, 1));
  else throw new CaseError('spec.l_max must be an integer or a list of integers');
  const rateRaw = spec['rate'] ?? 1;
  if (typeof rateRaw !== 'number' || !(rateRaw > 0)) throw new CaseError(`spec.rate must be a positive number`);

  const params = tensorsOnly(parseTensorMap(root['params'], 'params'), 'params');
  const inputs = tensorsOnly(parseTensorMap(root['inputs'], 'inputs'), 'inputs');
  const outputs = root['outputs'];
  const grads = root['grads'];
  if (!isObject(outputs) || !isObject(outputs['float32'])) throw new CaseError('missing object "outputs.float32"');
  if (!isObject(grads) || !isObject(grads['float32'])) throw new CaseError('missing object "grads.float32"');
  const outputs32 = parseTensorMap(outputs['float32'], 'outputs.float32');
  const grads32 = tensorsOnly(parseTensorMap(grads['float32'], 'grads.float32'), 'grads.float32');
  const derived = parseTensorMap(root['derived'], 'derived');

  let kind: S4ndCase['kind'];
  let axes: number;
  if (inputs['u']) {
    kind = 'layer';
    const u = inputs['u'];
    axes = u.shape.length - 2;
    if (axes < 1 || axes > 3)
      throw new CaseError(`inputs.u must have rank 3..5 (B, H, L...), got shape [${u.shape.join(', ')}]`);
    if (u.shape[1] !== H) throw new CaseError(`inputs.u has ${u.shape[1]} channels, d_model is ${H}`);
    const G = need(inputs['G'], 'inputs.G');
    const yShape = [u.shape[0] ?? 0, linear ? C * H : H, ...u.shape.slice(2)];
    if (G.shape.join(',') !== yShape.join(','))
      throw new CaseError(`inputs.G has shape [${G.shape.join(', ')}], the output shape is [${yShape.join(', ')}]`);
    const y = need(outputs32['y'], 'outputs.float32.y');
    if (typeof y === 'number' || y.shape.join(',') !== yShape.join(','))
      throw new CaseError(`outputs.float32.y must have shape [${yShape.join(', ')}]`);
    need(grads32['u'], 'grads.float32.u');
  } else {
    kind = 'kernels';
    axes = 0;
    while (inputs[`Gk.${axes}`]) axes++;
    if (axes === 0)
      throw new CaseError('inputs must hold either "u" and "G" (layer case) or "Gk.0", ... (kernel case)');
  }
  if (axes > lmaxAll.length)
    throw new CaseError(`input has ${axes} spatial axes but l_max has only ${lmaxAll.length} entries`);

  const s4ndSpec: S4ndSpec = {
    dim: axes,
    d_model: H,
    d_state: N,
    channels: C,
    bidirectional,
    mode,
    init,
    l_max: lmaxAll.slice(0, axes),
    bandlimit: bandRaw === null ? 0 : (bandRaw as number),
    linear,
    dt_min: 0.001,
    dt_max: 0.1,
    conv,
  };
  return { name, kind, spec: s4ndSpec, rate: rateRaw, axes, params, inputs, outputs32, grads32, derived };
}

/** Python round(): halves to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface CheckResult {
  case: string;
  ok: boolean;
  max_rel: Record<string, number>;
  error?: string;
}

export const OUTPUT_TOL = 1e-5;
export const GRAD_TOL = 1e-4;

function maxRel(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs((ours[i] ?? NaN) - (ref[i] ?? 0)));
    den = Math.max(den, Math.abs(ref[i] ?? 0));
  }
  if (ours.length !== ref.length || Number.isNaN(num)) return Infinity;
  return den === 0 ? num : num / den;
}

/** Flat float32 parameter buffer in the native layout, filled from the case's params (shapes checked). */
export function packParams(native: S4ndNative, c: S4ndCase): { params: Float32Array; lKernel: number[] } {
  const layout = native.paramLayout(c.spec);
  const total = layout.reduce((n, p) => n + p.size, 0);
  const params = new Float32Array(total);
  for (const p of layout) {
    const t = c.params[p.name];
    if (!t) throw new CaseError(`params: missing '${p.name}' (shape [${p.shape.join(', ')}])`);
    // Accept the same shape up to singleton axes (e.g. a bias stored as (2H, 1) instead of (2H)).
    const squeeze = (d: number[]) => d.filter((x) => x !== 1).join(',');
    if (t.shape.join(',') !== p.shape.join(',') && squeeze(t.shape) !== squeeze(p.shape))
      throw new CaseError(`params.${p.name} has shape [${t.shape.join(', ')}], expected [${p.shape.join(', ')}]`);
    params.set(t.data, p.offset);
  }
  const lKernel: number[] = [];
  for (let a = 0; a < c.axes; a++) {
    const t = c.params[`kernel.${a}.l_kernel`];
    lKernel.push(t ? (t.data[0] ?? 0) : 0);
  }
  return { params, lKernel };
}

/** Runs one case against its float32 reference. */
export async function checkCase(native: S4ndNative, c: S4ndCase): Promise<CheckResult> {
  const { params, lKernel } = packParams(native, c);
  const layout = native.paramLayout(c.spec);
  const rel: Record<string, number> = {};
  let ok = true;
  const record = (key: string, value: number, tol: number) => {
    rel[key] = value;
    if (!(value <= tol)) ok = false;
  };
  const gradOf = (dparams: Float32Array) => {
    for (const [name, ref] of Object.entries(c.grads32)) {
      if (name === 'u') continue;
      const p = layout.find((q) => q.name === name);
      // Unused kernel modules (e.g. kernel.1 of a 1-D layer built with dim=2) get zero gradients.
      if (!p && !/^kernel\.\d+\./.test(name))
        throw new CaseError(`grads.float32.${name}: no such parameter in the layer`);
      const ours = p ? dparams.subarray(p.offset, p.offset + p.size) : new Float32Array(ref.data.length);
      record(`grad.${name}`, maxRel(ours, ref.data), GRAD_TOL);
    }
  };
  if (c.kind === 'layer') {
    const u = need(c.inputs['u'], 'inputs.u');
    const G = need(c.inputs['G'], 'inputs.G');
    const res = await native.run(
      c.spec,
      params,
      lKernel,
      Float32Array.from(u.data),
      u.shape[0] ?? 0,
      u.shape.slice(2),
      c.rate,
      Float32Array.from(G.data),
    );
    const y = c.outputs32['y'] as Tensor;
    record('y', maxRel(res.y, y.data), OUTPUT_TOL);
    record('grad.u', maxRel(need(res.du, 'du'), need(c.grads32['u'], 'grads.float32.u').data), GRAD_TOL);
    gradOf(need(res.dparams, 'dparams'));
  } else {
    const rows = c.spec.bidirectional ? 2 * c.spec.channels : c.spec.channels;
    const Lk: number[] = [];
    const gk: Float64Array[] = [];
    for (let a = 0; a < c.axes; a++) {
      const g = need(c.inputs[`Gk.${a}`], `inputs.Gk.${a}`);
      if (g.shape.length !== 3 || g.shape[0] !== rows || g.shape[1] !== c.spec.d_model)
        throw new CaseError(
          `inputs.Gk.${a} must have shape [${rows}, ${c.spec.d_model}, Lk], got [${g.shape.join(', ')}]`,
        );
      Lk.push(g.shape[2] ?? 0);
      gk.push(Float64Array.from(g.data));
    }
    const res = await native.kernels(c.spec, params, lKernel, c.rate, Lk, gk);
    for (let a = 0; a < c.axes; a++) {
      const ref = c.outputs32[`kernel.${a}`];
      if (ref === undefined || typeof ref === 'number') throw new CaseError(`missing outputs.float32.kernel.${a}`);
      record(`kernel.${a}`, maxRel(need(res.kernels[a], `kernel ${a}`), ref.data), OUTPUT_TOL);
      const d = need(res.derived[a], `derived ${a}`);
      for (const [key, val] of Object.entries(c.derived)) {
        const prefix = `kernel.${a}.`;
        if (!key.startsWith(prefix)) continue;
        const field = key.slice(prefix.length) as keyof typeof d;
        const ours = d[field];
        if (ours === undefined) continue; // e.g. C_tilde_float64_official: checked by the tests through the setup path
        if (typeof val === 'number' || typeof ours === 'number') {
          record(`derived.${key}`, Math.abs(Number(ours) - Number(typeof val === 'number' ? val : val.data[0])), 0);
        } else {
          record(`derived.${key}`, maxRel(ours, val.data), OUTPUT_TOL);
        }
      }
    }
    gradOf(res.dparams);
  }
  return { case: c.name, ok, max_rel: rel };
}
