// onnxruntime helpers for imported third-party ONNX models: named input/output runs and the graph's declared
// inputs/outputs (names, element types, dims). Loaded lazily, like main/onnx/runtime.ts.
import { createRequire } from 'node:module';

import type * as OrtTypes from 'onnxruntime-node';

import type { OnnxSession } from '../onnx/runtime.js';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof OrtTypes;

export interface TensorInfo {
  name: string;
  /** 'float32', 'int64', ... or 'non-tensor'. */
  type: string;
  /** Declared dims: a number, or a symbolic name / null when dynamic. */
  dims: (number | string | null)[] | null;
}

export function sessionInputs(session: OnnxSession): TensorInfo[] {
  return session.inputMetadata.map(info);
}

export function sessionOutputs(session: OnnxSession): TensorInfo[] {
  return session.outputMetadata.map(info);
}

function info(m: OrtTypes.InferenceSession.ValueMetadata): TensorInfo {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', dims: null };
  return {
    name: m.name,
    type: m.type,
    dims: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' ? d : null)),
  };
}

/** [async] Feeds `x` as the float32 input `input` and returns the float32 output `output`. */
export async function runMapped(
  session: OnnxSession,
  input: string,
  x: Float32Array,
  shape: number[],
  output: string,
): Promise<{ data: Float32Array; shape: number[] }> {
  const res = await session.run({ [input]: new ort.Tensor('float32', x, shape) }, [output]);
  const y = res[output];
  if (!y || !(y.data instanceof Float32Array)) throw new Error(`the ONNX model's output '${output}' is not float32`);
  return { data: y.data, shape: y.dims.map(Number) };
}
