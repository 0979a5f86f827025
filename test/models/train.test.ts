// The training service on a real project (Fashion-MNIST PNGs imported as an ImageFolder): progressive resizing,
// validation at several resolutions, checkpoints, registration with a model card (+ ONNX with parity), early
// stopping, deterministic pause/resume, cancel as a job, resume after the job process is SIGKILLed, fine-tuning
// with a new head. The job-process tests need dist/ (node scripts/build.mjs main).
import { fork } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { JobInfo, TrainMetrics, TrainParams, TrainResult, WorkerToHost } from '../../contract/index.js';
import { built } from '../../main/app/paths.js';
import { JobHost } from '../../main/jobs/job-host.js';
import { ModelManager } from '../../main/models/manager.js';
import { runTraining } from '../../main/models/train-service.js';
import { readTrainState } from '../../main/models/train.js';
import { ProjectStore } from '../../main/project/store.js';
import { fashionProject } from './project-fixture.js';

let tmp: string;
let project: string;
let manager: ModelManager;
const never = new AbortController().signal;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-train-'));
  // 4 classes × 48 train + 16 val images.
  project = await fashionProject(tmp, [0, 1, 7, 8], 48, 16);
  manager = new ModelManager({ userDir: path.join(tmp, 'data', 'models'), builtinDir: path.join(tmp, 'no-builtins') });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const base: TrainParams = {
  project: '',
  task: 'classify',
  schedule: [
    { size: 14, epochs: 2 },
    { size: 28, epochs: 2 },
  ],
  batchSize: 16,
  seed: 5,
  validationSizes: [14, 28, 56],
};

