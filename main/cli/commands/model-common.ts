// Shared by the model commands: the model manager over <dataDir>/models (SSM_DATA_DIR or --data-dir) plus the
// shipped defaults, and loading the model a command runs (--model, or the shipped default for the task).
import path from 'node:path';

import type { BackendReport, ModelTask, RuntimeKind, RuntimeMode } from '../../../contract/models.js';
import { Engine, type Model } from '../../engine/model.js';
import type { BackendName } from '../../models/backend.js';
import { ModelManager, type RegisteredModel } from '../../models/manager.js';
import { openOnBackend, withPredictor } from '../../models/route.js';
import type { ModelRunner, Predictor } from '../../models/runner.js';
import { resolveDirs } from '../../start/dirs.js';
import { stringOption, UsageError, type CliIO, type ParsedArgs } from '../command.js';

export const DATA_DIR_OPTION = { 'data-dir': { type: 'string' as const } };

export function managerFor(args: ParsedArgs): ModelManager {
  const { dataDir, cacheDir } = resolveDirs({ dataDir: stringOption(args, 'data-dir') });
  return new ModelManager({ userDir: path.join(dataDir, 'models'), cacheDir });
}

/** --model, or the shipped default for `task` (refused when it is a model of another task). */
async function registeredFor(args: ParsedArgs, task: ModelTask, manager: ModelManager): Promise<RegisteredModel> {
  const id = stringOption(args, 'model');
  const reg = id ? await manager.get(id) : await manager.defaultFor(task);
  if (reg.card.task !== task) throw new Error(`model '${reg.card.id}' is a ${reg.card.task} model, not ${task}`);
  return reg;
}

export async function loadFor(
  args: ParsedArgs,
  task: ModelTask,
): Promise<{ reg: RegisteredModel; model: Model; manager: ModelManager }> {
  const manager = managerFor(args);
  const reg = await registeredFor(args, task, manager);
  const model = await new Engine().loadModel(reg.checkpoint);
  return { reg, model, manager };
}

/** Aborts on Ctrl-C for the duration of `run`. */
export async function withSigint<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  try {
    return await run(controller.signal);
  } finally {
    process.off('SIGINT', stop);
  }
}

/** `--runtime auto|engine|onnx` (default auto: the faster one measured on this machine, cached). */
export const RUNTIME_OPTION = { runtime: { type: 'string' as const } };

/** The model a classify/segment command runs, behind the runtime chooser (engine or onnxruntime). */
export async function runnerFor(
  args: ParsedArgs,
  task: ModelTask,
): Promise<{ reg: RegisteredModel; runner: ModelRunner; manager: ModelManager }> {
  const mode = stringOption(args, 'runtime') ?? 'auto';
  if (mode !== 'auto' && mode !== 'engine' && mode !== 'onnx')
    throw new UsageError(`--runtime must be auto, engine or onnx, got '${mode}'`);
  const manager = managerFor(args);
  const reg = await registeredFor(args, task, manager);
  return { reg, runner: await manager.runner(reg, mode satisfies RuntimeMode), manager };
}

/** `--backend cpu|webgpu` (default cpu): where classify / segment / interpolate / train compute. */
export const BACKEND_OPTION = { backend: { type: 'string' as const } };

export function backendOption(args: ParsedArgs): BackendName {
  const b = stringOption(args, 'backend') ?? 'cpu';
  if (b !== 'cpu' && b !== 'webgpu') throw new UsageError(`--backend must be cpu or webgpu, got '${b}'`);
  return b;
}

/** The one stderr line saying where a --backend webgpu command runs ("onnxruntime webgpu (adapter)", or the fallback). */
export function reportWhere(io: CliIO, where: string): void {
  io.stderr.write(`ssm-studio: running on ${where}\n`);
}

/** A job's BackendReport as one line ("webgpu (adapter)", "cpu (webgpu not used: reason)"), as ModelBackend says it. */
export function describeReport(r: BackendReport): string {
  if (r.used === 'webgpu') return `webgpu (${r.adapter ?? 'adapter'})${r.reason ? ` — ${r.reason}` : ''}`;
  return r.requested === 'webgpu' ? `cpu (webgpu not used: ${r.reason ?? 'unknown reason'})` : 'cpu';
}

/** What classify / segment run: the CPU runtime chooser (--runtime), or the app's WebGPU route (models/route.ts). */
export interface PredictorFor {
  reg: RegisteredModel;
  predictor: Predictor;
  /** The runtime that ran the last call (classify's `runtime`); null on the GPU executor. */
  lastRuntime(): RuntimeKind | null;
  /** The runtimes that ran (segment's `runtime`). */
  runtimes(): RuntimeKind[];
  /** --backend webgpu only: where the predictions ran (for a command's summary object). */
  backend?: () => BackendReport;
  dispose(): Promise<void>;
}

export async function predictorFor(args: ParsedArgs, task: ModelTask, io: CliIO): Promise<PredictorFor> {
  const backend = backendOption(args);
  if (backend === 'cpu') {
    const { reg, runner } = await runnerFor(args, task);
    return {
      reg,
      predictor: runner,
      lastRuntime: () => runner.runtime,
      runtimes: () => [...runner.used],
      dispose: () => runner.dispose(),
    };
  }
  if (stringOption(args, 'runtime') !== undefined)
    throw new UsageError('--runtime chooses a CPU runtime: it cannot be combined with --backend webgpu');
  const manager = managerFor(args);
  const reg = await registeredFor(args, task, manager);
  const routed = await openOnBackend(reg, { backend, manager });
  reportWhere(io, routed.describe());
  return {
    reg,
    predictor: routed.predictor,
    lastRuntime: () => routed.runtime()?.at(-1) ?? null,
    runtimes: () => routed.runtime() ?? [],
    backend: () => routed.report(),
    dispose: () => routed.dispose(),
  };
}

/** The engine model interpolate runs: as loaded (cpu), or with its predictions on the WebGPU route. */
export async function modelOnBackend(
  args: ParsedArgs,
  task: ModelTask,
  io: CliIO,
): Promise<{ reg: RegisteredModel; model: Model; backend?: () => BackendReport; dispose(): Promise<void> }> {
  const backend = backendOption(args);
  const { reg, model, manager } = await loadFor(args, task);
  if (backend === 'cpu') return { reg, model, dispose: async () => model.dispose() };
  try {
    const routed = await openOnBackend(reg, { backend, manager, cpu: 'engine', model });
    reportWhere(io, routed.describe());
    return {
      reg,
      model: withPredictor(model, routed.predictor),
      backend: () => routed.report(),
      dispose: async () => {
        await routed.dispose();
        model.dispose();
      },
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
