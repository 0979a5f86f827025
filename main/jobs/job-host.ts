// Owns every job: queues them, forks one job process per running job, tracks progress and ETA, cancels.
// Lives in the main process (Electron main or the browser-mode server); the renderer only sees JobInfo events.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';

import type { HostToWorker, JobInfo, JobStartParams, WorkerToHost } from '../../contract/index.js';
import { built } from '../app/paths.js';
import { AppError } from '../ipc/app-error.js';

export interface JobHostOptions {
  cacheDir: string;
  dataDir: string;
  /** Jobs running at once; the rest wait in the queue. */
  maxConcurrent?: number;
  /** How long a cancelled job may take to stop before its process is killed. */
  cancelGraceMs?: number;
  /** Finished jobs kept for jobs.list. */
  keepFinished?: number;
}

interface Running {
  child: ChildProcess;
  settled: boolean;
  cancelRequested: boolean;
  killTimer: NodeJS.Timeout | null;
}

const JOB_PROCESS = built('main/jobs/job-process.js');

function titleOf(job: JobStartParams): string {
  switch (job.kind) {
    case 'thumbnails':
      return `Thumbnails for ${job.params.folder}`;
    case 'import':
      return `Import ${job.params.paths.length === 1 ? job.params.paths[0] : `${job.params.paths.length} paths`}`;
    case 'train':
      return `Train ${job.params.task} on ${job.params.project} (${job.params.schedule.map((s) => `${s.size}px×${s.epochs}`).join(', ')})${job.params.runId ? `, run ${job.params.runId}` : ''}`;
    case 'infer':
      return `${job.params.task === 'classify' ? 'Classify' : 'Segment'} ${job.params.project}`;
  }
}

export class JobHost extends EventEmitter<{ job: [JobInfo] }> {
  private readonly jobs = new Map<string, JobInfo>();
  private readonly params = new Map<string, JobStartParams>();
  private readonly running = new Map<string, Running>();
  private readonly queue: string[] = [];
  private readonly maxConcurrent: number;
  private readonly cancelGraceMs: number;
  private readonly keepFinished: number;
  private disposed = false;

  constructor(private readonly options: JobHostOptions) {
    super();
    this.maxConcurrent = options.maxConcurrent ?? 2;
    this.cancelGraceMs = options.cancelGraceMs ?? 5000;
    this.keepFinished = options.keepFinished ?? 200;
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].sort((a, b) => a.createdAt - b.createdAt);
  }

  get(jobId: string): JobInfo {
    const job = this.jobs.get(jobId);
    if (!job) throw new AppError('not_found', `no job with id '${jobId}'`, 'params.jobId');
    return job;
  }

  start(job: JobStartParams): JobInfo {
    if (this.disposed) throw new AppError('conflict', 'the job host is shutting down');
    const id = randomUUID();
    const info: JobInfo = {
      id,
      kind: job.kind,
      title: titleOf(job),
      state: 'queued',
      progress: { done: 0, total: 0, message: 'queued', etaSeconds: null },
      createdAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      error: null,
      result: null,
    };
    this.jobs.set(id, info);
    this.params.set(id, job);
    this.queue.push(id);
    this.emit('job', info);
    this.pump();
    return info;
  }

  cancel(jobId: string): boolean {
    const job = this.get(jobId);
    if (job.state === 'queued') {
      this.queue.splice(this.queue.indexOf(jobId), 1);
      this.finish(jobId, { state: 'cancelled', error: { code: 'cancelled', message: 'cancelled before it started' } });
      return true;
    }
    const run = this.running.get(jobId);
    if (job.state !== 'running' || !run) return false;
    run.cancelRequested = true;
    this.send(run.child, { type: 'cancel', jobId });
    run.killTimer ??= setTimeout(() => run.child.kill('SIGKILL'), this.cancelGraceMs);
    this.update(jobId, { progress: { ...job.progress, message: 'cancelling…' } });
    return true;
  }

  /** Cancels everything and waits for every job process to exit. */
  async dispose(): Promise<void> {
    this.disposed = true;
    for (const id of [...this.queue]) this.cancel(id);
    const exits = [...this.running.values()].map(
      (run) => new Promise<void>((resolve) => run.child.once('exit', () => resolve())),
    );
    for (const id of [...this.running.keys()]) this.cancel(id);
    await Promise.all(exits);
  }

  private pump(): void {
    while (this.running.size < this.maxConcurrent && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      this.launch(id);
    }
  }

  private launch(jobId: string): void {
    const job = this.params.get(jobId) as JobStartParams;
    const child = fork(JOB_PROCESS, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    const run: Running = { child, settled: false, cancelRequested: false, killTimer: null };
    this.running.set(jobId, run);
    const startedAt = Date.now();
    this.update(jobId, {
      state: 'running',
      startedAt,
      progress: { done: 0, total: 0, message: 'starting', etaSeconds: null },
    });

    child.on('message', (msg: WorkerToHost) => {
      if (msg.jobId !== jobId || run.settled) return;
      if (msg.type === 'progress') {
        const elapsed = (Date.now() - startedAt) / 1000;
        const etaSeconds = msg.done > 0 && msg.total >= msg.done ? (elapsed / msg.done) * (msg.total - msg.done) : null;
        const progress = { done: msg.done, total: msg.total, message: msg.message, etaSeconds };
        this.update(jobId, { progress: msg.metrics ? { ...progress, metrics: msg.metrics } : progress });
      } else if (msg.type === 'done') {
        run.settled = true;
        const p = this.get(jobId).progress;
        this.finish(jobId, { state: 'done', result: msg.result, progress: { ...p, done: p.total, etaSeconds: 0 } });
      } else {
        run.settled = true;
        this.finish(jobId, { state: msg.error.code === 'cancelled' ? 'cancelled' : 'failed', error: msg.error });
      }
    });
    child.on('exit', (code, signal) => {
      if (run.killTimer) clearTimeout(run.killTimer);
      this.running.delete(jobId);
      if (!run.settled) {
        run.settled = true;
        this.finish(
          jobId,
          run.cancelRequested
            ? { state: 'cancelled', error: { code: 'cancelled', message: 'cancelled (job process stopped)' } }
            : {
                state: 'failed',
                error: { code: 'internal', message: `job process exited unexpectedly (${signal ?? `code ${code}`})` },
              },
        );
      }
      this.pump();
    });
    child.on('error', (err) => {
      if (run.settled) return;
      run.settled = true;
      this.finish(jobId, {
        state: 'failed',
        error: { code: 'internal', message: `job process failed: ${err.message}` },
      });
    });
    this.send(child, {
      type: 'start',
      jobId,
      job,
      cacheDir: this.options.cacheDir,
      dataDir: this.options.dataDir,
    });
  }

  private send(child: ChildProcess, msg: HostToWorker): void {
    if (child.connected) child.send(msg);
  }

  private update(jobId: string, patch: Partial<JobInfo>): void {
    const next = { ...this.get(jobId), ...patch };
    this.jobs.set(jobId, next);
    this.emit('job', next);
  }

  private finish(jobId: string, patch: Partial<JobInfo>): void {
    this.update(jobId, { ...patch, finishedAt: Date.now() });
    this.params.delete(jobId);
    this.prune();
  }

  private prune(): void {
    const finished = this.list().filter((j) => j.finishedAt !== null);
    for (const j of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) this.jobs.delete(j.id);
  }
}
