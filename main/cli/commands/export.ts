// `ssm-studio export --project <dir> --format <format> --out <path> [--json]`: writes an export atomically.
import path from 'node:path';

import type { ExportFormat } from '../../../contract/project.js';
import { exportProject } from '../../project/export.js';
import { ProjectStore } from '../../project/store.js';
import { stringOption, UsageError, type Command } from '../command.js';

const FORMATS: readonly ExportFormat[] = [
  'labels-csv',
  'labels-json',
  'imagefolder',
  'masks-png',
  'masks-nifti',
  'coco',
];

function isFormat(v: string): v is ExportFormat {
  return (FORMATS as readonly string[]).includes(v);
}

export const exportCommand: Command = {
  name: 'export',
  summary: `export labels or masks of a project (${FORMATS.join(', ')})`,
  usage: 'ssm-studio export --project <dir> --format <format> --out <path> [--json]',
  options: {
    project: { type: 'string', short: 'p' },
    format: { type: 'string', short: 'f' },
    out: { type: 'string', short: 'o' },
  },
  async run(args, io) {
    const project = stringOption(args, 'project');
    const format = stringOption(args, 'format');
    const out = stringOption(args, 'out');
    if (!project || !format || !out) throw new UsageError('--project, --format and --out are required');
    if (!isFormat(format)) throw new UsageError(`unknown format '${format}' (one of ${FORMATS.join(', ')})`);
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument '${args.positionals[0]}'`);
    const store = ProjectStore.open(path.resolve(project), { create: false });
    try {
      const result = await exportProject(store, format, path.resolve(out));
      io.stdout.write(
        args.values.json ? `${JSON.stringify(result, null, 2)}\n` : `wrote ${result.files} file(s) to ${result.out}\n`,
      );
      return 0;
    } finally {
      store.close();
    }
  },
};
