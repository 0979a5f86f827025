// Training runs kept in a project (<project>/runs/<runId>/config.json + state.json, see train.ts): what the Train view
// lists after a restart, with each run's per-epoch history and whether it can be resumed from a checkpoint.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import type { TrainParams } from '../../contract/models.js';
import type { RunSummary } from '../../contract/results.js';
import { readTrainState } from './train.js';

export async function listRuns(project: string): Promise<RunSummary[]> {
  const dir = path.join(project, 'runs');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: RunSummary[] = [];
  for (const runId of names) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(runId)) continue;
    const runDir = path.join(dir, runId);
    const text = await readFile(path.join(runDir, 'config.json'), 'utf8').catch(() => null);
    if (text === null) continue;
    let config: TrainParams;
    try {
      config = JSON.parse(text) as TrainParams;
    } catch {
      continue;
    }
    const state = await readTrainState(runDir).catch(() => null);
    const st = await stat(path.join(runDir, state ? 'state.json' : 'config.json')).catch(() => null);
    out.push({
      runId,
      name: config.name ?? null,
      task: config.task,
      architecture: config.architecture ?? null,
      from: config.from ?? null,
      schedule: config.schedule,
      batchSize: config.batchSize ?? null,
      step: state?.step ?? 0,
      totalSteps: state?.totalSteps ?? 0,
      stage: state?.stage ?? 0,
      epoch: state?.epoch ?? 0,
      done: state?.done ?? false,
      resumable: !!state?.checkpoint && !state.done,
      seconds: state?.seconds ?? 0,
      history: (state?.history ?? []).map((h) => ({ ...h, validation: h.validation })),
      updatedAt: st?.mtimeMs ?? 0,
    });
  }
  return out.sort((a, b) => b.updatedAt - a.updatedAt);
}
