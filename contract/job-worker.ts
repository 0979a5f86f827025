// Messages between the job host (main process) and one job process (a forked child per job).
import type { ErrorInfo } from './errors.js';
import type { JobStartParams } from './jobs.js';
import type { JsonValue } from './json.js';
import type { TrainMetrics } from './models.js';

export type HostToWorker =
  | { type: 'start'; jobId: string; job: JobStartParams; cacheDir: string; dataDir: string }
  | { type: 'cancel'; jobId: string };

export type WorkerToHost =
  | { type: 'progress'; jobId: string; done: number; total: number; message: string; metrics?: TrainMetrics }
  | { type: 'done'; jobId: string; result: JsonValue }
  | { type: 'failed'; jobId: string; error: ErrorInfo };
