// Entry point of a job process: the job host forks one per job, so a crash (even in native code) ends only this job.
import type { HostToWorker, JobKind, JobParamsByKind, JsonValue, WorkerToHost } from '../../contract/index.js';
import { toErrorInfo } from '../ipc/app-error.js';
import type { JobContext } from './runner.js';
import { runners } from './runners/index.js';

const PROGRESS_INTERVAL_MS = 100;

function send(msg: WorkerToHost): void {
  process.send?.(msg);
}

function runJob<K extends JobKind>(kind: K, params: JobParamsByKind[K], ctx: JobContext): Promise<JsonValue> {
  return runners[kind](params, ctx);
}

const controller = new AbortController();
let started = false;

process.on('message', (raw: HostToWorker) => {
  if (raw.type === 'cancel') {
    controller.abort();
    return;
  }
  if (raw.type !== 'start' || started) return;
  started = true;
  const { jobId } = raw;
  let lastSent = 0;
  const ctx: JobContext = {
    signal: controller.signal,
    cacheDir: raw.cacheDir,
    dataDir: raw.dataDir,
    progress(done, total, message, metrics) {
      const now = Date.now();
      if (done < total && now - lastSent < PROGRESS_INTERVAL_MS) return;
      lastSent = now;
      send(
        metrics
          ? { type: 'progress', jobId, done, total, message, metrics }
          : { type: 'progress', jobId, done, total, message },
      );
    },
  };
  runJob(raw.job.kind, raw.job.params, ctx)
    .then((result) => send({ type: 'done', jobId, result }))
    .catch((err: unknown) => {
      const error = controller.signal.aborted ? { code: 'cancelled' as const, message: 'cancelled' } : toErrorInfo(err);
      send({ type: 'failed', jobId, error });
    })
    .finally(() => process.disconnect?.());
});

process.on('disconnect', () => {
  controller.abort();
});
