// What a job kind implements. Runners execute inside a job process, never in the main process.
import type { JobKind, JobParamsByKind, JsonValue, TrainMetrics } from '../../contract/index.js';

export interface JobContext {
  /** Aborted when the user cancels; runners check it between units of work. */
  signal: AbortSignal;
  /** Reports progress (throttled before it leaves the process); train jobs add live metrics. */
  progress(done: number, total: number, message: string, metrics?: TrainMetrics): void;
  /** App cache folder (thumbnails, decoded frames) and data folder (projects, models). */
  cacheDir: string;
  dataDir: string;
}

export type JobRunner<K extends JobKind> = (params: JobParamsByKind[K], ctx: JobContext) => Promise<JsonValue>;
export type Runners = { [K in JobKind]: JobRunner<K> };
