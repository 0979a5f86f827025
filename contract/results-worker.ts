// Messages between the main process and the results worker: a long-lived forked child that runs the Results
// evaluations which use a model when Settings.backend is 'webgpu', so Dawn (dawn.node, onnxruntime's WebGPU EP) is
// never loaded into the main process. Several calls may be in flight at once; each answer names its call's id.
import type { ErrorInfo } from './errors.js';
import type { ResultsApi } from './results.js';

/** The Results methods that run a model (the ones forwarded to the worker with WebGPU selected). */
export type ResultsModelMethod =
  | 'results.classify'
  | 'results.segment'
  | 'results.compareSegment'
  | 'results.compareInterpolate'
  | 'results.exportMask'
  | 'results.interpolate'
  | 'results.exportVideo'
  | 'results.probe';

export type HostToResultsWorker = {
  [M in ResultsModelMethod]: {
    type: 'call';
    id: number;
    method: M;
    params: ResultsApi[M]['params'];
    /** The transport the call came through in the main process (for logs). */
    transport: 'electron' | 'websocket' | 'cli' | 'test';
  };
}[ResultsModelMethod];

export type ResultsWorkerToHost =
  | { type: 'result'; id: number; result: ResultsApi[ResultsModelMethod]['result'] }
  | { type: 'error'; id: number; error: ErrorInfo };
