// Device discovery, device loss, and the runtime's promises: pooled buffers (no allocation in steady state), cached
// pipelines, one submission per batch, data leaving the GPU only through read().
import { describe, expect, test } from 'vitest';

import { GpuCommandError, GpuDeviceLostError, acquireDevice, listAdapters } from '../../main/gpu/device.js';
import { GPU_OPS, gpuSupports } from '../../main/gpu/backend.js';
import { gelu, geluBackward, mseLoss } from '../../main/gpu/ops/basic.js';
import { matmul, matmulBackward } from '../../main/gpu/ops/matmul.js';
import { type S4ndConfig, releaseS4ndSaved, s4ndBackward, s4ndForward } from '../../main/gpu/ops/s4nd.js';
import { GpuRuntime, Params } from '../../main/gpu/runtime.js';
import { seeded, testRuntime, up, useSwiftShader } from './gpu-test-device.js';

describe('GPU device and runtime', () => {
  test('lists the SwiftShader adapter with its limits', async () => {
    await testRuntime();
    const adapters = await listAdapters();
    expect(adapters.length).toBeGreaterThan(0);
    const a = adapters[0];
    if (!a) throw new Error('no adapter');
    expect(typeof a.description).toBe('string');
    expect(a.limits['maxComputeWorkgroupSizeX']).toBeGreaterThanOrEqual(256);
    expect(a.limits['maxStorageBufferBindingSize']).toBeGreaterThan(0);
    if (process.env['SSM_GPU_TEST_DRIVER'] !== 'system') {
      expect(`${a.vendor} ${a.architecture} ${a.description}`.toLowerCase()).toContain('swiftshader');
    }
  });

  test('device loss: the lost promise resolves and further work throws GpuDeviceLostError', async () => {
    useSwiftShader();
    const r = await acquireDevice();
    if (!r.ok) throw new Error(r.reason);
    const rt = new GpuRuntime(r.context);
    const x = rt.upload(Float32Array.of(1, 2, 3), [3]);
    expect(Array.from(await rt.read(x))).toEqual([1, 2, 3]);
    let notified: GpuDeviceLostError | null = null;
    r.context.onLost((e) => {
      notified = e;
    });
    r.context.destroy();
    const err = await r.context.lost;
    expect(err).toBeInstanceOf(GpuDeviceLostError);
    expect(err.lostReason).toBe('destroyed');
    expect(notified).toBe(err);
    expect(r.context.isLost).toBe(true);
    expect(() => rt.run((b) => gelu(rt, b, x))).toThrow(GpuDeviceLostError);
    await expect(rt.read(x)).rejects.toBeInstanceOf(GpuDeviceLostError);
  });

  test('steady state: a repeated training step creates no buffers, bind groups or pipelines', async () => {
    const rt = await testRuntime();
    const [m, k, n] = [8, 16, 8];
    const A = up(rt, seeded(1, m * k), [m, k]);
    const W = up(rt, seeded(2, k * n), [k, n]);
    const T = up(rt, seeded(3, m * n), [m, n]);
    const step = (): void => {
      rt.run((b) => {
        const y = matmul(rt, b, A, W, { m, n, k });
        const z = gelu(rt, b, y);
        const { loss, dx } = mseLoss(rt, b, z, T);
        const dy = geluBackward(rt, b, dx, y);
        const g = matmulBackward(rt, b, dy, A, W, m, n, k, false);
        rt.release(y, z, loss, dx, dy, g.dA, g.dB);
      });
    };
    step();
    step(); // warm-up: see the S4ND steady-state test below
    await rt.sync();
    const before = { ...rt.stats };
    for (let i = 0; i < 3; i++) step();
    await rt.sync();
    expect(rt.stats.buffersCreated).toBe(before.buffersCreated);
    expect(rt.stats.pipelinesCompiled).toBe(before.pipelinesCompiled);
    expect(rt.stats.bindGroupsCreated).toBe(before.bindGroupsCreated);
    expect(rt.stats.submits - before.submits).toBe(3); // one submission per step
    expect(rt.stats.bytesRead).toBe(before.bytesRead); // nothing came back to the CPU
  });

  test('steady state holds for an S4ND layer step (kernel generation, FFT convolution, all backward passes)', async () => {
    const rt = await testRuntime();
    const cfg: S4ndConfig = {
      batch: 1,
      h: 2,
      channels: 1,
      n2: 2,
      lengths: [6, 5],
      lMax: [6, 5],
      rate: 1,
      bandlimit: null,
    };
    const axis = () => ({
      invDt: up(rt, [-1, -0.5], [2, 1]),
      aReal: up(rt, [-0.7, -0.6], [1, 2]),
      aImag: up(rt, [0.5, 3], [1, 2]),
      b: up(rt, [1, 0.2, 0.8, -0.1], [1, 1, 2, 2]),
      c: up(rt, seeded(5, 2 * 2 * 2 * 2), [2, 2, 2, 2]),
    });
    const axes = [axis(), axis()];
    const u = up(rt, seeded(6, 60), [1, 2, 6, 5]);
    const dy = up(rt, seeded(7, 60), [1, 2, 6, 5]);
    const dSkip = up(rt, [0.5, -0.3], [1, 2]);
    const step = (): void => {
      rt.run((b) => {
        const f = s4ndForward(rt, b, cfg, u, axes, dSkip);
        const g = s4ndBackward(rt, b, cfg, f.saved, dy, axes, dSkip);
        releaseS4ndSaved(rt, f.saved, false);
        rt.release(f.y, g.du, g.dD, ...g.dk);
        for (const a of g.axes) rt.release(a.invDt, a.aReal, a.aImag, a.b, a.c);
      });
    };
    step();
    await rt.sync();
    const afterFirst = { ...rt.stats };
    // Step 2 reuses step 1's buffers, but not necessarily in step 1's roles, so its bind groups can be new; from then on
    // the oldest-first pool hands out the same buffers in the same roles.
    step();
    await rt.sync();
    expect(rt.stats.buffersCreated).toBe(afterFirst.buffersCreated);
    const before = { ...rt.stats };
    step();
    step();
    await rt.sync();
    expect(rt.stats.buffersCreated).toBe(before.buffersCreated);
    expect(rt.stats.bindGroupsCreated).toBe(before.bindGroupsCreated);
    expect(rt.stats.pipelinesCompiled).toBe(before.pipelinesCompiled);
  });

  test('reading while a batch is open is refused (its results would not exist yet)', async () => {
    const rt = await testRuntime();
    const x = up(rt, [1, 2], [2]);
    const b = rt.batch();
    const y = gelu(rt, b, x);
    await expect(rt.read(y)).rejects.toThrow(/batch is still open/);
    b.submit();
    expect((await rt.read(y)).length).toBe(2);
    rt.release(x, y);
  });

  test('released buffers are not reused inside the batch that released them', async () => {
    const rt = await testRuntime();
    const x = up(rt, [1, 2, 3, 4], [4]);
    const out = rt.run((b) => {
      const y = gelu(rt, b, x);
      rt.release(y); // y's buffer is still read by nothing, but must not be handed out before submission
      const z = rt.alloc([4]);
      expect(z.buffer).not.toBe(y.buffer);
      return z;
    });
    rt.release(out);
  });

  test('a WebGPU validation error surfaces as GpuCommandError at the next read', async () => {
    const rt = await testRuntime();
    const x = up(rt, [1, 2, 3, 4], [4]);
    // Binds a read-only buffer where the kernel writes: invalid usage (writable storage aliasing the same buffer).
    const code = `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
struct P { n: u32 }
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(1) fn main() { o[0] = a[0] + f32(p.n); }`;
    rt.run((b) => b.dispatch({ code, label: 'invalid_alias' }, [x, x], new Params().u32(1), [1, 1, 1]));
    await expect(rt.read(x)).rejects.toBeInstanceOf(GpuCommandError);
    // The error is reported once; the device keeps working.
    expect(Array.from(await rt.read(x))).toEqual([1, 2, 3, 4]);
  });

  test('the backend declares its op list', () => {
    expect(gpuSupports('s4nd_conv')).toBe(true);
    expect(gpuSupports('dplr_kernel', true)).toBe(true);
    expect(gpuSupports('no_such_op')).toBe(false);
    for (const op of GPU_OPS) expect(op.backward === true || op.backward === false).toBe(true);
  });
});
