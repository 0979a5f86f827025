// The Results handlers as the main process serves them: with Settings.backend 'cpu' every call runs in-process (on the
// CPU, as results.ts does); with 'webgpu' every call that runs a model goes to the results worker (a forked child that
// loads Dawn, so the main process never does). If the worker dies mid-call (driver crash, OOM, SIGKILL), the call is
// re-run in-process on the CPU and its result's `backend` says why ("the GPU worker process exited (signal SIGKILL);
// ran on the CPU"); the next webgpu call starts a fresh worker. Errors thrown in the worker come back as the same
// AppError (code, message, path).
import type { EvalBackend, ResultsApi, ResultsModelMethod } from '../../../contract/index.js';
import type { Handler } from '../../ipc/router.js';
import type { BackendName } from '../../models/backend.js';
import type { ModelManager } from '../../models/manager.js';
import { WorkerExitedError, type ResultsWorker } from '../results-worker.js';
import { resultsHandlers } from './results.js';

export interface RoutedResultsOptions {
  /** The app's Settings.backend now. */
  backend: () => BackendName;
  worker: ResultsWorker;
}

const MODEL_METHODS: readonly ResultsModelMethod[] = [
  'results.classify',
  'results.segment',
  'results.compareSegment',
  'results.compareInterpolate',
  'results.exportMask',
  'results.interpolate',
  'results.exportVideo',
  'results.probe',
];

/** A CPU result (or each of a pair) marked as asked for on WebGPU and run on the CPU because of `reason`. */
export function onCpuBecause(result: unknown, reason: string): unknown {
  if (Array.isArray(result)) return result.map((r) => onCpuBecause(r, reason));
  if (typeof result !== 'object' || result === null) return result;
  // results.compareInterpolate: one backend per model.
  const pair = (result as { backends?: EvalBackend[] }).backends;
  if (pair) return { ...result, backends: pair.map((b) => cpuBecause(b, reason)) };
  const b = (result as { backend?: EvalBackend }).backend;
  if (!b) return result;
  return { ...result, backend: cpuBecause(b, reason) };
}

const cpuBecause = (b: EvalBackend, reason: string): EvalBackend => ({
  ...b,
  requested: 'webgpu',
  used: 'cpu',
  adapter: null,
  reason,
  where: `${b.where} — ${reason}`,
});

export function routedResultsHandlers(
  manager: ModelManager,
  options: RoutedResultsOptions,
): { [M in keyof ResultsApi]: Handler<M> } {
  // In-process: always the CPU (the main process never loads Dawn).
  const local = resultsHandlers(manager, { backend: () => 'cpu' });
  const forward = <M extends ResultsModelMethod>(method: M): Handler<M> => {
    const here = local[method] as Handler<M>;
    return async (params, ctx) => {
      if (options.backend() !== 'webgpu') {
        await options.worker.stop('WebGPU is no longer selected');
        return here(params, ctx);
      }
      try {
        return await options.worker.call(method, params, ctx.transport);
      } catch (e) {
        if (!(e instanceof WorkerExitedError)) throw e;
        return onCpuBecause(await here(params, ctx), `${e.reason}; ran on the CPU`) as Awaited<ReturnType<Handler<M>>>;
      }
    };
  };
  const routed = { ...local };
  for (const m of MODEL_METHODS) (routed as Record<string, unknown>)[m] = forward(m);
  return routed;
}
