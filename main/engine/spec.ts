// Model specs: the declarative description of a model, its validator, and shape inference.
//
// A spec is plain JSON:
//   { "input": { "channels": 1, "size": [28, 28] },
//     "layers": [ { "type": "conv2d", "out": 32, "kernel": 4, "stride": 4 },
//                 { "type": "residual", "layers": [ { "type": "layernorm" }, { "type": "s4nd", "d_state": 64 } ] },
//                 { "type": "global_avg_pool" }, { "type": "linear", "out": 10 } ],
//     "loss": { "type": "cross_entropy", "label_smoothing": 0.1 },
//     "optimizer": { "weight_decay": 0.05, "clip_grad_norm": 1.0 } }
// Activations are channels-first: (B, C, ...size) while spatial, (B, F) after global_avg_pool / flatten.
// `input.size` is the training resolution; it fixes S4ND's l_max and lets the validator check every shape.
// At run time other sizes are accepted (S4ND is resolution-flexible; pass `rate`).
//
// validateSpec() rejects a bad spec with a SpecError naming the layer path and the offending option, and
// returns the normalised spec (every default filled in, plus the inferred `in` / `channels` / `d_model` /
// `l_max` the native builder needs). Only normalised specs are sent to C++.

export type Activation = 'gelu' | 'silu' | 'relu' | 'sigmoid' | 'glu';

export type LayerSpec =
  | { type: 'conv2d' | 'conv3d'; out: number; kernel: number; stride?: number; padding?: number; bias?: boolean }
  | { type: 'conv_transpose2d'; out: number; kernel?: number; stride?: number; padding?: number; bias?: boolean }
  | { type: 'linear'; out: number; bias?: boolean }
  | { type: 'layernorm'; eps?: number }
  | { type: Activation }
  | { type: 'dropout'; p?: number }
  | { type: 'avg_pool' | 'max_pool'; kernel: number; stride?: number }
  | { type: 'global_avg_pool' | 'flatten' }
  | { type: 'upsample'; scale?: number; mode?: 'nearest' | 'bilinear' | 'trilinear' }
  | { type: 'residual'; layers: LayerSpec[] }
  | { type: 'save'; name: string }
  | { type: 'concat'; with: string }
  | {
      type: 's4nd';
      d_state?: number;
      channels?: number;
      bidirectional?: boolean;
      mode?: 's4d' | 'dplr';
      init?: 'diag-lin' | 'diag-inv' | 'legs';
      bandlimit?: number;
      linear?: boolean;
      dt_min?: number;
      dt_max?: number;
      conv?: 'auto' | 'fft' | 'direct';
      l_max?: number[];
    }
  | {
      /** Continuous-time S4D kernel along time (native/src/ops/s4nd_time.h): (2C, ...) frames at tau = 0, 1 -> (C, ...) at t. */
      type: 's4nd_time';
      d_state?: number;
      dt_min?: number;
      dt_max?: number;
      /** t per sample = mean over space of `channel` of the saved tensor `from`, times `std`, plus `mean`. */
      time: { from: string; channel: number; mean?: number; std?: number };
    };

export type LossType = 'cross_entropy' | 'bce_with_logits' | 'dice' | 'l1' | 'mse';

export interface LossSpec {
  type: LossType;
  label_smoothing?: number;
  smooth?: number;
}

export interface OptimizerSpec {
  weight_decay?: number;
  betas?: [number, number];
  eps?: number;
  /** Learning rate of the S4ND SSM parameters relative to the base rate (default 0.1, e.g. 1e-3 vs 1e-2). */
  ssm_lr_scale?: number;
  /** Global gradient-norm clipping threshold; 0 disables. */
  clip_grad_norm?: number;
}

export interface ModelSpec {
  input: { channels: number; size: number[] };
  layers: LayerSpec[];
  loss?: LossSpec;
  optimizer?: OptimizerSpec;
}

/** Normalised layer: a plain JSON object with every option set. */
export type NormalizedLayer = { type: string; layers?: NormalizedLayer[] } & Record<string, unknown>;

export interface NormalizedSpec {
  input: { channels: number; size: number[] };
  layers: NormalizedLayer[];
  loss: LossSpec;
  optimizer: Required<OptimizerSpec>;
}

