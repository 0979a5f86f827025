// Shared by the model commands: the model manager over <dataDir>/models (SSM_DATA_DIR or --data-dir) plus the
// shipped defaults, and loading the model a command runs (--model, or the shipped default for the task).
import path from 'node:path';

import type { ModelTask } from '../../../contract/models.js';
import { Engine, type Model } from '../../engine/model.js';
import { ModelManager, type RegisteredModel } from '../../models/manager.js';
import { resolveDirs } from '../../start/dirs.js';
import { stringOption, type ParsedArgs } from '../command.js';

export const DATA_DIR_OPTION = { 'data-dir': { type: 'string' as const } };

export function managerFor(args: ParsedArgs): ModelManager {
  const { dataDir } = resolveDirs({ dataDir: stringOption(args, 'data-dir') });
  return new ModelManager({ userDir: path.join(dataDir, 'models') });
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
