// `ssm-studio models list|delete|export|import`: the registered models (shipped defaults and the user's own).
import path from 'node:path';

import type { ModelCard } from '../../../contract/models.js';
import { UsageError, type Command } from '../command.js';
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

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list, delete, export or import models (model cards: task, classes, resolutions, metrics, lineage)',
  usage: 'ssm-studio models list [--json] | delete <id> | export <id> <folder> | import <folder> [--data-dir D]',
  options: DATA_DIR_OPTION,
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
      const reg = await manager.import(path.resolve(rest[0] as string));
      io.stdout.write(json ? `${JSON.stringify(reg.card, null, 2)}\n` : `imported ${reg.card.id}\n`);
      return 0;
    }
    throw new UsageError(`unknown or incomplete models subcommand '${args.positionals.join(' ')}'`);
  },
};
