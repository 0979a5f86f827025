// The train / validation split choice: the project's stored splits (folders train/ and val/) versus a content-hash
// hold-out that ignores them, on the same Fashion-MNIST ImageFolder fixture as train.test.ts; the choice is validated
// by the job schema, changes the data training sees, and is recorded in the model card's lineage.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TrainParams } from '../../contract/index.js';
import { trainParams } from '../../main/ipc/schemas/models.js';
import { ModelManager } from '../../main/models/manager.js';
import { loadProjectData } from '../../main/models/project-data.js';
import { runTraining } from '../../main/models/train-service.js';
import { ProjectStore } from '../../main/project/store.js';
import { fashionProject } from './project-fixture.js';

let tmp: string;
let project: string;
let manager: ModelManager;
const never = new AbortController().signal;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-split-'));
  // 4 classes × 48 train + 16 val images.
  project = await fashionProject(tmp, [0, 1, 7, 8], 48, 16);
  manager = new ModelManager({ userDir: path.join(tmp, 'data', 'models'), builtinDir: path.join(tmp, 'no-builtins') });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function counts(split?: TrainParams['split']): Promise<{ train: number; val: number }> {
  const store = ProjectStore.open(project, { create: false });
  try {
    const d = await loadProjectData(store, 'classify', split ? { split } : {});
    return { train: d.train.length, val: d.val.length };
  } finally {
    store.close();
  }
}

describe('train / validation split choice', () => {
  it('project splits and a content-hash hold-out give different train / val counts', async () => {
    const byProject = await counts({ mode: 'project' });
    expect(byProject).toEqual({ train: 192, val: 64 });
    expect(await counts()).toEqual(byProject); // the default
    const half = await counts({ mode: 'hash', fraction: 0.5 });
    expect(half.train + half.val).toBe(256);
    expect(half).not.toEqual(byProject);
    expect(half.val).toBeGreaterThan(64); // about 128 of 256
    const tenth = await counts({ mode: 'hash', fraction: 0.1 });
    expect(tenth.train + tenth.val).toBe(256);
    expect(tenth.val).toBeLessThan(half.val);
    // Stable: the same choice gives the same split.
    expect(await counts({ mode: 'hash', fraction: 0.5 })).toEqual(half);
  });

  it('the job schema accepts the two modes and rejects a bad fraction or mode', () => {
    const base = { project, task: 'classify', schedule: [{ size: 14, epochs: 1 }] };
    expect(trainParams.safeParse({ ...base, split: { mode: 'project' } }).success).toBe(true);
    expect(trainParams.safeParse({ ...base, split: { mode: 'hash', fraction: 0.25 } }).success).toBe(true);
    expect(trainParams.safeParse({ ...base, split: { mode: 'hash', fraction: 0 } }).success).toBe(false);
    expect(trainParams.safeParse({ ...base, split: { mode: 'hash', fraction: 1 } }).success).toBe(false);
    expect(trainParams.safeParse({ ...base, split: { mode: 'hash' } }).success).toBe(false);
    expect(trainParams.safeParse({ ...base, split: { mode: 'random', fraction: 0.2 } }).success).toBe(false);
  });

  it('training honours the choice and records it in the card lineage', async () => {
    const split = { mode: 'hash', fraction: 0.5 } as const;
    const expected = await counts(split);
    const result = await runTraining(
      {
        project,
        task: 'classify',
        schedule: [{ size: 14, epochs: 1 }],
        batchSize: 32,
        seed: 5,
        validationSizes: [14],
        split,
        runId: 'split-hash',
      },
      { signal: never, progress: () => undefined, manager },
    );
    expect(result.card?.lineage.split).toEqual(split);
    expect(result.card?.lineage.trainSamples).toBe(expected.train);
    expect(result.card?.lineage.valSamples).toBe(expected.val);
  });
});
