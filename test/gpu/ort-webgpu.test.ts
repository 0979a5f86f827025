// ONNX export (main/onnx) run by onnxruntime's WebGPU execution provider, against the CPU engine and the GPU graph
// executor, at the training size and at another size (rate from the input size).
import { describe, expect, test } from 'vitest';

import { Model } from '../../main/engine/model.js';
import type { ModelSpec } from '../../main/engine/spec.js';
import { GpuModel } from '../../main/gpu/graph/executor.js';
import { createWebGpuSession } from '../../main/gpu/ort.js';
import { exportOnnx } from '../../main/onnx/export.js';
import { runSession } from '../../main/onnx/runtime.js';
import { nmse, seeded, testRuntime } from './gpu-test-device.js';

const SPEC: ModelSpec = {
  input: { channels: 1, size: [8, 8] },
  layers: [
    { type: 'conv2d', out: 4, kernel: 2, stride: 2 },
    { type: 'residual', layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: 4 }] },
    { type: 'residual', layers: [{ type: 'layernorm' }, { type: 's4nd', d_state: 4, channels: 2 }] },
    { type: 'global_avg_pool' },
    { type: 'linear', out: 3 },
  ],
};

describe('onnxruntime WebGPU EP', () => {
  test('exported S4ND classifier: ORT webgpu = CPU engine = GPU executor (8x8 and 16x16 at rate 0.5)', async () => {
    const rt = await testRuntime(); // also points Dawn (ours and onnxruntime's) at SwiftShader
    const cpu = Model.create(SPEC, 21);
    const gpu = await GpuModel.fromCpu(rt, cpu);
    const session = await createWebGpuSession(exportOnnx(cpu));
    for (const [size, rate] of [
      [8, 1],
      [16, 0.5],
    ] as const) {
      const shape = [2, 1, size, size];
      const x = Float32Array.from(seeded(size, 2 * size * size));
      const ref = await cpu.predict(x, shape, { rate });
      const ort = await runSession(session, x, shape);
      const ours = await gpu.predict(x, shape, { rate });
      const eOrt = nmse(ort.data, ref.data);
      const eOurs = nmse(ours.data, ref.data);
      console.log(
        `${size}x${size}: ORT webgpu vs CPU engine NMSE ${eOrt.toExponential(2)}; GPU executor ${eOurs.toExponential(2)}`,
      );
      expect(ort.shape).toEqual(ref.shape);
      // NMSE 1e-10 ≈ 1e-5 relative RMS: the exported graph computes the S4D kernels with float32 Exp/Sin/Cos
      // (the engine in float64), and onnxruntime may run some of them on SwiftShader's ~2e-4-accurate sin/cos.
      expect(eOrt).toBeLessThan(1e-10);
      expect(eOurs).toBeLessThan(1e-12);
    }
    await session.release();
    cpu.dispose();
    gpu.dispose();
  });
});