describe('training service', () => {
  let firstModel = '';

  it('trains with progressive resizing 14 -> 28, validates at 14/28/56 each epoch, registers a model card with ONNX', async () => {
    const seen: TrainMetrics[] = [];
    const result = await runTraining(
      { ...base, project, runId: 'prog' },
      { signal: never, progress: (_d, _t, _m, metrics) => metrics && seen.push(metrics), manager },
    );
    const state = await readTrainState(path.join(project, 'runs', 'prog'));
    expect(state?.done).toBe(true);
    // Stages ran at their sizes, in order; 12 batches per epoch (192 / 16).
    expect(state?.history.map((h) => h.size)).toEqual([14, 14, 28, 28]);
    expect(state?.step).toBe(48);
    expect(new Set(seen.map((m) => m.size))).toEqual(new Set([14, 28]));
    expect(seen.every((m) => m.samplesPerSecond > 0 && Number.isFinite(m.loss))).toBe(true);
    for (const h of state?.history ?? []) expect(h.validation.map((v) => v.size)).toEqual([14, 28, 56]);
    const losses = state?.history.map((h) => h.trainLoss) ?? [];
    expect(losses.at(-1)).toBeLessThan(losses[0] as number);
    const card = result.card;
    expect(card?.classes).toEqual(['Bag', 'Sneaker', 'T-shirt-top', 'Trouser']);
    expect(card?.trainingResolutions).toEqual([14, 28]);
    expect(card?.input.size).toEqual([28, 28]);
    const acc28 = card?.metrics.find((m) => m.size === 28)?.metrics['accuracy'] ?? 0;
    console.log('progressive 14->28 card metrics', JSON.stringify(card?.metrics), 'onnx', JSON.stringify(card?.onnx));
    expect(acc28).toBeGreaterThan(0.6); // 4 classes: chance is 0.25
    expect(card?.lineage.datasetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(card?.lineage.schedule).toEqual(base.schedule);
    expect(card?.onnx?.parity.every((p) => p.ok)).toBe(true);
    // The project logged the run and its per-epoch metrics.
    const store = ProjectStore.open(project, { create: false });
    const rows = store.db.prepare("SELECT COUNT(*) AS n FROM metrics WHERE name = 'val_accuracy@28'").get() as {
      n: number;
    };
    store.close();
    expect(rows.n).toBe(4);
    // Checkpoints: only the last one is kept, plus the best.
    const files = readdirSync(path.join(project, 'runs', 'prog'))
      .filter((f) => f.endsWith('.safetensors'))
      .sort();
    expect(files).toEqual(['best.safetensors', 'ckpt-48.safetensors']);
    firstModel = result.modelId ?? '';
    expect((await manager.list()).map((m) => m.card.id)).toContain(firstModel);
  });

  it('a run paused mid-epoch (maxSteps) and resumed ends exactly like an uninterrupted run', async () => {
    const p: TrainParams = { ...base, schedule: [{ size: 14, epochs: 2 }], validationSizes: [14] };
    const whole = await runTraining(
      { ...p, project, runId: 'whole' },
      { signal: never, progress: () => undefined, manager },
    );
    const part = await runTraining(
      { ...p, project, runId: 'split', maxSteps: 7 },
      { signal: never, progress: () => undefined, manager },
    );
    expect(part.modelId).toBeNull();
    expect((await readTrainState(path.join(project, 'runs', 'split')))?.batch).toBe(7);
    const rest = await runTraining(
      { ...p, project, runId: 'split' },
      { signal: never, progress: () => undefined, manager },
    );
    expect(rest.resumed).toBe(true);
    const a = (await readTrainState(path.join(project, 'runs', 'whole')))?.history ?? [];
    const b = (await readTrainState(path.join(project, 'runs', 'split')))?.history ?? [];
    expect(b.map((h) => h.validation[0]?.metrics['accuracy'])).toEqual(
      a.map((h) => h.validation[0]?.metrics['accuracy']),
    );
    // Epoch 2 ran wholly after the resume: its loss is bit-identical; epoch 1 is split into two processes' sums.
    expect(b[1]?.trainLoss).toBe(a[1]?.trainLoss);
    expect(rest.card?.metrics).toEqual(whole.card?.metrics);
  });

  it('early stopping: no improvement for `patience` epochs ends the last stage', async () => {
    const r = await runTraining(
      {
        ...base,
        project,
        runId: 'early',
        schedule: [{ size: 28, epochs: 6 }],
        validationSizes: [28],
        lr: 1e-9,
        patience: 1,
      },
      { signal: never, progress: () => undefined, manager },
    );
    const s = await readTrainState(path.join(project, 'runs', 'early'));
    expect(r.stoppedEarly).toBe(true);
    expect(s?.history.length).toBe(2);
  });

  it('fine-tunes a registered model on different classes with a new head', async () => {
    const other = await fashionProject(path.join(tmp, 'ft'), [2, 5, 9], 64, 16, 1000);
    const r = await runTraining(
      {
        ...base,
        project: other,
        runId: 'ft',
        from: firstModel,
        schedule: [{ size: 28, epochs: 5 }],
        validationSizes: [28],
      },
      { signal: never, progress: () => undefined, manager },
    );
    expect(r.card?.classes).toEqual(['Ankle boot', 'Pullover', 'Sandal']);
    expect(r.card?.lineage.parent).toBe(firstModel);
    expect(r.card?.description).toMatch(/new head: layers\.\d+\.weight, layers\.\d+\.bias/);
    console.log(
      'fine-tune history',
      JSON.stringify(
        (await readTrainState(path.join(other, 'runs', 'ft')))?.history.map((h) => [
          h.trainLoss,
          h.validation[0]?.metrics,
        ]),
      ),
    );
    expect(r.card?.metrics[0]?.metrics['accuracy']).toBeGreaterThan(0.6);
  });
});

describe('training as a job (job processes from dist/)', () => {
  it('cancel pauses with a checkpoint; a job with the same runId resumes and finishes', async () => {
    const host = new JobHost({ cacheDir: path.join(tmp, 'cache'), dataDir: path.join(tmp, 'data') });
    const params: TrainParams = {
      ...base,
      project,
      runId: 'cancel',
      schedule: [{ size: 28, epochs: 6 }],
      validationSizes: [28],
    };
    const job = host.start({ kind: 'train', params });
    const mid = await until(host, job.id, (j) => (j.progress.metrics?.step ?? 0) >= 15);
    expect(mid.progress.metrics?.size).toBe(28);
    expect(mid.progress.etaSeconds).not.toBeNull();
    host.cancel(job.id);
    const cancelled = await until(host, job.id, (j) => j.finishedAt !== null);
    expect(cancelled.state).toBe('cancelled');
    const paused = await readTrainState(path.join(project, 'runs', 'cancel'));
    expect(paused?.step).toBeGreaterThanOrEqual(15);
    expect(paused?.done).toBe(false);
    const again = host.start({ kind: 'train', params });
    const done = await until(host, again.id, (j) => j.finishedAt !== null, 120_000);
    expect(done.state).toBe('done');
    const res = done.result as TrainResult;
    expect(res.resumed).toBe(true);
    expect(res.steps).toBe(72);
    await host.dispose();
  });

  it('resumes after the job process is SIGKILLed mid-training, from the last epoch checkpoint', async () => {
    const params: TrainParams = {
      ...base,
      project,
      runId: 'crash',
      schedule: [{ size: 28, epochs: 4 }],
      validationSizes: [28],
    };
    const runDir = path.join(project, 'runs', 'crash');
    const child = fork(built('main/jobs/job-process.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const killedAt = await new Promise<number>((resolve, reject) => {
      child.on('message', (m: WorkerToHost) => {
        // Kill in the middle of epoch 2, after epoch 1's checkpoint (step 12) is on disk.
        if (
          m.type === 'progress' &&
          (m.metrics?.step ?? 0) >= 18 &&
          existsSync(path.join(runDir, 'ckpt-12.safetensors'))
        ) {
          child.kill('SIGKILL');
          resolve(m.metrics?.step ?? 0);
        }
        if (m.type === 'done' || m.type === 'failed')
          reject(new Error(`job ended before the kill: ${JSON.stringify(m)}`));
      });
      child.send({
        type: 'start',
        jobId: 'j1',
        job: { kind: 'train', params },
        cacheDir: path.join(tmp, 'cache'),
        dataDir: path.join(tmp, 'data'),
      });
    });
    await new Promise((r) => child.once('exit', r));
    const onDisk = await readTrainState(runDir);
    console.log(`SIGKILL at step ${killedAt}; last checkpoint on disk: ${onDisk?.checkpoint} (step ${onDisk?.step})`);
    expect(onDisk?.step).toBe(12);
    expect(onDisk?.checkpoint).toBe('ckpt-12.safetensors');
    const resumed = await runTraining(params, { signal: never, progress: () => undefined, manager });
    expect(resumed.resumed).toBe(true);
    expect(resumed.steps).toBe(48);
    const s = await readTrainState(runDir);
    expect(s?.history.map((h) => h.epoch)).toEqual([0, 1, 2, 3]);
    expect(s?.history.at(-1)?.validation[0]?.metrics['accuracy'] ?? 0).toBeGreaterThan(0.6);
    const cfg = JSON.parse(await readFile(path.join(runDir, 'config.json'), 'utf8')) as TrainParams;
    expect(cfg.runId).toBe('crash');
  });
});

function until(host: JobHost, jobId: string, pred: (j: JobInfo) => boolean, timeoutMs = 60_000): Promise<JobInfo> {
  return new Promise((resolve, reject) => {
    const now = host.get(jobId);
    if (pred(now)) return resolve(now);
    const timer = setTimeout(() => {
      host.off('job', on);
      reject(new Error(`timed out; job is ${JSON.stringify(host.get(jobId))}`));
    }, timeoutMs);
    const on = (j: JobInfo): void => {
      if (j.id !== jobId || !pred(j)) return;
      clearTimeout(timer);
      host.off('job', on);
      resolve(j);
    };
    host.on('job', on);
  });
}
