// Training runs of the open project: the run folders main keeps (results.runs: config, last checkpoint, per-epoch
// history; they survive a restart), the train job following each run (runId -> jobId, remembered across reloads), and
// the live series of each run (loss and throughput per step from job progress; kept in localStorage so a reload
// keeps the curve). Pause cancels the job (the trainer saves a checkpoint); resume starts a job with the same runId.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

import type { JobInfo, RunSummary, TrainParams, TrainResult } from '../../../contract/index.js';
import { useBridge } from '../composables/useBridge.js';
import { isFinished } from '../jobs/job-order.js';
import { errorMessage } from '../transport/call-error.js';
import { useJobsStore } from './jobs.js';

export type TrainingState = 'idle' | 'running' | 'error';
export type RunStatus = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'stopped';

export interface LiveSeries {
  step: number[];
  loss: number[];
  samplesPerSecond: number[];
  size: number[];
}

const JOBS_KEY = 'ssm.train.jobs';
const DISCARDED_KEY = 'ssm.train.discarded';
const liveKey = (runId: string): string => `ssm.train.live.${runId}`;

function readJson<T>(key: string, fallback: T): T {
  try {
    const text = localStorage.getItem(key);
    return text === null ? fallback : (JSON.parse(text) as T);
  } catch {
    return fallback;
  }
}

function newRunId(): string {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return `run-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export const useTrainingStore = defineStore('training', () => {
  const bridge = useBridge();
  const jobs = useJobsStore();
  const project = ref<string | null>(null);
  const runs = ref<RunSummary[]>([]);
  const state = ref<TrainingState>('idle');
  const error = ref<string | null>(null);
  const selectedRunId = ref<string | null>(null);
  const jobByRun = ref<Record<string, string>>(readJson(JOBS_KEY, {}));
  const discarded = ref<string[]>(readJson(DISCARDED_KEY, []));
  const live = ref<Record<string, LiveSeries>>({});
  /** Bumped on every refresh of the run list; a refresh that was overtaken is dropped. */
  let version = 0;

  const runOfJob = computed(() => new Map(Object.entries(jobByRun.value).map(([r, j]) => [j, r])));
  const visibleRuns = computed(() => runs.value.filter((r) => !discarded.value.includes(r.runId)));
  const selected = computed(() => runs.value.find((r) => r.runId === selectedRunId.value) ?? null);

  function persistJobs(): void {
    localStorage.setItem(JOBS_KEY, JSON.stringify(jobByRun.value));
  }

  function seriesOf(runId: string): LiveSeries {
    let s = live.value[runId];
    if (s === undefined) {
      s = readJson<LiveSeries>(liveKey(runId), { step: [], loss: [], samplesPerSecond: [], size: [] });
      live.value[runId] = s;
      return live.value[runId] as LiveSeries;
    }
    return s;
  }

  function jobOf(runId: string): JobInfo | null {
    const id = jobByRun.value[runId];
    return id === undefined ? null : (jobs.byId[id] ?? null);
  }

  function statusOf(run: RunSummary): RunStatus {
    const job = jobOf(run.runId);
    if (job !== null && !isFinished(job.state)) return job.state === 'queued' ? 'queued' : 'running';
    if (run.done) return 'done';
    if (job?.state === 'failed') return 'failed';
    return run.resumable ? 'paused' : 'stopped';
  }

  async function refresh(): Promise<void> {
    const dir = project.value;
    if (dir === null) return;
    const v = ++version;
    try {
      const list = await bridge.call('results.runs', { project: dir });
      if (v !== version) return;
      runs.value = list;
      if (selectedRunId.value === null && list[0] !== undefined) selectedRunId.value = list[0].runId;
    } catch (err) {
      if (v !== version) return;
      error.value = errorMessage(err);
      state.value = 'error';
    }
  }

  let lastValidation = new Map<string, string>();
  function onJob(job: JobInfo): void {
    if (job.kind !== 'train') return;
    const runId = runOfJob.value.get(job.id);
    if (runId === undefined) return;
    const m = job.progress.metrics;
    if (m !== undefined) {
      const s = seriesOf(runId);
      if (s.step.length === 0 || m.step > (s.step.at(-1) ?? -1)) {
        s.step.push(m.step);
        s.loss.push(m.loss);
        s.samplesPerSecond.push(m.samplesPerSecond);
        s.size.push(m.size);
        localStorage.setItem(liveKey(runId), JSON.stringify(s));
      }
      // A new validation result means an epoch ended: its record is in the run's history now.
      const key = JSON.stringify(m.validation);
      if (lastValidation.get(runId) !== key) {
        lastValidation.set(runId, key);
        void refresh();
      }
    }
    if (isFinished(job.state)) void refresh();
  }

  let attached = false;
  function attach(dir: string | null): void {
    if (project.value !== dir) {
      project.value = dir;
      runs.value = [];
      selectedRunId.value = null;
      lastValidation = new Map();
    }
    if (!attached) {
      attached = true;
      jobs.attach();
      bridge.onEvent((e) => {
        if (e.type === 'job') onJob(e.job);
      });
    }
    void refresh();
  }

  async function startJob(params: TrainParams & { runId: string }): Promise<boolean> {
    state.value = 'running';
    error.value = null;
    try {
      const jobId = await jobs.start({ kind: 'train', params });
      jobByRun.value = { ...jobByRun.value, [params.runId]: jobId };
      persistJobs();
      selectedRunId.value = params.runId;
      state.value = 'idle';
      // The job writes the run's config.json first: list it as soon as it exists.
      setTimeout(() => void refresh(), 400);
      return true;
    } catch (err) {
      error.value = errorMessage(err);
      state.value = 'error';
      return false;
    }
  }

  function start(params: Omit<TrainParams, 'runId' | 'project'>): Promise<boolean> {
    const dir = project.value;
    if (dir === null) return Promise.resolve(false);
    return startJob({ ...params, project: dir, runId: newRunId() });
  }

  function resume(run: RunSummary): Promise<boolean> {
    const dir = project.value;
    if (dir === null) return Promise.resolve(false);
    return startJob({ project: dir, task: run.task, schedule: run.schedule, runId: run.runId });
  }

  /** Pause: the trainer saves a checkpoint when its job is cancelled; resume continues from it. */
  async function pause(runId: string): Promise<void> {
    const jobId = jobByRun.value[runId];
    if (jobId !== undefined) await jobs.cancel(jobId);
  }

  /** Cancel: stops the job and removes the run from the list (its folder stays in the project's runs/). */
  async function cancel(runId: string): Promise<void> {
    await pause(runId);
    discarded.value = [...discarded.value, runId];
    localStorage.setItem(DISCARDED_KEY, JSON.stringify(discarded.value));
    if (selectedRunId.value === runId) selectedRunId.value = visibleRuns.value[0]?.runId ?? null;
  }

  function resultOf(runId: string): TrainResult | null {
    const job = jobOf(runId);
    return job?.state === 'done' && job.result !== null ? (job.result as TrainResult) : null;
  }

  return {
    project,
    runs,
    visibleRuns,
    selected,
    selectedRunId,
    state,
    error,
    live,
    attach,
    refresh,
    seriesOf,
    jobOf,
    statusOf,
    resultOf,
    start,
    resume,
    pause,
    cancel,
  };
});
