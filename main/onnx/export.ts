// Exporter: an engine model (normalised spec + named float32 parameters) to an ONNX model in standard ops
// (default domain, opset 17), with dynamic batch and spatial sizes. See README.md for the graph layout.
import { Model, readCheckpointMetadata } from '../engine/model.js';
import type { NormalizedLayer, NormalizedSpec } from '../engine/spec.js';
import { GraphBuilder, type Attr, type Dim } from './graph.js';
import { emitS4nd, gelu, type S4ndLayerConfig } from './s4nd.js';
import { emitS4ndTime } from './s4nd-time.js';

/** What the exporter reads from a model; the engine's Model satisfies it. */
export interface ExportSource {
  readonly spec: NormalizedSpec;
  getParam(name: string): Float32Array;
  /** Non-trainable state in the checkpoint's `state` format, if the source can give it (see ExportOptions.state). */
  state?(): Record<string, number[]>;
}

/**
 * How the exported graph gets the S4ND rate:
 * - 'size' (default): from the input, rate_a = input.size[a] / size_a per spatial axis (28x28-trained model fed
 *   14x14 -> rate 2), which is what a classifier trained at a base resolution wants;
 * - 'input': an explicit float32 input `rate` of shape [1], used for every axis, exactly like Model.predict's rate.
 */
export type RateMode = 'size' | 'input';

export interface ExportOptions {
  rate?: RateMode;
  /**
   * Non-trainable state, as in a checkpoint's `state` metadata (readExportState): `<layer prefix>.l_kernel` ->
   * per-axis l_kernel of DPLR layers; 0 means "not set up yet" (C is still C, and the exporter applies the first-call
   * C -> C̃ rewrite). Required for DPLR layers, because the parameters alone do not say whether C is already C̃.
   */
  state?: Record<string, number[]>;
  /**
   * How S4ND convolves: 'direct' (default) multiplies by the per-axis L x L Toeplitz matrix of the two-sided kernel
   * (MatMul; memory C*H*L^2 per axis), 'dft' uses the DFT op at P = L + Lk (O(L log L), but onnxruntime 1.30's CPU
   * DFT is slow). Both are built from the same in-graph kernels; see README.md for measurements.
   */
  s4ndConv?: 'direct' | 'dft';
  /** Name of the model in the ONNX producer field. */
  producer?: string;
}

/** [async] The `state` metadata of an engine checkpoint (DPLR l_kernel per layer), for ExportOptions.state. */
export async function readExportState(checkpointPath: string): Promise<Record<string, number[]>> {
  const text = (await readCheckpointMetadata(checkpointPath))['state'] ?? '{}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OnnxExportError(`checkpoint '${checkpointPath}': its 'state' metadata is not JSON`);
  }
  const out: Record<string, number[]> = {};
  if (typeof parsed === 'object' && parsed !== null) {
    for (const [k, v] of Object.entries(parsed)) {
      if (Array.isArray(v) && v.every((n): n is number => typeof n === 'number')) out[k] = v;
      else throw new OnnxExportError(`checkpoint '${checkpointPath}': state '${k}' is not a list of numbers`);
    }
  }
  return out;
}

/**
 * [async] Builds the model stored in an engine checkpoint, exports it with the checkpoint's state (so DPLR layers
 * need nothing else), and frees the model again.
 */
export async function exportCheckpoint(
  checkpointPath: string,
  options: Omit<ExportOptions, 'state'> = {},
): Promise<Uint8Array> {
  const model = await Model.fromCheckpoint(checkpointPath);
  try {
    return exportOnnx(model, { ...options, state: await readExportState(checkpointPath) });
  } finally {
    model.dispose();
  }
}

export class OnnxExportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OnnxExportError';
  }
}

/** Layer types this exporter writes. */
export const EXPORTABLE_LAYERS = [
  'conv2d',
  'conv3d',
  'linear',
  'layernorm',
  'gelu',
  'silu',
  'relu',
  'sigmoid',
  'glu',
  'dropout',
  'avg_pool',
  'max_pool',
  'global_avg_pool',
  'flatten',
  'upsample',
  'residual',
  'save',
  'concat',
  's4nd',
  's4nd_time',
] as const;

