// Running an exported model with onnxruntime-node (CPU execution provider). onnxruntime runs a session on its own
// threads and resolves the Promise from there, so calls here do not block the event loop.
import { createRequire } from 'node:module';

import type * as OrtTypes from 'onnxruntime-node';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof OrtTypes;

export type OnnxSession = OrtTypes.InferenceSession;

export interface OnnxOutput {
  data: Float32Array;
  shape: number[];
}

/** [async] Creates a CPU session from model bytes. `threads` caps the intra-op pool (0 = onnxruntime default). */
export async function createSession(bytes: Uint8Array, threads = 0): Promise<OnnxSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
  });
}

/** Whether the session takes an explicit `rate` input (export option rate: 'input'). */
export function takesRate(session: OnnxSession): boolean {
  return session.inputNames.includes('rate');
}

/** [async] Runs `x` (B, C, size...) through the session; `rate` is fed only if the model takes it. */
export async function runSession(
  session: OnnxSession,
  x: Float32Array,
  shape: number[],
  rate = 1,
): Promise<OnnxOutput> {
  const feeds: Record<string, OrtTypes.Tensor> = { x: new ort.Tensor('float32', x, shape) };
  if (takesRate(session)) feeds['rate'] = new ort.Tensor('float32', Float32Array.from([rate]), [1]);
  const res = await session.run(feeds);
  const y = res['y'];
  if (!y || !(y.data instanceof Float32Array)) throw new Error("the ONNX model has no float32 output 'y'");
  return { data: y.data, shape: y.dims.map(Number) };
}