/** Activation shape of one sample: channels-first spatial, or flat features. */
export type SampleShape = { kind: 'spatial'; channels: number; size: number[] } | { kind: 'flat'; features: number };

export class SpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecError';
  }
}

/** Limits that keep a hostile spec from exhausting memory before C++ sees it. */
export const SPEC_LIMITS = {
  maxChannels: 8192,
  maxKernel: 16,
  maxLayers: 512,
  maxDepth: 8,
  maxSpatial: 4096,
  maxActivationPerSample: 1 << 26,
  maxParams: 1 << 28,
  maxDState: 1024,
} as const;

type OptionKind =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'name' }
  | { kind: 'layers' }
  | { kind: 'intList'; min: number; max: number }
  | { kind: 'object' };

const int = (min: number, max: number): OptionKind => ({ kind: 'int', min, max });
const num = (min: number, max: number): OptionKind => ({ kind: 'number', min, max });
const bool: OptionKind = { kind: 'bool' };
const oneOf = (...values: string[]): OptionKind => ({ kind: 'enum', values });

const L = SPEC_LIMITS;
const CONV = {
  out: int(1, L.maxChannels),
  kernel: int(1, L.maxKernel),
  stride: int(1, L.maxKernel),
  padding: int(0, L.maxKernel),
  bias: bool,
};
const POOL = { kernel: int(1, L.maxKernel), stride: int(1, L.maxKernel) };

const LAYER_OPTIONS: Record<string, Record<string, OptionKind>> = {
  conv2d: CONV,
  conv3d: CONV,
  conv_transpose2d: CONV,
  linear: { out: int(1, 1 << 20), bias: bool },
  layernorm: { eps: num(1e-12, 1) },
  gelu: {},
  silu: {},
  relu: {},
  sigmoid: {},
  glu: {},
  dropout: { p: num(0, 0.99) },
  avg_pool: POOL,
  max_pool: POOL,
  global_avg_pool: {},
  flatten: {},
  upsample: { scale: int(1, 8), mode: oneOf('nearest', 'bilinear', 'trilinear') },
  residual: { layers: { kind: 'layers' } },
  save: { name: { kind: 'name' } },
  concat: { with: { kind: 'name' } },
  s4nd: {
    d_state: int(2, L.maxDState),
    channels: int(1, 64),
    bidirectional: bool,
    mode: oneOf('s4d', 'dplr'),
    init: oneOf('diag-lin', 'diag-inv', 'legs'),
    bandlimit: num(0, 10),
    linear: bool,
    dt_min: num(1e-6, 10),
    dt_max: num(1e-6, 10),
    conv: oneOf('auto', 'fft', 'direct'),
    l_max: { kind: 'intList', min: 1, max: L.maxSpatial },
  },
  s4nd_time: { d_state: int(2, L.maxDState), dt_min: num(1e-6, 10), dt_max: num(1e-6, 10), time: { kind: 'object' } },
};

const REQUIRED: Record<string, readonly string[]> = {
  conv2d: ['out', 'kernel'],
  conv3d: ['out', 'kernel'],
  linear: ['out'],
  avg_pool: ['kernel'],
  max_pool: ['kernel'],
  residual: ['layers'],
  save: ['name'],
  concat: ['with'],
  s4nd_time: ['time'],
};

const LOSS_OPTIONS: Record<LossType, Record<string, OptionKind>> = {
  cross_entropy: { label_smoothing: num(0, 0.99) },
  bce_with_logits: {},
  dice: { smooth: num(0, 1e6) },
  l1: {},
  mse: {},
};

