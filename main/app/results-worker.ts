// The results worker, seen from the main process: one long-lived forked child (results-process.ts) that runs the
// Results evaluations which use a model while Settings.backend is 'webgpu', so the main process never loads Dawn.
// Started on the first call, reused by the next ones, stopped by stop() (backend back to cpu, app quit) or after
// `idleMs` without calls. Several calls may be in flight at once (ids); the child runs them concurrently as the main
// process would. If the child exits with calls pending, each of them rejects with WorkerExitedError (the caller
// re-runs it on the CPU) and the next call starts a fresh child. What comes back is checked before it is trusted.
import { fork, type ChildProcess } from 'node:child_process';

import type {
  ErrorCode,
  HostToResultsWorker,
  ResultsApi,
  ResultsModelMethod,
  ResultsWorkerToHost,
} from '../../contract/index.js';
import { AppError } from '../ipc/app-error.js';
import type { CallContext } from '../ipc/router.js';
import { built } from './paths.js';

export interface ResultsWorkerOptions {
  /** The main process's model manager's folders (the child opens its own manager on them). */
  userDir: string;
  cacheDir: string;
  /** Stop the child after this long without calls (default 5 minutes). */
  idleMs?: number;
  /** The compiled child entry (default dist/main/app/results-process.js). */
  script?: string;
}

/** The child ended (crash, OOM, SIGKILL, stop()) before answering: `reason` says how. */
export class WorkerExitedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'WorkerExitedError';
  }
}

interface Pending {
  method: ResultsModelMethod;
  child: ChildProcess;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

const ERROR_CODES: readonly ErrorCode[] = [
  'bad_request',
  'unknown_method',
  'unauthorized',
  'not_found',
  'unsupported',
  'corrupt_input',
  'too_large',
  'conflict',
  'cancelled',
  'internal',
];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
/** An EvalBackend as the evaluations return it (`where` included). */
const isBackend = (v: unknown): boolean =>
  isObject(v) &&
  (v['used'] === 'cpu' || v['used'] === 'webgpu') &&
  (v['requested'] === 'cpu' || v['requested'] === 'webgpu') &&
  typeof v['where'] === 'string';

/** Why `result` is not what `method` returns (null when it is, as far as its envelope and `backend` go). */
export function checkResult(method: ResultsModelMethod, result: unknown): string | null {
  if (method === 'results.compareSegment') {
    return Array.isArray(result) && result.length === 2 && result.every((r) => isObject(r) && isBackend(r['backend']))
      ? null
      : 'expected two segmentation evaluations, each with its backend';
  }
  if (method === 'results.compareInterpolate') {
    const backends = isObject(result) ? result['backends'] : undefined;
    return isObject(result) &&
      Array.isArray(result['steps']) &&
      Array.isArray(result['models']) &&
      Array.isArray(backends) &&
      backends.length === 2 &&
      backends.every(isBackend)
      ? null
      : 'expected an interpolation comparison with the backend of each model';
  }
  return isObject(result) && isBackend(result['backend']) ? null : 'expected an object with its backend';
}

/** The message if it is one the child may send, else why not. */
export function parseWorkerMessage(raw: unknown): ResultsWorkerToHost | string {
  if (!isObject(raw) || !Number.isSafeInteger(raw['id'])) return 'not a message with an id';
  if (raw['type'] === 'result') return 'result' in raw ? (raw as ResultsWorkerToHost) : 'a result without its value';
  if (raw['type'] === 'error') {
    const e = raw['error'];
    if (
      isObject(e) &&
      ERROR_CODES.includes(e['code'] as ErrorCode) &&
      typeof e['message'] === 'string' &&
      (e['path'] === undefined || typeof e['path'] === 'string')
    )
      return raw as ResultsWorkerToHost;
    return 'an error without a known code and a message';
  }
  return `unknown message type ${JSON.stringify(raw['type'])}`;
}

export class ResultsWorker {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Why each child ended, when the main process ended it (instead of "exited (signal …)"). */
  private readonly stopReasons = new WeakMap<ChildProcess, string>();
  private started = 0;

  constructor(private readonly options: ResultsWorkerOptions) {}

  /** The running child's process id (null when none runs). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Calls sent and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Children started so far. */
  get starts(): number {
    return this.started;
  }

  /** [async] Runs `method` in the child (starting one if none runs); rejects with WorkerExitedError if it dies. */
  call<M extends ResultsModelMethod>(
    method: M,
    params: ResultsApi[M]['params'],
    transport: CallContext['transport'],
  ): Promise<ResultsApi[M]['result']> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const child = this.child ?? this.spawn();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        method,
        child,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      const msg = { type: 'call', id, method, params, transport } as HostToResultsWorker;
      if (!child.connected) {
        this.settle(id, () => reject(new WorkerExitedError('the GPU worker process is not running')));
        return;
      }
      child.send(msg, (err) => {
        if (err) this.settle(id, () => reject(new WorkerExitedError(`the GPU worker process failed: ${err.message}`)));
      });
    });
  }

  /** [async] Stops the child (its pending calls reject with WorkerExitedError) and waits for it to exit. */
  async stop(reason = 'the GPU worker process was stopped'): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const child = this.child;
    if (!child) return;
    this.child = null;
    this.stopReasons.set(child, reason);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // It exits on disconnect; a child stuck in native code is killed.
    if (child.connected) child.disconnect();
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(kill);
  }

  private spawn(): ChildProcess {
    const script = this.options.script ?? built('main/app/results-process.js');
    const dirs = JSON.stringify({ userDir: this.options.userDir, cacheDir: this.options.cacheDir });
    const child = fork(script, [dirs], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.child = child;
    this.started++;
    child.on('message', (raw: unknown) => this.onMessage(child, raw));
    child.on('error', (err) => {
      this.stopReasons.set(child, `the GPU worker process failed: ${err.message}`);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      else this.onExit(child, null, null);
    });
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    return child;
  }

  private onMessage(child: ChildProcess, raw: unknown): void {
    const msg = parseWorkerMessage(raw);
    if (typeof msg === 'string') {
      // A child that breaks the protocol is not trusted with the calls it holds: they run on the CPU.
      this.stopReasons.set(child, `the GPU worker process sent a malformed message (${msg})`);
      if (this.child === child) this.child = null;
      child.kill('SIGKILL');
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p || p.child !== child) return;
    if (msg.type === 'error') {
      const { code, message, path } = msg.error;
      this.settle(msg.id, () => p.reject(new AppError(code, message, path)));
      return;
    }
    const bad = checkResult(p.method, msg.result);
    this.settle(msg.id, () =>
      bad === null
        ? p.resolve(msg.result)
        : p.reject(new AppError('internal', `the GPU worker process answered ${p.method} wrongly: ${bad}`)),
    );
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child === child) this.child = null;
    const reason =
      this.stopReasons.get(child) ??
      `the GPU worker process exited (${signal ? `signal ${signal}` : `exit code ${code ?? '?'}`})`;
    for (const [id, p] of [...this.pending]) {
      if (p.child === child) this.settle(id, () => p.reject(new WorkerExitedError(reason)));
    }
  }

  private settle(id: number, fn: () => void): void {
    if (!this.pending.delete(id)) return;
    fn();
    if (this.pending.size === 0 && this.child && !this.idleTimer) {
      this.idleTimer = setTimeout(
        () => void this.stop('the GPU worker process was idle'),
        this.options.idleMs ?? 300_000,
      );
      this.idleTimer.unref();
    }
  }
}