/** Value flowing between layers: its name and whether it is spatial (B, C, ...) or flat (B, F). */
interface Act {
  value: string;
  spatial: number; // number of spatial dims; 0 = flat
}

interface Ctx {
  g: GraphBuilder;
  conv: 'direct' | 'dft';
  src: ExportSource;
  rates: string[];
  state: Record<string, number[]>;
  saved: Map<string, Act>;
}

/** Exports `src` to ONNX bytes. Input `x` (batch, C, size...), output `y`. Throws OnnxExportError. */
export function exportOnnx(src: ExportSource, options: ExportOptions = {}): Uint8Array {
  const g = new GraphBuilder();
  const spec = src.spec;
  const D = spec.input.size.length;
  const inDims: Dim[] = ['batch', spec.input.channels, ...spec.input.size.map((_, a) => `size_${a}`)];
  const x = g.input('x', 'float32', inDims);
  const rates: string[] = [];
  if ((options.rate ?? 'size') === 'input') {
    const r = g.op('Cast', [g.input('rate', 'float32', [1])], { to: { i: 11 } });
    for (let a = 0; a < D; a++) rates.push(r);
  } else {
    const shape = g.op('Shape', [x]);
    spec.input.size.forEach((base, a) => {
      rates.push(g.op('Div', [g.f64([base]), g.op('Cast', [g.dim(shape, 2 + a)], { to: { i: 11 } })]));
    });
  }
  const ctx: Ctx = {
    g,
    conv: options.s4ndConv ?? 'direct',
    src,
    rates,
    state: options.state ?? src.state?.() ?? {},
    saved: new Map(),
  };
  const out = emitLayers(ctx, spec.layers, 'layers', 'layers', { value: x, spatial: D });
  const outDims: Dim[] =
    out.spatial === 0
      ? ['batch', 'features']
      : ['batch', 'channels', ...Array.from({ length: out.spatial }, (_, a) => `out_${a}`)];
  g.output('y', out.value, 'float32', outDims);
  return g.toBytes(options.producer ?? 'ssm-studio');
}

/** `prefix`: parameter-name prefix (layers.1.layers); `path`: the spec path for messages (layers[1].layers). */
function emitLayers(ctx: Ctx, layers: NormalizedLayer[], prefix: string, path: string, input: Act): Act {
  let act = input;
  layers.forEach((layer, i) => {
    act = emitLayer(ctx, layer, `${prefix}.${i}`, `${path}[${i}]`, act);
  });
  return act;
}

function num(layer: NormalizedLayer, key: string, where: string): number {
  const v = layer[key];
  if (typeof v !== 'number')
    throw new OnnxExportError(`${where}: option '${key}' must be a number in a normalised spec`);
  return v;
}

function emitLayer(ctx: Ctx, layer: NormalizedLayer, prefix: string, where0: string, act: Act): Act {
  try {
    return emitLayerUnchecked(ctx, layer, prefix, where0, act);
  } catch (err) {
    if (err instanceof OnnxExportError) throw err;
    // e.g. a parameter whose size does not match the layer's options (GraphBuilder.weight)
    const reason = err instanceof Error ? err.message : String(err);
    throw new OnnxExportError(`${where0} (${layer.type}): ${reason}`, { cause: err });
  }
}

