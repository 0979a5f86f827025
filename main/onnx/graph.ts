// A small typed builder over the onnx-proto classes: nodes, initializers, graph inputs/outputs with dynamic dims,
// and serialisation to ModelProto bytes. Tensor values are referred to by name (plain strings), as in ONNX itself.
import { createRequire } from 'node:module';

import type { onnx as OnnxTypes } from 'onnx-proto';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxTypes };

/** Opset of the default domain used by every exported graph (DFT and LayerNormalization need 17). */
export const OPSET = 17;
/** ONNX IR version written into the model (onnx 1.10 schema of onnx-proto; accepted by onnxruntime >= 1.10). */
export const IR_VERSION = 8;

export type ElemType = 'float32' | 'float64' | 'int64' | 'bool';

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A node attribute, tagged by its ONNX kind (a bare number would be ambiguous between INT and FLOAT). */
export type Attr = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string };

/** A graph input/output dimension: a fixed size or a symbolic (dynamic) name. */
export type Dim = number | string;

export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly constCache = new Map<string, string>();
  private counter = 0;
  /** Prefix for generated names, e.g. 'layers.1.layers.1' while emitting one layer. */
  scope = '';

  /** A fresh value name under the current scope. */
  fresh(hint: string): string {
    const base = this.scope ? `${this.scope}/${hint}` : hint;
    let name = `${base}_${this.counter++}`;
    while (this.used.has(name)) name = `${base}_${this.counter++}`;
    this.used.add(name);
    return name;
  }

  private reserve(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX graph: the value name '${name}' is already used`);
    this.used.add(name);
    return name;
  }

  /** Adds one node and returns its output names. */
  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(opType));
    const attribute: OnnxTypes.IAttributeProto[] = Object.entries(attrs).map(([name, a]) => {
      const T = onnx.AttributeProto.AttributeType;
      if ('i' in a) return { name, type: T.INT, i: a.i };
      if ('f' in a) return { name, type: T.FLOAT, f: a.f };
      if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
      if ('floats' in a) return { name, type: T.FLOATS, floats: a.floats };
      return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
    });
    this.nodes.push({ opType, input: inputs, output: outs, name: outs[0], attribute });
    return outs;
  }

  /** Adds a single-output node and returns its output name. */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const out = this.node(opType, inputs, attrs, 1)[0];
    if (out === undefined) throw new Error('unreachable: node without output');
    return out;
  }

  /** A named float32 initializer (a model weight), stored as raw little-endian bytes. */
  weight(name: string, data: ArrayLike<number>, dims: number[]): string {
    this.checkCount(name, data.length, dims);
    const f = Float32Array.from(data);
    this.initializers.push({
      name: this.reserve(name),
      dataType: ELEM.float32,
      dims,
      rawData: new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
    });
    return name;
  }

  private checkCount(name: string, n: number, dims: number[]): void {
    const want = dims.reduce((a, b) => a * b, 1);
    if (n !== want) throw new Error(`ONNX graph: '${name}' has ${n} values but dims [${dims.join(', ')}] need ${want}`);
  }

  private constant(type: ElemType, values: ArrayLike<number>, dims: number[]): string {
    const key = `${type}|${dims.join(',')}|${Array.from(values).join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh(`const_${type}`);
    this.checkCount(name, values.length, dims);
    let raw: Uint8Array;
    if (type === 'int64') {
      const a = BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
      raw = new Uint8Array(a.buffer);
    } else if (type === 'float64') {
      raw = new Uint8Array(Float64Array.from(values).buffer);
    } else if (type === 'float32') {
      raw = new Uint8Array(Float32Array.from(values).buffer);
    } else {
      raw = Uint8Array.from(values, (v) => (v ? 1 : 0));
    }
    this.initializers.push({ name, dataType: ELEM[type], dims, rawData: raw });
    this.constCache.set(key, name);
    return name;
  }

  /** int64 constant; a 1-D tensor unless `dims` says otherwise ([] for a scalar). */
  i64(values: number[], dims: number[] = [values.length]): string {
    return this.constant('int64', values, dims);
  }

  f32(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    return this.constant('float32', values, dims);
  }

  f64(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    return this.constant('float64', values, dims);
  }

  input(name: string, type: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(this.reserve(name), type, dims));
    return name;
  }

  /** Declares `value` as a graph output named `name` (through an Identity so the name is free to choose). */
  output(name: string, value: string, type: ElemType, dims: Dim[]): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [this.reserve(name)], name });
    this.outputs.push(valueInfo(name, type, dims));
  }

  // --- small helpers used by the layer emitters -------------------------------------------------------------

  /** x[starts:ends] along `axes` (all int64 1-D value names or constants). */
  slice(x: string, starts: string, ends: string, axes: number[]): string {
    return this.op('Slice', [x, starts, ends, this.i64(axes)]);
  }

  /** Element i of a 1-D int64 shape tensor, as a 1-element 1-D tensor. */
  dim(shape: string, i: number): string {
    return this.slice(shape, this.i64([i]), this.i64([i + 1]), [0]);
  }

  unsqueeze(x: string, axes: number[]): string {
    return this.op('Unsqueeze', [x, this.i64(axes)]);
  }

  squeeze(x: string, axes: number[]): string {
    return this.op('Squeeze', [x, this.i64(axes)]);
  }

  reshape(x: string, shape: string): string {
    return this.op('Reshape', [x, shape]);
  }

  toBytes(producer = 'ssm-studio'): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: producer,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: 'ssm_studio_model',
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, type: ElemType, dims: Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
