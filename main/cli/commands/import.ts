// `ssm-studio import --project <dir> <paths...> [--json] [--in-process]`: creates/opens a project and imports.
// By default the import runs as an `import` job in its own process through the job host (as in the app);
// --in-process runs the same runner in this process. Progress goes to stderr either way.
import os from 'node:os';
import path from 'node:path';

import type { JobInfo } from '../../../contract/jobs.js';
import type { ImportResult } from '../../../contract/project.js';
import { AppError } from '../../ipc/app-error.js';
import { JobHost } from '../../jobs/job-host.js';
import { importPaths } from '../../project/import.js';
import { ProjectStore } from '../../project/store.js';
import { stringOption, UsageError, type CliIO, type Command } from '../command.js';

function progressLine(io: CliIO, done: number, total: number, message: string): void {
  io.stderr.write(`[${done}/${total}] ${message}\n`);
}

async function inProcess(project: string, paths: string[], io: CliIO): Promise<ImportResult> {
  const store = ProjectStore.open(project);
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  let last = 0;
  try {
    return await importPaths(store, paths, {
      signal: controller.signal,
      progress(done, total, message) {
        const now = Date.now();
        if (done < total && now - last < 200) return;
        last = now;
        progressLine(io, done, total, message);
      },
    });
  } finally {
    process.off('SIGINT', stop);
    store.close();
  }
}

async function asJob(project: string, paths: string[], io: CliIO): Promise<ImportResult> {
  const host = new JobHost({
    cacheDir: path.join(os.tmpdir(), 'ssm-studio-cache'),
    dataDir: project,
    maxConcurrent: 1,
  });
  const stop = (): void => void host.dispose();
  process.once('SIGINT', stop);
  try {
    const finished = await new Promise<JobInfo>((resolve) => {
      let id = '';
      let lastDone = -1;
      host.on('job', (job) => {
        if (job.id !== id && id !== '') return;
        if (job.state === 'running' && job.progress.done !== lastDone) {
          lastDone = job.progress.done;
          progressLine(io, job.progress.done, job.progress.total, job.progress.message);
        }
        if (job.finishedAt !== null) resolve(job);
      });
      id = host.start({ kind: 'import', params: { project, paths } }).id;
    });
    if (finished.state !== 'done' || finished.result === null) {
      const e = finished.error ?? { code: 'internal' as const, message: 'import job failed' };
      throw new AppError(e.code, e.message, e.path);
    }
    return finished.result as unknown as ImportResult;
  } finally {
    process.off('SIGINT', stop);
    await host.dispose();
  }
}

export const importCommand: Command = {
  name: 'import',
  summary: 'import files or folders (recursive) into a project, creating it if needed',
  usage: 'ssm-studio import --project <dir> <paths...> [--json] [--in-process]',
  options: { project: { type: 'string', short: 'p' }, 'in-process': { type: 'boolean' } },
  async run(args, io) {
    const project = stringOption(args, 'project');
    if (!project) throw new UsageError('--project <dir> is required');
    if (args.positionals.length === 0) throw new UsageError('give at least one file or folder to import');
    const dir = path.resolve(project);
    const paths = args.positionals.map((p) => path.resolve(p));
    const result = args.values['in-process'] ? await inProcess(dir, paths, io) : await asJob(dir, paths, io);
    if (args.values.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      io.stdout.write(`imported ${result.imported} item(s) into ${dir}, ${result.labelled} labelled\n`);
      for (const s of result.skipped) io.stdout.write(`skipped ${s.path}: ${s.reason}\n`);
    }
    return 0;
  },
};