function emitLayerUnchecked(ctx: Ctx, layer: NormalizedLayer, prefix: string, where0: string, act: Act): Act {
  const { g, src } = ctx;
  const where = `${where0} (${layer.type})`;
  const param = (name: string): Float32Array => {
    try {
      return src.getParam(`${prefix}.${name}`);
    } catch (err) {
      throw new OnnxExportError(`${where}: cannot read parameter '${prefix}.${name}'`, { cause: err });
    }
  };
  const weight = (name: string, dims: number[]): string => g.weight(`${prefix}.${name}`, param(name), dims);
  const needSpatial = (): void => {
    if (act.spatial === 0) throw new OnnxExportError(`${where} needs a spatial input but gets flat features`);
  };
  const v = act.value;
  g.scope = prefix;
  switch (layer.type) {
    case 'conv2d':
    case 'conv3d': {
      needSpatial();
      const nsp = layer.type === 'conv2d' ? 2 : 3;
      const [cin, cout, k, stride, pad] = ['in', 'out', 'kernel', 'stride', 'padding'].map((key) =>
        num(layer, key, where),
      ) as [number, number, number, number, number];
      const inputs = [v, weight('weight', [cout, cin, ...Array<number>(nsp).fill(k)])];
      if (layer['bias'] !== false) inputs.push(weight('bias', [cout]));
      const value = g.op('Conv', inputs, {
        kernel_shape: { ints: Array<number>(nsp).fill(k) },
        strides: { ints: Array<number>(nsp).fill(stride) },
        pads: { ints: Array<number>(2 * nsp).fill(pad) },
      });
      return { value, spatial: nsp };
    }
    case 'linear': {
      if (act.spatial !== 0) throw new OnnxExportError(`${where} needs flat features; add global_avg_pool or flatten`);
      const cin = num(layer, 'in', where);
      const cout = num(layer, 'out', where);
      const inputs = [v, weight('weight', [cout, cin])];
      if (layer['bias'] !== false) inputs.push(weight('bias', [cout]));
      return { value: g.op('Gemm', inputs, { transB: { i: 1 } }), spatial: 0 };
    }
    case 'layernorm': {
      const c = num(layer, 'channels', where);
      const eps = num(layer, 'eps', where);
      const ln = (x: string): string =>
        g.op('LayerNormalization', [x, weight('weight', [c]), weight('bias', [c])], {
          axis: { i: -1 },
          epsilon: { f: eps },
        });
      if (act.spatial === 0) return { value: ln(v), spatial: 0 };
      // Over channels: (B, C, S...) -> (B, S..., C) -> normalise -> back.
      const r = 2 + act.spatial;
      const toLast = [0, ...Array.from({ length: act.spatial }, (_, i) => 2 + i), 1];
      const toFirst = [0, r - 1, ...Array.from({ length: act.spatial }, (_, i) => 1 + i)];
      const t = g.op('Transpose', [v], { perm: { ints: toLast } });
      return { value: g.op('Transpose', [ln(t)], { perm: { ints: toFirst } }), spatial: act.spatial };
    }
    case 'gelu':
      return { value: gelu(g, v), spatial: act.spatial };
    case 'silu':
      return { value: g.op('Mul', [v, g.op('Sigmoid', [v])]), spatial: act.spatial };
    case 'relu':
      return { value: g.op('Relu', [v]), spatial: act.spatial };
    case 'sigmoid':
      return { value: g.op('Sigmoid', [v]), spatial: act.spatial };
    case 'glu': {
      const [a, b] = g.node('Split', [v], { axis: { i: 1 } }, 2);
      if (!a || !b) throw new Error('unreachable: Split without two outputs');
      return { value: g.op('Mul', [a, g.op('Sigmoid', [b])]), spatial: act.spatial };
    }
    case 'dropout':
      return act; // inference: identity
    case 'avg_pool':
    case 'max_pool': {
      needSpatial();
      const k = num(layer, 'kernel', where);
      const s = num(layer, 'stride', where);
      // 2-D or 3-D: a square / cubic window over every spatial axis (MaxPool / AveragePool take any rank).
      const value = g.op(layer.type === 'avg_pool' ? 'AveragePool' : 'MaxPool', [v], {
        kernel_shape: { ints: Array<number>(act.spatial).fill(k) },
        strides: { ints: Array<number>(act.spatial).fill(s) },
      });
      return { value, spatial: act.spatial };
    }
    case 'global_avg_pool': {
      needSpatial();
      const axes = Array.from({ length: act.spatial }, (_, i) => 2 + i);
      return { value: g.op('ReduceMean', [v], { axes: { ints: axes }, keepdims: { i: 0 } }), spatial: 0 };
    }
    case 'flatten':
      needSpatial();
      return { value: g.op('Flatten', [v], { axis: { i: 1 } }), spatial: 0 };
    case 'upsample': {
      needSpatial();
      const s = num(layer, 'scale', where);
      const bilinear = layer['mode'] === 'bilinear' || layer['mode'] === 'trilinear'; // Resize 'linear' on 2 or 3 axes
      const scales = g.f32([1, 1, ...Array<number>(act.spatial).fill(s)]);
      const attrs: Record<string, Attr> = bilinear
        ? { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'pytorch_half_pixel' } }
        : { mode: { s: 'nearest' }, coordinate_transformation_mode: { s: 'asymmetric' }, nearest_mode: { s: 'floor' } };
      return { value: g.op('Resize', [v, '', scales], attrs), spatial: act.spatial };
    }
    case 'residual': {
      const body = emitLayers(ctx, layer.layers ?? [], `${prefix}.layers`, `${where0}.layers`, act);
      g.scope = prefix;
      return { value: g.op('Add', [v, body.value]), spatial: act.spatial };
    }
    case 'save': {
      ctx.saved.set(String(layer['name']), act);
      return act;
    }
    case 'concat': {
      const other = ctx.saved.get(String(layer['with']));
      if (!other) throw new OnnxExportError(`${where}: no earlier 'save' named '${String(layer['with'])}'`);
      return { value: g.op('Concat', [v, other.value], { axis: { i: 1 } }), spatial: act.spatial };
    }
    case 's4nd_time': {
      needSpatial();
      const time = layer['time'] as { from: string; channel: number; mean: number; std: number };
      const other = ctx.saved.get(time.from);
      if (!other || other.spatial === 0)
        throw new OnnxExportError(`${where}: no earlier spatial 'save' named '${time.from}'`);
      const cfg = { in: num(layer, 'in', where), d_state: num(layer, 'd_state', where), ...time };
      return { value: emitS4ndTime(g, v, other.value, act.spatial, other.spatial, cfg, param), spatial: act.spatial };
    }
    case 's4nd': {
      needSpatial();
      const cfg = { ...s4ndConfig(layer, where), conv: ctx.conv };
      if (cfg.l_max.length !== act.spatial)
        throw new OnnxExportError(`${where}: l_max has ${cfg.l_max.length} axes, the input has ${act.spatial}`);
      const lk = ctx.state[`${prefix}.l_kernel`];
      if (cfg.mode === 'dplr' && (!Array.isArray(lk) || lk.length !== cfg.l_max.length))
        throw new OnnxExportError(
          `${where}: a DPLR layer needs its state '${prefix}.l_kernel' (${cfg.l_max.length} numbers) in options.state; ` +
            'read it from a checkpoint of the model with readExportState(path)',
        );
      const value = emitS4nd(
        g,
        v,
        cfg,
        { get: param, lKernel: (a) => lk?.[a] ?? 0 },
        ctx.rates.slice(0, act.spatial),
        prefix,
      );
      return { value, spatial: act.spatial };
    }
    default:
      throw new OnnxExportError(
        `${where}: layer type '${layer.type}' cannot be exported to ONNX; exportable types: ${EXPORTABLE_LAYERS.join(', ')}`,
      );
  }
}

function s4ndConfig(layer: NormalizedLayer, where: string): Omit<S4ndLayerConfig, 'conv'> {
  const mode = layer['mode'];
  if (mode !== 's4d' && mode !== 'dplr')
    throw new OnnxExportError(`${where}: unknown s4nd mode ${JSON.stringify(mode)}`);
  const lMax = layer['l_max'];
  if (!Array.isArray(lMax) || !lMax.every((n): n is number => typeof n === 'number'))
    throw new OnnxExportError(`${where}: l_max must be a list of numbers in a normalised spec`);
  return {
    d_model: num(layer, 'd_model', where),
    d_state: num(layer, 'd_state', where),
    channels: num(layer, 'channels', where),
    bidirectional: layer['bidirectional'] !== false,
    mode,
    bandlimit: num(layer, 'bandlimit', where),
    linear: layer['linear'] === true,
    l_max: lMax,
  };
}
