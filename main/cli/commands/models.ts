// `ssm-studio models list|delete|export|import`: the registered models (shipped defaults and the user's own).
// `import` takes a folder written by `models export`, or a plain third-party .onnx classifier/segmenter with its
// input/output mapping:
//   models import model.onnx --task classify|segment --classes a,b,c --input-size 28 --channels 1 --mean 0.5
//     --std 0.5 [--input NAME] [--output NAME] [--layout nchw|nhwc] [--scores logits|probabilities] [--name N]
// The file is validated with onnxruntime (names, ranks, a dry run at the declared size) before anything is registered.
import path from 'node:path';

import type { ModelCard, OnnxImportParams } from '../../../contract/models.js';
import { stringOption, UsageError, type Command, type ParsedArgs } from '../command.js';
import { DATA_DIR_OPTION, managerFor } from './model-common.js';

function line(c: ModelCard): string {
  const m = c.metrics
    .map(
      (r) =>
        `${r.size}px ${Object.entries(r.metrics)
          .map(([k, v]) => `${k} ${v.toFixed(3)}`)
          .join(' ')}`,
    )
    .join('; ');
  return `${c.id.padEnd(32)} ${c.task.padEnd(11)} ${c.architecture.padEnd(18)} ${c.builtin ? 'builtin' : 'user   '} ${m}`;
}

/** The mapping of a plain .onnx import from the command line. */
function onnxMapping(args: ParsedArgs): OnnxImportParams {
  const need = (name: string): string => {
    const v = stringOption(args, name);
    if (v === undefined || v === '') throw new UsageError(`importing a .onnx file needs --${name}`);
    return v;
  };
  const num = (name: string, v: string, check: (n: number) => boolean, what: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be ${what}, got '${v}'`);
    return n;
  };
  const task = need('task');
  if (task !== 'classify' && task !== 'segment')
    throw new UsageError(`--task must be classify or segment, got '${task}'`);
  const classes = need('classes')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
  if (classes.length === 0) throw new UsageError('--classes needs at least one class name (a,b,c)');
  const layout = stringOption(args, 'layout') ?? 'nchw';
  if (layout !== 'nchw' && layout !== 'nhwc') throw new UsageError(`--layout must be nchw or nhwc, got '${layout}'`);
  const scores = stringOption(args, 'scores') ?? 'logits';
  if (scores !== 'logits' && scores !== 'probabilities')
    throw new UsageError(`--scores must be logits or probabilities, got '${scores}'`);
  const input = stringOption(args, 'input');
  const output = stringOption(args, 'output');
  const name = stringOption(args, 'name');
  return {
    task,
    classes,
    inputSize: num(
      'input-size',
      need('input-size'),
      (n) => Number.isInteger(n) && n >= 1 && n <= 8192,
      'an integer in 1..8192',
    ),
    channels: num(
      'channels',
      stringOption(args, 'channels') ?? '1',
      (n) => Number.isInteger(n) && n >= 1 && n <= 64,
      'an integer in 1..64',
    ),
    mean: num('mean', stringOption(args, 'mean') ?? '0', () => true, 'a number'),
    std: num('std', stringOption(args, 'std') ?? '1', (n) => n > 0, 'a positive number'),
    layout,
    scores,
    ...(input ? { input } : {}),
    ...(output ? { output } : {}),
    ...(name ? { name } : {}),
  };
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list, delete, export or import models (model cards: task, classes, resolutions, metrics, lineage)',
  usage:
    'ssm-studio models list [--json] | delete <id> | export <id> <folder> | import <folder> | import <file.onnx> --task classify|segment --classes a,b,c --input-size N [--channels C] [--mean M] [--std S] [--input NAME] [--output NAME] [--layout nchw|nhwc] [--scores logits|probabilities] [--name N] [--data-dir D]',
  options: {
    ...DATA_DIR_OPTION,
    task: { type: 'string' },
    classes: { type: 'string' },
    'input-size': { type: 'string' },
    channels: { type: 'string' },
    mean: { type: 'string' },
    std: { type: 'string' },
    input: { type: 'string' },
    output: { type: 'string' },
    layout: { type: 'string' },
    scores: { type: 'string' },
    name: { type: 'string' },
  },
  async run(args, io) {
    const [sub = 'list', ...rest] = args.positionals;
    const manager = managerFor(args);
    const json = args.values.json === true;
    if (sub === 'list') {
      const cards = (await manager.list()).map((m) => m.card);
      io.stdout.write(json ? `${JSON.stringify(cards, null, 2)}\n` : `${cards.map(line).join('\n')}\n`);
      return 0;
    }
    if (sub === 'delete' && rest.length === 1) {
      const deleted = await manager.delete(rest[0] as string);
      io.stdout.write(json ? `${JSON.stringify({ deleted })}\n` : `deleted ${rest[0]}\n`);
      return 0;
    }
    if (sub === 'export' && rest.length === 2) {
      const out = await manager.export(rest[0] as string, path.resolve(rest[1] as string));
      io.stdout.write(json ? `${JSON.stringify({ out })}\n` : `exported to ${out}\n`);
      return 0;
    }
    if (sub === 'import' && rest.length === 1) {
      const src = path.resolve(rest[0] as string);
      const reg = /\.onnx$/i.test(src) ? await manager.importOnnx(src, onnxMapping(args)) : await manager.import(src);
      io.stdout.write(json ? `${JSON.stringify(reg.card, null, 2)}\n` : `imported ${reg.card.id}\n`);
      return 0;
    }
    throw new UsageError(`unknown or incomplete models subcommand '${args.positionals.join(' ')}'`);
  },
};