const OPTIMIZER_OPTIONS: Record<string, OptionKind> = {
  weight_decay: num(0, 10),
  betas: { kind: 'intList', min: 0, max: 1 },
  eps: num(1e-12, 1),
  ssm_lr_scale: num(0, 1e3),
  clip_grad_norm: num(0, 1e9),
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describeShape(s: SampleShape): string {
  return s.kind === 'flat' ? `(${s.features})` : `(${[s.channels, ...s.size].join(', ')})`;
}

function checkOption(where: string, key: string, value: unknown, kind: OptionKind): void {
  const bad = (what: string): never => {
    throw new SpecError(`Option '${key}' in ${where} ${what}, got ${JSON.stringify(value)}`);
  };
  switch (kind.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < kind.min || value > kind.max) {
        bad(`must be an integer in [${kind.min}, ${kind.max}]`);
      }
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < kind.min || value > kind.max) {
        bad(`must be a number in [${kind.min}, ${kind.max}]`);
      }
      return;
    case 'bool':
      if (typeof value !== 'boolean') bad('must be true or false');
      return;
    case 'enum':
      if (typeof value !== 'string' || !kind.values.includes(value)) bad(`must be one of ${kind.values.join(', ')}`);
      return;
    case 'name':
      if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(value)) bad('must be an identifier');
      return;
    case 'layers':
      if (!Array.isArray(value) || value.length === 0) bad('must be a non-empty array of layers');
      return;
    case 'intList':
      if (!Array.isArray(value) || value.length === 0 || value.length > 3) bad('must be an array of 1 to 3 numbers');
      for (const v of value as unknown[]) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < kind.min || v > kind.max) {
          bad(`must hold numbers in [${kind.min}, ${kind.max}]`);
        }
      }
      return;
    case 'object':
      if (!isRecord(value)) bad('must be an object');
      return;
  }
}

function checkOptions(
  where: string,
  obj: Record<string, unknown>,
  allowed: Record<string, OptionKind>,
  skip: string[],
): void {
  for (const [key, value] of Object.entries(obj)) {
    if (skip.includes(key)) continue;
    const kind = allowed[key];
    if (!kind) {
      const names = Object.keys(allowed);
      throw new SpecError(
        `Unknown option '${key}' in ${where}; ` +
          (names.length ? `expected one of ${names.join(', ')}` : 'it takes no options'),
      );
    }
    checkOption(where, key, value, kind);
  }
}

interface InferState {
  params: number;
  saved: Map<string, SampleShape>;
  layerCount: number;
}

function spatialOf(where: string, shape: SampleShape, dims?: number): { channels: number; size: number[] } {
  if (shape.kind !== 'spatial') {
    throw new SpecError(`${where} needs a spatial input (C, H, W...) but gets flat features ${describeShape(shape)}`);
  }
  if (dims !== undefined && shape.size.length !== dims) {
    throw new SpecError(`${where} needs ${dims} spatial dims but gets ${describeShape(shape)}`);
  }
  return shape;
}

function checkActivationSize(where: string, shape: SampleShape): void {
  const n = shape.kind === 'flat' ? shape.features : shape.channels * shape.size.reduce((a, b) => a * b, 1);
  if (n > L.maxActivationPerSample) {
    throw new SpecError(
      `${where} produces ${n} values per sample (${describeShape(shape)}), above the limit of ${L.maxActivationPerSample}`,
    );
  }
}

