// main/models/backend.ts on SwiftShader: the Settings.backend a job reads, predictions on the GPU with a per-call CPU
// fallback for inputs the GPU cannot take, and a device that is gone before the model gets there.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Model } from '../../main/engine/model.js';
import type { ModelSpec } from '../../main/engine/spec.js';
import { acquireDevice } from '../../main/gpu/device.js';
import { GpuRuntime } from '../../main/gpu/runtime.js';
import { ModelBackend, readBackendSetting } from '../../main/models/backend.js';
import { relMax, testRuntime, useSwiftShader } from '../gpu/gpu-test-device.js';

useSwiftShader();

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-gpu-backend-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const SEQ: ModelSpec = {
  input: { channels: 1, size: [16] },
  layers: [{ type: 's4nd', d_state: 2 }, { type: 'global_avg_pool' }, { type: 'linear', out: 2 }],
};
const ramp = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i / 3));

describe('model backend', () => {
  it('reads Settings.backend from the data folder (cpu when missing, unreadable or unknown)', async () => {
    expect(await readBackendSetting(path.join(tmp, 'none'))).toBe('cpu');
    await writeFile(path.join(tmp, 'settings.json'), JSON.stringify({ theme: 'dark', backend: 'webgpu' }));
    expect(await readBackendSetting(tmp)).toBe('webgpu');
    await writeFile(path.join(tmp, 'settings.json'), '{ not json');
    expect(await readBackendSetting(tmp)).toBe('cpu');
    await writeFile(path.join(tmp, 'settings.json'), JSON.stringify({ backend: 'cuda' }));
    expect(await readBackendSetting(tmp)).toBe('cpu');
  });

  it('predicts on the GPU; an input the GPU cannot take runs on the CPU for that call only', async () => {
    const rt = await testRuntime();
    const model = Model.create(SEQ, 4);
    const b = await ModelBackend.open(model, { backend: 'webgpu', runtime: rt });
    expect(b.report()).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    const m = b.asModel();
    const small = await m.predict(ramp(16), [1, 1, 16]);
    expect(b.gpuPredictions).toBe(1);
    expect(relMax(small.data, (await model.predict(ramp(16), [1, 1, 16])).data)).toBeLessThan(1e-5);
    // 1-D length 1500 at rate 1/100: FFT length 3000 > 2048 (SwiftShader's limit) → this call on the CPU.
    const long = await m.predict(ramp(1500), [1, 1, 1500], { rate: 0.01 });
    expect(b.cpuPredictions).toBe(1);
    expect(long.data).toEqual((await model.predict(ramp(1500), [1, 1, 1500], { rate: 0.01 })).data);
    expect(b.report().used).toBe('webgpu');
    expect(b.report().reason).toMatch(/^1 prediction\(s\) ran on the CPU: unsupported on webgpu: s4nd FFT length/);
    expect(b.describe()).toMatch(/^webgpu \(/);
    await m.predict(ramp(16), [1, 1, 16]);
    expect(b.gpuPredictions).toBe(2);
    // The proxy is the engine model for everything else.
    expect(m.paramCount()).toBe(model.paramCount());
    b.dispose();
    model.dispose();
  });

  it('a device that is already gone: the CPU from the start, with the reason', async () => {
    const r = await acquireDevice();
    if (!r.ok) throw new Error(r.reason);
    r.context.destroy();
    await r.context.lost;
    const model = Model.create(SEQ, 5);
    const b = await ModelBackend.open(model, { backend: 'webgpu', runtime: new GpuRuntime(r.context) });
    expect(b.report()).toMatchObject({ requested: 'webgpu', used: 'cpu' });
    expect(b.report().reason).toBeTruthy();
    expect(b.describe()).toMatch(/^cpu \(webgpu not used: /);
    const s = await b.trainStep({ x: ramp(16), shape: [1, 1, 16], targets: Float32Array.of(1) }, { lr: 1e-3 });
    expect(s.backend).toBe('cpu');
    b.dispose();
    model.dispose();
  });
});
