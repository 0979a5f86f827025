// Entry point of the results worker: the main process forks one (results-worker.ts) when a Results evaluation runs
// with WebGPU selected, so Dawn (dawn.node, onnxruntime's WebGPU EP) loads here and never in the main process; a
// crashing GPU driver ends only this process. It runs the very same handlers as the main process, routed to WebGPU.
// argv[2]: JSON { userDir, cacheDir } of the main process's model manager.
import type { HostToResultsWorker, ResultsWorkerToHost } from '../../contract/index.js';
import { toErrorInfo } from '../ipc/app-error.js';
import type { CallContext } from '../ipc/router.js';
import { ModelManager } from '../models/manager.js';
import { resultsHandlers } from './handlers/results.js';

const dirs = JSON.parse(process.argv[2] ?? '{}') as { userDir: string; cacheDir: string };
const manager = new ModelManager({ userDir: dirs.userDir, cacheDir: dirs.cacheDir });
const handlers = resultsHandlers(manager, { backend: () => 'webgpu' });

function send(msg: ResultsWorkerToHost): void {
  if (process.connected) process.send?.(msg);
}

process.on('message', (msg: HostToResultsWorker) => {
  if (msg?.type !== 'call') return;
  const ctx: CallContext = { transport: msg.transport };
  const handler = handlers[msg.method] as (params: unknown, ctx: CallContext) => Promise<unknown>;
  handler(msg.params, ctx).then(
    (result) => send({ type: 'result', id: msg.id, result } as ResultsWorkerToHost),
    (err: unknown) => send({ type: 'error', id: msg.id, error: toErrorInfo(err) }),
  );
});

// The main process stopped it (backend back to cpu, idle, app quit) or died: nothing is left to answer.
process.on('disconnect', () => process.exit(0));