function inferLayers(
  layers: unknown,
  path: string,
  input: SampleShape,
  depth: number,
  st: InferState,
): { layers: NormalizedLayer[]; shape: SampleShape } {
  if (depth > L.maxDepth) throw new SpecError(`${path} nests residual blocks deeper than ${L.maxDepth}`);
  if (!Array.isArray(layers)) throw new SpecError(`${path} must be an array of layers`);
  let shape = input;
  const out: NormalizedLayer[] = [];
  layers.forEach((raw: unknown, i: number) => {
    const where0 = `${path}[${i}]`;
    if (++st.layerCount > L.maxLayers) throw new SpecError(`the model has more than ${L.maxLayers} layers`);
    if (!isRecord(raw)) throw new SpecError(`${where0} must be an object with a 'type'`);
    const type = raw['type'];
    if (typeof type !== 'string' || !(type in LAYER_OPTIONS)) {
      throw new SpecError(
        `Unknown layer type ${JSON.stringify(type)} at ${where0}; expected one of ${Object.keys(LAYER_OPTIONS).join(', ')}`,
      );
    }
    const where = `${where0} (${type})`;
    const allowed = LAYER_OPTIONS[type] ?? {};
    // A normalised spec (e.g. read back from a checkpoint) also carries the inferred fields the native builder
    // reads; they are accepted only when they agree with the inference below.
    const derived = ['in', 'd_model', ...(type === 'layernorm' ? ['channels'] : [])];
    checkOptions(where, raw, allowed, ['type', ...derived]);
    for (const req of REQUIRED[type] ?? []) {
      if (!(req in raw)) throw new SpecError(`Missing option '${req}' in ${where}`);
    }
    const r = (k: string, d: number): number => (typeof raw[k] === 'number' ? (raw[k] as number) : d);
    const b = (k: string, d: boolean): boolean => (typeof raw[k] === 'boolean' ? (raw[k] as boolean) : d);
    const s = (k: string, d: string): string => (typeof raw[k] === 'string' ? (raw[k] as string) : d);
    let norm: NormalizedLayer;
    switch (type) {
      case 'conv2d':
      case 'conv3d': {
        const nsp = type === 'conv2d' ? 2 : 3;
        const x = spatialOf(where, shape, nsp);
        const k = r('kernel', 3),
          stride = r('stride', 1),
          pad = r('padding', 0),
          outC = r('out', 1);
        const size = x.size.map((n) => Math.floor((n + 2 * pad - k) / stride) + 1);
        if (size.some((n) => n < 1)) {
          throw new SpecError(`${where}: kernel ${k} with padding ${pad} does not fit input ${describeShape(shape)}`);
        }
        st.params += outC * x.channels * k ** nsp + (b('bias', true) ? outC : 0);
        norm = { type, in: x.channels, out: outC, kernel: k, stride, padding: pad, bias: b('bias', true) };
        shape = { kind: 'spatial', channels: outC, size };
        break;
      }
      case 'conv_transpose2d': {
        const x = spatialOf(where, shape, 2);
        const k = r('kernel', 2),
          stride = r('stride', 2),
          pad = r('padding', 0),
          outC = r('out', 1);
        const size = x.size.map((n) => (n - 1) * stride - 2 * pad + k);
        if (size.some((n) => n < 1)) {
          throw new SpecError(
            `${where}: kernel ${k}, stride ${stride}, padding ${pad} give an empty output for ${describeShape(shape)}`,
          );
        }
        st.params += x.channels * outC * k * k + (b('bias', true) ? outC : 0);
        norm = { type, in: x.channels, out: outC, kernel: k, stride, padding: pad, bias: b('bias', true) };
        shape = { kind: 'spatial', channels: outC, size };
        break;
      }
      case 'linear': {
        if (shape.kind !== 'flat') {
          throw new SpecError(
            `${where} needs flat features but gets ${describeShape(shape)}; add a global_avg_pool or flatten before it`,
          );
        }
        const outF = r('out', 1);
        st.params += outF * shape.features + (b('bias', true) ? outF : 0);
        norm = { type, in: shape.features, out: outF, bias: b('bias', true) };
        shape = { kind: 'flat', features: outF };
        break;
      }
      case 'layernorm': {
        const c = shape.kind === 'flat' ? shape.features : shape.channels;
        st.params += 2 * c;
        norm = { type, channels: c, eps: r('eps', 1e-5) };
        break;
      }
      case 'glu': {
        const c = shape.kind === 'flat' ? shape.features : shape.channels;
        if (c % 2 !== 0) throw new SpecError(`${where} needs an even channel count but gets ${describeShape(shape)}`);
        shape = shape.kind === 'flat' ? { kind: 'flat', features: c / 2 } : { ...shape, channels: c / 2 };
        norm = { type };
        break;
      }
      case 'gelu':
      case 'silu':
      case 'relu':
      case 'sigmoid':
        norm = { type };
        break;
      case 'dropout':
        norm = { type, p: r('p', 0.1) };
        break;
      case 'avg_pool':
      case 'max_pool': {
        // 2-D (C, H, W) or 3-D (C, D, H, W): a square / cubic kernel on every spatial axis.
        const x = spatialOf(where, shape);
        if (x.size.length !== 2 && x.size.length !== 3) {
          throw new SpecError(`${where} pools 2 or 3 spatial dims but gets ${describeShape(shape)}`);
        }
        const k = r('kernel', 2),
          stride = r('stride', k);
        const size = x.size.map((n) => Math.floor((n - k) / stride) + 1);
        if (size.some((n) => n < 1))
          throw new SpecError(`${where}: kernel ${k} does not fit input ${describeShape(shape)}`);
        norm = { type, kernel: k, stride };
        shape = { kind: 'spatial', channels: x.channels, size };
        break;
      }
      case 'global_avg_pool':
        shape = { kind: 'flat', features: spatialOf(where, shape).channels };
        norm = { type };
        break;
      case 'flatten': {
        const x = spatialOf(where, shape);
        shape = { kind: 'flat', features: x.channels * x.size.reduce((a, c) => a * c, 1) };
        norm = { type };
        break;
      }
      case 'upsample': {
        // nearest on 2 or 3 spatial dims; bilinear needs exactly 2 (C, H, W), trilinear exactly 3 (C, D, H, W).
        const x = spatialOf(where, shape);
        const mode = s('mode', 'nearest');
        const want = mode === 'bilinear' ? 2 : mode === 'trilinear' ? 3 : 0;
        if (x.size.length !== 2 && x.size.length !== 3) {
          throw new SpecError(`${where} upsamples 2 or 3 spatial dims but gets ${describeShape(shape)}`);
        }
        if (want && x.size.length !== want) {
          throw new SpecError(
            `${where}: mode '${mode}' needs ${want} spatial dims but gets ${describeShape(shape)}; use '${want === 2 ? 'trilinear' : 'bilinear'}' for ${x.size.length}-D inputs`,
          );
        }
        const scale = r('scale', 2);
        shape = { kind: 'spatial', channels: x.channels, size: x.size.map((n) => n * scale) };
        norm = { type, scale, mode };
        break;
      }
      case 'residual': {
        const body = inferLayers(raw['layers'], `${where0}.layers`, shape, depth + 1, st);
        if (describeShape(body.shape) !== describeShape(shape) || body.shape.kind !== shape.kind) {
          throw new SpecError(
            `${where}: the body maps ${describeShape(shape)} to ${describeShape(body.shape)}; a residual needs the same shape`,
          );
        }
        norm = { type, layers: body.layers };
        break;
      }
      case 'save': {
        const name = s('name', '');
        if (st.saved.has(name)) throw new SpecError(`${where}: the name '${name}' is already saved earlier`);
        st.saved.set(name, shape);
        norm = { type, name };
        break;
      }
      case 'concat': {
        const name = s('with', '');
        const other = st.saved.get(name);
        if (!other) {
          const known = [...st.saved.keys()];
          throw new SpecError(
            `${where}: no earlier 'save' layer named '${name}'` +
              (known.length ? `; saved so far: ${known.join(', ')}` : ''),
          );
        }
        const x = spatialOf(where, shape);
        const y = spatialOf(`${where} (saved '${name}')`, other);
        if (x.size.join('x') !== y.size.join('x')) {
          throw new SpecError(
            `${where}: cannot concat ${describeShape(shape)} with saved '${name}' ${describeShape(other)}; spatial sizes differ`,
          );
        }
        shape = { kind: 'spatial', channels: x.channels + y.channels, size: x.size };
        norm = { type, with: name };
        break;
      }
      case 's4nd': {
        const x = spatialOf(where, shape);
        if (x.size.length < 1 || x.size.length > 3) throw new SpecError(`${where} supports 1 to 3 spatial dims`);
        const lMax = Array.isArray(raw['l_max']) ? (raw['l_max'] as number[]) : x.size;
        if (lMax.length !== x.size.length) {
          throw new SpecError(
            `${where}: l_max has ${lMax.length} entries but the input has ${x.size.length} spatial dims`,
          );
        }
        const dState = r('d_state', 64);
        if (dState % 2 !== 0) throw new SpecError(`Option 'd_state' in ${where} must be even, got ${dState}`);
        const mode = s('mode', 's4d');
        const channels = r('channels', 1);
        const linear = b('linear', false);
        const dtMin = r('dt_min', 0.001),
          dtMax = r('dt_max', 0.1);
        if (dtMin > dtMax) throw new SpecError(`${where}: dt_min ${dtMin} is above dt_max ${dtMax}`);
        const H = x.channels;
        const dims = lMax.length;
        st.params +=
          H +
          dims * (H * (dState / 2) * 2 * 3 + H + H * channels * (dState / 2) * 2 * (b('bidirectional', true) ? 2 : 1));
        if (!linear) st.params += 2 * H * channels * H + 2 * H;
        norm = {
          type,
          d_model: H,
          d_state: dState,
          channels,
          bidirectional: b('bidirectional', true),
          mode,
          init: s('init', mode === 'dplr' ? 'legs' : 'diag-lin'),
          bandlimit: r('bandlimit', 0),
          linear,
          dt_min: dtMin,
          dt_max: dtMax,
          conv: s('conv', 'auto'),
          l_max: lMax.map((v) => Math.round(v)),
        };
        if (linear && channels > 1) shape = { ...x, kind: 'spatial', channels: channels * H };
        break;
      }
      case 's4nd_time': {
        const x = spatialOf(where, shape);
        if (x.channels % 2 !== 0) {
          throw new SpecError(
            `${where} needs an even channel count (frames at tau = 0 and tau = 1 stacked), got ${describeShape(shape)}`,
          );
        }
        const dState = r('d_state', 16);
        if (dState % 2 !== 0) throw new SpecError(`Option 'd_state' in ${where} must be even, got ${dState}`);
        const dtMin = r('dt_min', 0.001),
          dtMax = r('dt_max', 0.1);
        if (dtMin > dtMax) throw new SpecError(`${where}: dt_min ${dtMin} is above dt_max ${dtMax}`);
        const time = raw['time'] as Record<string, unknown>;
        const tw = `${where} option 'time'`;
        checkOptions(
          tw,
          time,
          { from: { kind: 'name' }, channel: int(0, L.maxChannels), mean: num(-1e6, 1e6), std: num(1e-9, 1e6) },
          [],
        );
        if (!('from' in time) || !('channel' in time)) throw new SpecError(`${tw} needs 'from' and 'channel'`);
        const from = time['from'] as string,
          channel = time['channel'] as number;
        const src = st.saved.get(from);
        if (!src) {
          const known = [...st.saved.keys()];
          throw new SpecError(
            `${tw}: no earlier 'save' layer named '${from}'` +
              (known.length ? `; saved so far: ${known.join(', ')}` : ''),
          );
        }
        const y = spatialOf(`${tw} (saved '${from}')`, src);
        if (channel >= y.channels) {
          throw new SpecError(`${tw}: channel ${channel} is out of range; saved '${from}' has ${y.channels} channels`);
        }
        const C = x.channels / 2;
        st.params += C + dState + 2 * C * dState; // inv_dt (C), A_real + A_imag (N/2 each), C (2, C, N/2, 2)
        norm = {
          type,
          in: x.channels,
          d_state: dState,
          dt_min: dtMin,
          dt_max: dtMax,
          time: { from, channel, mean: (time['mean'] as number) ?? 0, std: (time['std'] as number) ?? 1 },
        };
        shape = { kind: 'spatial', channels: C, size: x.size };
        break;
      }
      default:
        throw new SpecError(`Unknown layer type '${type}' at ${where0}`);
    }
    for (const key of derived) {
      if (key in raw && raw[key] !== norm[key]) {
        throw new SpecError(
          `Option '${key}' in ${where} is inferred as ${JSON.stringify(norm[key])} but the spec says ${JSON.stringify(raw[key])}`,
        );
      }
    }
    checkActivationSize(where, shape);
    if (st.params > L.maxParams) throw new SpecError(`${where}: the model exceeds ${L.maxParams} parameters`);
    out.push(norm);
  });
  return { layers: out, shape };
}

