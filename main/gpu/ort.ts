// onnxruntime-node with its WebGPU execution provider (onnxruntime-node >= 1.2x ships it on Linux x64; it uses its
// own Dawn, so the same VK_ICD_FILENAMES rules apply). Nodes the EP lacks, or that onnxruntime deems cheaper on the
// CPU (small shape arithmetic), run on its CPU EP inside the same session.
import { createRequire } from 'node:module';

import type * as OrtTypes from 'onnxruntime-node';

const require = createRequire(import.meta.url);

/** [async] A session on the WebGPU EP; rejects with onnxruntime's message when the EP cannot start. */
export async function createWebGpuSession(bytes: Uint8Array): Promise<OrtTypes.InferenceSession> {
  const ort = require('onnxruntime-node') as typeof OrtTypes;
  ort.env.logLevel = 'error';
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['webgpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
}
