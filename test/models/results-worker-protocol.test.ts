// The results worker's protocol, with stand-in child scripts (no model, no GPU): what comes back is checked (a
// malformed message or a wrongly shaped result is not trusted), errors come back as AppError, calls in flight at once
// are answered by id, a child that exits mid-call rejects its calls with the reason, and idle children are stopped.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { onCpuBecause } from '../../main/app/handlers/results-routed.js';
import { ResultsWorker, WorkerExitedError, checkResult, parseWorkerMessage } from '../../main/app/results-worker.js';
import { AppError } from '../../main/ipc/app-error.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-results-protocol-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A ResultsWorker whose child runs `body` (with `msg`, the call, in scope) for every call. */
async function workerWith(name: string, body: string, idleMs?: number): Promise<ResultsWorker> {
  const script = path.join(tmp, `${name}.mjs`);
  await writeFile(
    script,
    `process.on('message', (msg) => { ${body} });\nprocess.on('disconnect', () => process.exit(0));\n`,
  );
  return new ResultsWorker({ userDir: tmp, cacheDir: tmp, script, ...(idleMs ? { idleMs } : {}) });
}

const backend = { requested: 'webgpu', used: 'webgpu', adapter: 'x', reason: null, where: 'onnxruntime webgpu (x)' };
const params = { project: '/p', model: 'm', split: 'all' as const, sizes: [28] };

describe('results worker protocol', () => {
  it('parseWorkerMessage and checkResult reject what the child may not send', () => {
    expect(parseWorkerMessage({ type: 'result', id: 1, result: { backend } })).toMatchObject({ type: 'result' });
    expect(parseWorkerMessage({ type: 'error', id: 2, error: { code: 'not_found', message: 'no' } })).toMatchObject({
      type: 'error',
    });
    expect(parseWorkerMessage(null)).toBe('not a message with an id');
    expect(parseWorkerMessage({ type: 'result', id: 1.5, result: {} })).toBe('not a message with an id');
    expect(parseWorkerMessage({ type: 'result', id: 1 })).toBe('a result without its value');
    expect(parseWorkerMessage({ type: 'error', id: 1, error: { code: 'boom', message: 'x' } })).toMatch(/known code/);
    expect(parseWorkerMessage({ type: 'hello', id: 1 })).toBe('unknown message type "hello"');
    expect(checkResult('results.classify', { backend })).toBeNull();
    expect(checkResult('results.classify', { accuracy: 1 })).toMatch(/backend/);
    expect(checkResult('results.compareSegment', [{ backend }, { backend }])).toBeNull();
    expect(checkResult('results.compareSegment', [{ backend }])).toMatch(/two/);
    expect(
      checkResult('results.compareInterpolate', { steps: [], models: ['a', 'b'], backends: [backend, backend] }),
    ).toBeNull();
    expect(checkResult('results.compareInterpolate', { steps: [], models: ['a', 'b'] })).toMatch(/backend of each/);
    expect(
      checkResult('results.compareInterpolate', { steps: [], models: ['a', 'b'], backends: [backend, {}] }),
    ).toMatch(/backend of each/);
  });

  it('a re-run on the CPU after the worker died marks every backend of the result (pairs and comparisons too)', () => {
    const cpu = { requested: 'cpu', used: 'cpu', adapter: null, reason: null, where: 'cpu (engine)' };
    const why = 'the GPU worker process exited (signal SIGKILL); ran on the CPU';
    const marked = { requested: 'webgpu', used: 'cpu', adapter: null, reason: why, where: `cpu (engine) — ${why}` };
    expect(onCpuBecause({ accuracy: 1, backend: cpu }, why)).toEqual({ accuracy: 1, backend: marked });
    expect(onCpuBecause([{ backend: cpu }, { backend: cpu }], why)).toEqual([{ backend: marked }, { backend: marked }]);
    expect(onCpuBecause({ steps: [], backends: [cpu, cpu] }, why)).toEqual({ steps: [], backends: [marked, marked] });
    expect(onCpuBecause({ steps: [] }, why)).toEqual({ steps: [] });
  });

  it('answers calls in flight at once by id; errors come back as AppError; a wrongly shaped result is refused', async () => {
    // Answers in reverse order of arrival, after both calls arrived; model 'bad' fails, model 'odd' gets no backend.
    const w = await workerWith(
      'echo',
      `globalThis.q = (globalThis.q ?? []).concat([msg]);
       if (globalThis.q.length < 3) return;
       for (const m of globalThis.q.reverse()) {
         if (m.params.model === 'bad') process.send({ type: 'error', id: m.id, error: { code: 'not_found', message: 'no model bad', path: 'params.model' } });
         else if (m.params.model === 'odd') process.send({ type: 'result', id: m.id, result: { accuracy: 1 } });
         else process.send({ type: 'result', id: m.id, result: { model: m.params.model, backend: ${JSON.stringify(backend)} } });
       }`,
    );
    try {
      const [a, b, c] = await Promise.allSettled([
        w.call('results.classify', params, 'test'),
        w.call('results.classify', { ...params, model: 'bad' }, 'test'),
        w.call('results.classify', { ...params, model: 'odd' }, 'test'),
      ]);
      expect(a).toMatchObject({ status: 'fulfilled', value: { model: 'm', backend } });
      expect(b.status === 'rejected' && b.reason).toBeInstanceOf(AppError);
      expect(b).toMatchObject({ reason: { code: 'not_found', message: 'no model bad', path: 'params.model' } });
      expect(c).toMatchObject({
        reason: {
          code: 'internal',
          message: /answered results\.classify wrongly: expected an object with its backend/,
        },
      });
      expect(w.starts).toBe(1);
      expect(w.inFlight).toBe(0);
    } finally {
      await w.stop();
    }
    expect(w.pid).toBeNull();
  });

  it('a malformed message or an exit mid-call rejects the pending calls with the reason; the next call starts a fresh child', async () => {
    const bad = await workerWith('malformed', `process.send({ type: 'result' });`);
    const e1 = await bad.call('results.classify', params, 'test').catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(WorkerExitedError);
    expect((e1 as WorkerExitedError).reason).toBe(
      'the GPU worker process sent a malformed message (not a message with an id)',
    );

    const dies = await workerWith('dies', `process.exit(3);`);
    const e2 = await dies.call('results.classify', params, 'test').catch((e: unknown) => e);
    expect((e2 as WorkerExitedError).reason).toBe('the GPU worker process exited (exit code 3)');
    const e3 = await dies.call('results.classify', params, 'test').catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(WorkerExitedError);
    expect(dies.starts).toBe(2);
  });

  it('stops an idle child', async () => {
    const w = await workerWith(
      'idle',
      `process.send({ type: 'result', id: msg.id, result: { backend: ${JSON.stringify(backend)} } });`,
      200,
    );
    await w.call(
      'results.probe',
      { ...params, task: 'classify', architecture: null, from: null, size: 14, batchSize: 4 },
      'test',
    );
    expect(w.pid).not.toBeNull();
    await expect.poll(() => w.pid, { timeout: 5000 }).toBeNull();
  });
});