export interface ValidatedSpec {
  spec: NormalizedSpec;
  /** Output shape of one sample at the training resolution. */
  output: SampleShape;
  /** Approximate trainable parameter count (exact for everything but S4ND, which the engine reports). */
  approxParams: number;
}

/** Validates a spec and returns its normalised form. Throws SpecError. */
export function validateSpec(spec: unknown): ValidatedSpec {
  if (!isRecord(spec)) throw new SpecError('the model spec must be an object');
  checkOptions(
    'the model spec',
    spec,
    { input: { kind: 'bool' }, layers: { kind: 'layers' }, loss: { kind: 'bool' }, optimizer: { kind: 'bool' } },
    ['input', 'loss', 'optimizer'],
  );
  const input = spec['input'];
  if (!isRecord(input)) throw new SpecError("the model spec needs 'input': { channels, size }");
  checkOptions('input', input, { channels: int(1, L.maxChannels), size: { kind: 'bool' } }, ['size']);
  if (!('channels' in input) || !('size' in input))
    throw new SpecError("'input' needs both 'channels' and 'size' (e.g. [28, 28])");
  const rawSize = input['size'];
  // size [] declares a flat input (B, channels), e.g. for a tabular or already-pooled model.
  const size = (
    Array.isArray(rawSize) && rawSize.length === 0
      ? []
      : (checkOption('input', 'size', rawSize, { kind: 'intList', min: 1, max: L.maxSpatial }), rawSize as number[])
  ).map((v) => {
    if (!Number.isInteger(v)) throw new SpecError(`input.size must hold integers, got ${v}`);
    return v;
  });
  const channels = input['channels'] as number;
  if (!('layers' in spec)) throw new SpecError("the model spec needs 'layers'");
  const st: InferState = { params: 0, saved: new Map(), layerCount: 0 };
  const inShape: SampleShape = size.length ? { kind: 'spatial', channels, size } : { kind: 'flat', features: channels };
  checkActivationSize('input', inShape);
  const { layers, shape } = inferLayers(spec['layers'], 'layers', inShape, 0, st);

  const rawLoss = spec['loss'] ?? { type: 'cross_entropy' };
  if (!isRecord(rawLoss) || typeof rawLoss['type'] !== 'string' || !(rawLoss['type'] in LOSS_OPTIONS)) {
    throw new SpecError(`loss.type must be one of ${Object.keys(LOSS_OPTIONS).join(', ')}`);
  }
  const lossType = rawLoss['type'] as LossType;
  checkOptions(`loss (${lossType})`, rawLoss, LOSS_OPTIONS[lossType], ['type']);
  if (lossType === 'cross_entropy' && shape.kind !== 'flat') {
    throw new SpecError(
      `loss cross_entropy needs logits (B, K) but the model outputs ${describeShape(shape)} per sample`,
    );
  }
  // Only the options of this loss type, defaults filled in.
  const loss: LossSpec = { type: lossType };
  if (lossType === 'cross_entropy')
    loss.label_smoothing = typeof rawLoss['label_smoothing'] === 'number' ? rawLoss['label_smoothing'] : 0;
  if (lossType === 'dice') loss.smooth = typeof rawLoss['smooth'] === 'number' ? rawLoss['smooth'] : 1;
  const rawOpt = spec['optimizer'] ?? {};
  if (!isRecord(rawOpt)) throw new SpecError("'optimizer' must be an object");
  checkOptions('optimizer', rawOpt, OPTIMIZER_OPTIONS, []);
  const betas = Array.isArray(rawOpt['betas']) ? (rawOpt['betas'] as number[]) : [0.9, 0.999];
  if (betas.length !== 2 || betas.some((v) => !(v >= 0 && v < 1)))
    throw new SpecError('optimizer.betas must be two numbers in [0, 1)');
  const optimizer: Required<OptimizerSpec> = {
    weight_decay: typeof rawOpt['weight_decay'] === 'number' ? rawOpt['weight_decay'] : 0.01,
    betas: [betas[0] ?? 0.9, betas[1] ?? 0.999],
    eps: typeof rawOpt['eps'] === 'number' ? rawOpt['eps'] : 1e-8,
    ssm_lr_scale: typeof rawOpt['ssm_lr_scale'] === 'number' ? rawOpt['ssm_lr_scale'] : 0.1,
    clip_grad_norm: typeof rawOpt['clip_grad_norm'] === 'number' ? rawOpt['clip_grad_norm'] : 0,
  };
  return { spec: { input: { channels, size }, layers, loss, optimizer }, output: shape, approxParams: st.params };
}

/** Output shape of one sample for an input of another spatial size (same checks as validateSpec). */
export function inferOutput(spec: NormalizedSpec, size: number[]): SampleShape {
  const st: InferState = { params: 0, saved: new Map(), layerCount: 0 };
  const input: SampleShape = size.length
    ? { kind: 'spatial', channels: spec.input.channels, size }
    : { kind: 'flat', features: spec.input.channels };
  return inferLayers(spec.layers, 'layers', input, 0, st).shape;
}
