// `ssm-studio classify <files...> [--model ID] [--size S] [--top K] [--json]`: one line per file; with --json one
// JSON object per line: {"file", "model", "size", "top": [{"index", "label", "p"}]}. Images run at their native size
// (S4ND rate = training size / image size) unless --size resamples them to S × S first.
import path from 'node:path';

import { classifyImage } from '../../models/infer.js';
import { stringOption, UsageError, type Command } from '../command.js';
import { DATA_DIR_OPTION, loadFor, withSigint } from './model-common.js';

function intOption(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'classify images with a model (default: the shipped classifier), at their native size or --size',
  usage: 'ssm-studio classify <files...> [--model ID] [--size S] [--top K] [--json]',
  options: { model: { type: 'string' }, size: { type: 'string' }, top: { type: 'string' }, ...DATA_DIR_OPTION },
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError('give at least one image');
    const size = intOption(stringOption(args, 'size'), 'size', 4);
    const top = intOption(stringOption(args, 'top'), 'top', 1) ?? 3;
    const { reg, model } = await loadFor(args, 'classify');
    try {
      await withSigint(async (signal) => {
        for (const file of args.positionals) {
          const best = await classifyImage(model, reg.card, path.resolve(file), { size, top, signal });
          if (args.values.json) io.stdout.write(`${JSON.stringify({ file, model: reg.card.id, top: best })}\n`);
          else io.stdout.write(`${file}: ${best.map((b) => `${b.label} ${(b.p * 100).toFixed(1)}%`).join(', ')}\n`);
        }
      });
    } finally {
      model.dispose();
    }
    return 0;
  },
};
