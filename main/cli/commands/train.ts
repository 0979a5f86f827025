// `ssm-studio train --project P --task classify --schedule 14:6,28:3 [--from ID] [--architecture A] [--run-id R]`:
// trains as a `train` job in its own process (as in the app); progress (loss, throughput, validation) on stderr.
// Ctrl-C pauses (checkpoint); the same command with --run-id R resumes. `--backend cpu|webgpu` (default cpu) is the
// job's params.backend (models/train-service.ts: the GPU executor, else the CPU with the reason); with webgpu the
// first progress line that reports where the steps run is preceded by one "ssm-studio: running on …" line.
import os from 'node:os';
import path from 'node:path';

import type { JobInfo } from '../../../contract/jobs.js';
import type { TrainParams, TrainResult, TrainStage } from '../../../contract/models.js';
import { AppError } from '../../ipc/app-error.js';
import { JobHost } from '../../jobs/job-host.js';
import { resolveDirs } from '../../start/dirs.js';
import { stringOption, UsageError, type CliIO, type Command } from '../command.js';
import { BACKEND_OPTION, backendOption, DATA_DIR_OPTION, describeReport, reportWhere } from './model-common.js';

export function parseSchedule(text: string): TrainStage[] {
  const stages = text.split(',').map((part) => {
    const m = /^(\d+):(\d+)$/.exec(part.trim());
    if (!m) throw new UsageError(`--schedule stage '${part}' must be SIZE:EPOCHS (e.g. 14:6,28:3)`);
    return { size: Number(m[1]), epochs: Number(m[2]) };
  });
  if (stages.some((s) => s.size < 4 || s.epochs < 1))
    throw new UsageError('--schedule sizes must be >= 4 and epochs >= 1');
  return stages;
}

function num(args: Parameters<Command['run']>[0], name: string): number | undefined {
  const v = stringOption(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got '${v}'`);
  return n;
}

async function runJob(params: TrainParams, dataDir: string, io: CliIO): Promise<TrainResult> {
  const host = new JobHost({ cacheDir: path.join(os.tmpdir(), 'ssm-studio-cache'), dataDir, maxConcurrent: 1 });
  const stop = (): void => {
    io.stderr.write('pausing (checkpoint)…\n');
    for (const j of host.list()) host.cancel(j.id);
  };
  process.once('SIGINT', stop);
  try {
    const finished = await new Promise<JobInfo>((resolve) => {
      let id = '';
      let lastAt = 0;
      let lastEpoch = '';
      let reported = params.backend !== 'webgpu';
      host.on('job', (job) => {
        if (id !== '' && job.id !== id) return;
        const now = Date.now();
        const m = job.progress.metrics;
        if (!reported && m?.backend) {
          reported = true;
          reportWhere(io, describeReport(m.backend));
        }
        // One line a second, and always the first line of each epoch.
        const epochKey = m ? `${m.stage}/${m.epoch}` : '';
        if (job.state === 'running' && (now - lastAt > 1000 || (m !== undefined && epochKey !== lastEpoch))) {
          lastAt = now;
          lastEpoch = epochKey;
          const val = m
            ? Object.entries(m.validation)
                .map(
                  ([s, v]) =>
                    `${s}px ${Object.entries(v)
                      .map(([k, x]) => `${k} ${x.toFixed(3)}`)
                      .join(' ')}`,
                )
                .join(', ')
            : '';
          const eta = job.progress.etaSeconds === null ? '' : ` ETA ${Math.round(job.progress.etaSeconds)} s`;
          io.stderr.write(
            `${job.progress.message}${m ? ` ${m.samplesPerSecond.toFixed(0)} samples/s` : ''}${val ? ` | val ${val}` : ''}${eta}\n`,
          );
        }
        if (job.finishedAt !== null) resolve(job);
      });
      id = host.start({ kind: 'train', params }).id;
    });
    if (finished.state !== 'done' || finished.result === null) {
      const e = finished.error ?? { code: 'internal' as const, message: 'train job failed' };
      throw new AppError(e.code, e.message, e.path);
    }
    return finished.result as unknown as TrainResult;
  } finally {
    process.off('SIGINT', stop);
    await host.dispose();
  }
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model on a project with a progressive-resizing schedule (or fine-tune one with --from)',
  usage:
    'ssm-studio train --project P --task classify|segment|interpolate --schedule 14:6,28:3 [--from ID] [--architecture A] [--run-id R] [--batch-size B] [--lr LR] [--backend cpu|webgpu] [--json]',
  options: {
    project: { type: 'string', short: 'p' },
    task: { type: 'string' },
    schedule: { type: 'string' },
    from: { type: 'string' },
    architecture: { type: 'string' },
    'run-id': { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    name: { type: 'string' },
    ...BACKEND_OPTION,
    ...DATA_DIR_OPTION,
  },
  async run(args, io) {
    const project = stringOption(args, 'project');
    if (!project) throw new UsageError('--project <dir> is required');
    const task = stringOption(args, 'task') ?? 'classify';
    if (task !== 'classify' && task !== 'segment' && task !== 'interpolate')
      throw new UsageError(`--task must be classify, segment or interpolate, got '${task}'`);
    const schedule = parseSchedule(stringOption(args, 'schedule') ?? '28:5');
    const params: TrainParams = { project: path.resolve(project), task, schedule, backend: backendOption(args) };
    const opt = (k: string): string | undefined => stringOption(args, k);
    if (opt('from')) params.from = opt('from');
    if (opt('architecture')) params.architecture = opt('architecture');
    if (opt('run-id')) params.runId = opt('run-id');
    if (opt('name')) params.name = opt('name');
    const bs = num(args, 'batch-size');
    if (bs !== undefined) params.batchSize = Math.round(bs);
    const lr = num(args, 'lr');
    if (lr !== undefined) params.lr = lr;
    const { dataDir } = resolveDirs({ dataDir: opt('data-dir') });
    const result = await runJob(params, dataDir, io);
    if (args.values.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
      io.stdout.write(
        `registered ${result.modelId} (run ${result.runId}, ${result.steps} steps${result.resumed ? ', resumed' : ''})\n`,
      );
      for (const m of result.card?.metrics ?? [])
        io.stdout.write(
          `  ${m.size}px: ${Object.entries(m.metrics)
            .map(([k, v]) => `${k} ${v.toFixed(4)}`)
            .join(', ')}\n`,
        );
    }
    return 0;
  },
};
