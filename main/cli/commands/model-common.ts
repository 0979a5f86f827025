// Shared by the model commands: the model manager over <dataDir>/models (SSM_DATA_DIR or --data-dir) plus the
// shipped defaults, and loading the model a command runs (--model, or the shipped default for the task).
import path from 'node:path';

import type { ModelTask, RuntimeMode } from '../../../contract/models.js';
import { Engine, type Model } from '../../engine/model.js';
import { ModelManager, type RegisteredModel } from '../../models/manager.js';
import type { ModelRunner } from '../../models/runner.js';
import { resolveDirs } from '../../start/dirs.js';
import { stringOption, UsageError, type ParsedArgs } from '../command.js';

export const DATA_DIR_OPTION = { 'data-dir': { type: 'string' as const } };

export function managerFor(args: ParsedArgs): ModelManager {
  const { dataDir, cacheDir } = resolveDirs({ dataDir: stringOption(args, 'data-dir') });
  return new ModelManager({ userDir: path.join(dataDir, 'models'), cacheDir });
}

export async function loadFor(
  args: ParsedArgs,
  task: ModelTask,
): Promise<{ reg: RegisteredModel; model: Model; manager: ModelManager }> {
  const manager = managerFor(args);
  const id = stringOption(args, 'model');
  const reg = id ? await manager.get(id) : await manager.defaultFor(task);
  if (reg.card.task !== task) throw new Error(`model '${reg.card.id}' is a ${reg.card.task} model, not ${task}`);
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
  const id = stringOption(args, 'model');
  const reg = id ? await manager.get(id) : await manager.defaultFor(task);
  if (reg.card.task !== task) throw new Error(`model '${reg.card.id}' is a ${reg.card.task} model, not ${task}`);
  return { reg, runner: await manager.runner(reg, mode satisfies RuntimeMode), manager };
}
