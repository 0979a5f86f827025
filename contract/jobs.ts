// Long-running jobs: start returns an id, progress comes as events keyed by that id, cancel sets a flag.
import type { ErrorInfo } from './errors.js';
import type { JsonValue } from './json.js';
import type { InferParams, TrainMetrics, TrainParams } from './models.js';

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** Every kind of job the job host can run. Each kind has its params type in JobParamsByKind. */
export type JobKind = keyof JobParamsByKind;

export interface JobParamsByKind {
  /** Thumbnails for every image in a folder (recursive), written to the app cache. */
  thumbnails: { folder: string; size: number };
  /** Import files and folders (recursive) into the project in `project`; the result is an ImportResult. */
  import: { project: string; paths: string[] };
  /** Train (or resume, or fine-tune) a model on a project's data; the result is a TrainResult. */
  train: TrainParams;
  /** Run a model on a project's items and save the predictions as suggestions; the result is an InferResult. */
  infer: InferParams;
}

export interface JobProgress {
  done: number;
  total: number;
  message: string;
  /** Seconds left, estimated from the rate so far; null until it can be estimated. */
  etaSeconds: number | null;
  /** Live training figures (train jobs): latest loss, throughput, validation metric per resolution. */
  metrics?: TrainMetrics;
}

export interface JobInfo {
  id: string;
  kind: JobKind;
  title: string;
  state: JobState;
  progress: JobProgress;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  error: ErrorInfo | null;
  /** Kind-specific summary once done (e.g. counts, output paths). */
  result: JsonValue | null;
}

export type JobStartParams = { [K in JobKind]: { kind: K; params: JobParamsByKind[K] } }[JobKind];

export interface JobsApi {
  'jobs.list': { params: Record<string, never>; result: JobInfo[] };
  'jobs.get': { params: { jobId: string }; result: JobInfo };
  'jobs.start': { params: JobStartParams; result: { jobId: string } };
  'jobs.cancel': { params: { jobId: string }; result: { cancelled: boolean } };
}
