// Results evaluations with WebGPU selected run in the results worker (a forked child), never in the main process: through
// the app's services (router, settings), on real onnxruntime (WebGPU EP) on SwiftShader with the shipped Fashion-MNIST
// classifier on 6 items at 28 px. The worker's figures match the in-process CPU run; its errors come back as the same
// AppError; killing it mid-call gives the CPU result with the reason and the next call starts a fresh worker; selecting
// the CPU again stops it; and this (main) process never maps dawn.node or onnxruntime (checked in /proc/self/maps,
// a check shown to fail by loading `webgpu` here at the end).
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ClassifyEvaluation } from '../../contract/results.js';
import { resultsHandlers } from '../../main/app/handlers/results.js';
import { createAppServices, type AppServices } from '../../main/app/services.js';
import { ModelManager } from '../../main/models/manager.js';
import { useSwiftShader } from '../gpu/gpu-test-device.js';
import { fashionProject } from './project-fixture.js';

useSwiftShader();

const ctx = { transport: 'test' as const };
let tmp: string;
let fashion: string;
let services: AppServices;
let cpu: ClassifyEvaluation;
const params = (): { project: string; model: string; split: 'all'; sizes: number[] } => ({
  project: fashion,
  model: 'fashion-mnist-s4nd',
  split: 'all',
  sizes: [28],
});

/** The GPU libraries mapped into this process: dawn.node (the `webgpu` package) and onnxruntime's (its WebGPU EP). */
const gpuLibsMapped = (): string[] => [
  ...new Set(
    readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .map((l) => l.split(/\s+/).slice(5).join(' '))
      .filter((p) => /dawn\.node|libonnxruntime|onnxruntime_binding/.test(p)),
  ),
];

const classify = (): Promise<ClassifyEvaluation> => services.router.invoke('results.classify', params(), ctx);
const select = (backend: 'cpu' | 'webgpu'): Promise<unknown> =>
  services.router.invoke('settings.update', { backend }, ctx);

/** The worker's figures against the CPU run's: same predictions, probabilities within the ORT-WebGPU parity bound. */
function expectSameFigures(got: ClassifyEvaluation, tolerance: number): number {
  expect(got.items).toBe(6);
  expect(got.accuracy).toBe(cpu.accuracy);
  expect(got.confusion).toEqual(cpu.confusion);
  expect(got.bySize.map((s) => [s.size, s.accuracy, s.baseline])).toEqual(
    cpu.bySize.map((s) => [s.size, s.accuracy, s.baseline]),
  );
  let worst = 0;
  for (const [i, a] of cpu.predictions.entries()) {
    const b = got.predictions[i];
    expect(b?.itemId).toBe(a.itemId);
    expect(b?.top.map((t) => t.label)).toEqual(a.top.map((t) => t.label));
    for (const [j, t] of a.top.entries()) worst = Math.max(worst, Math.abs(t.p - (b?.top[j]?.p ?? NaN)));
  }
  expect(worst).toBeLessThanOrEqual(tolerance);
  return worst;
}

beforeAll(async () => {
  process.env['SSM_GPU_DETECT'] = '0';
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-results-worker-'));
  fashion = await fashionProject(path.join(tmp, 'fashion'), [0, 1], 2, 1);
  services = createAppServices({ mode: 'browser', dataDir: path.join(tmp, 'data'), cacheDir: path.join(tmp, 'cache') });
}, 120_000);

afterAll(async () => {
  await services?.dispose();
  await rm(tmp, { recursive: true, force: true });
});

describe('Results evaluations with WebGPU selected run in the results worker', () => {
  it('results.classify on webgpu runs in the worker (onnxruntime webgpu) and matches the CPU run; errors come back as the same AppError', async () => {
    expect(gpuLibsMapped()).toEqual([]);
    cpu = await classify();
    expect(cpu.backend).toMatchObject({ requested: 'cpu', used: 'cpu', reason: null, where: 'cpu (engine)' });
    expect(services.resultsWorker.starts).toBe(0);

    await select('webgpu');
    const t0 = performance.now();
    const gpu = await classify();
    const seconds = (performance.now() - t0) / 1000;
    expect(services.resultsWorker.starts).toBe(1);
    expect(services.resultsWorker.pid).not.toBeNull();
    expect(services.resultsWorker.pid).not.toBe(process.pid);
    expect(gpu.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    expect(gpu.backend?.where).toMatch(/^onnxruntime webgpu \(.*swiftshader/i);
    // Logits within 1e-3 of max|logit| (the EP's parity check): |Δp| ≤ max|Δlogit| / 2, about 5e-3 at worst.
    const worst = expectSameFigures(gpu, 5e-3);
    console.log(
      `results.classify in the worker (${gpu.backend?.where}): ${seconds.toFixed(1)} s with the worker's start and the parity check; max |Δp| vs CPU ${worst.toExponential(2)}`,
    );

    // An error thrown in the worker: the same code, message and path as in-process.
    const local = resultsHandlers(new ModelManager({ userDir: path.join(tmp, 'data', 'models') }));
    const bad = { ...params(), model: 'no-such-model' };
    const expected = await local['results.classify'](bad, ctx).then(
      () => null,
      (e: unknown) => e,
    );
    expect(expected).toMatchObject({ name: 'AppError', code: 'not_found', path: 'params.model' });
    await expect(services.router.invoke('results.classify', bad, ctx)).rejects.toMatchObject({
      name: 'AppError',
      code: 'not_found',
      path: 'params.model',
      message: (expected as Error).message,
    });
    expect(services.resultsWorker.starts).toBe(1);
  }, 240_000);

  it('killing the worker mid-call gives the CPU result with the reason; the next call starts a fresh worker; the CPU stops it', async () => {
    const first = services.resultsWorker.pid;
    if (first === null) throw new Error('the worker should still run');
    const pending = classify();
    while (services.resultsWorker.inFlight === 0) await new Promise((r) => setImmediate(r));
    process.kill(first, 'SIGKILL');
    const r = await pending;
    expect(r.backend).toMatchObject({
      requested: 'webgpu',
      used: 'cpu',
      adapter: null,
      reason: 'the GPU worker process exited (signal SIGKILL); ran on the CPU',
    });
    expect(r.backend?.where).toBe('cpu (engine) — the GPU worker process exited (signal SIGKILL); ran on the CPU');
    // The very same computation as the CPU run.
    expect(r.predictions).toEqual(cpu.predictions);
    expectSameFigures(r, 0);
    expect(services.resultsWorker.pid).toBeNull();

    const t0 = performance.now();
    const again = await classify();
    console.log(`results.classify in a fresh worker: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(services.resultsWorker.starts).toBe(2);
    expect(services.resultsWorker.pid).not.toBe(first);
    expect(again.backend).toMatchObject({ requested: 'webgpu', used: 'webgpu', reason: null });
    expectSameFigures(again, 5e-3);

    // Back to the CPU: the worker stops and the evaluation runs in-process.
    await select('cpu');
    await expect.poll(() => services.resultsWorker.pid).toBeNull();
    const back = await classify();
    expect(back.backend).toMatchObject({ requested: 'cpu', used: 'cpu', reason: null });
    expect(services.resultsWorker.starts).toBe(2);
  }, 240_000);

  it('the main process never loaded dawn.node or onnxruntime (and the check sees them once loaded)', async () => {
    // The CPU evaluations ran on the engine (the shipped model has a checkpoint): no onnxruntime here either.
    expect(gpuLibsMapped()).toEqual([]);
    await import('webgpu');
    expect(gpuLibsMapped().some((p) => p.endsWith('dawn.node'))).toBe(true);
  });
});
