// `ssm-studio interpolate <video> (--factor K | --fps F) -o <out.mp4|out.webm|dir/%05d.png>`: frame interpolation
// with a time-conditioned model (default: the shipped interpolator) to any integer factor K ≥ 2 or any output rate
// F > 0; each output timestamp is mapped to its two neighbouring source frames and a time t in (0, 1), and source
// frames on the output grid are copied unchanged. Streaming (two source frames in memory at a time); progress on
// stderr. `--backend webgpu` runs the model as the app does with WebGPU selected (models/route.ts), says where on
// stderr, and the --json summary gains `backend`.
import path from 'node:path';

import { interpolateVideo, retiming } from '../../models/infer.js';
import { probeVideo } from '../../media/video.js';
import { stringOption, UsageError, type Command } from '../command.js';
import { BACKEND_OPTION, backendOption, DATA_DIR_OPTION, modelOnBackend, withSigint } from './model-common.js';

function numberOption(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} takes a number, got '${v}'`);
  return n;
}

export const interpolateCommand: Command = {
  name: 'interpolate',
  summary:
    'raise (or change) a video frame rate by any integer factor or to any fps with a time-conditioned interpolation model, to a video or numbered PNG frames',
  usage:
    'ssm-studio interpolate <video> (--factor K | --fps F) -o <out.mp4|out.webm|dir/%05d.png> [--model ID] [--backend cpu|webgpu] [--json]',
  options: {
    factor: { type: 'string' },
    fps: { type: 'string' },
    out: { type: 'string', short: 'o' },
    model: { type: 'string' },
    ...BACKEND_OPTION,
    ...DATA_DIR_OPTION,
  },
  async run(args, io) {
    const input = args.positionals[0];
    if (!input || args.positionals.length > 1) throw new UsageError('interpolate takes exactly one video');
    backendOption(args); // a bad --backend is a usage error before the video is read
    const out = stringOption(args, 'out');
    if (!out) throw new UsageError('-o <out.mp4 | dir/%05d.png> is required');
    const f = stringOption(args, 'factor');
    const fps = stringOption(args, 'fps');
    if ((f === undefined) === (fps === undefined)) throw new UsageError('give exactly one of --factor K or --fps F');
    const rate = f !== undefined ? { factor: numberOption('factor', f) } : { fps: numberOption('fps', fps as string) };
    const info = await probeVideo(path.resolve(input));
    const timing = retiming(info, rate); // refuses a bad factor / fps before the model loads
    const { reg, model, backend, dispose } = await modelOnBackend(args, 'interpolate', io);
    const t0 = Date.now();
    let last = 0;
    try {
      const r = await withSigint((signal) =>
        interpolateVideo(model, reg.card, path.resolve(input), {
          ...rate,
          out: path.resolve(out),
          signal,
          onFrame(done, total) {
            const now = Date.now();
            if (done < total && now - last < 500) return;
            last = now;
            io.stderr.write(`[${done}/${total}] frames\n`);
          },
        }),
      );
      const summary = {
        input,
        out,
        model: reg.card.id,
        factor: timing.factor,
        sourceFps: info.fps,
        sourceFrames: info.frames,
        ...r,
        seconds: (Date.now() - t0) / 1000,
        ...(backend ? { backend: backend() } : {}),
      };
      io.stdout.write(
        args.values.json
          ? `${JSON.stringify(summary)}\n`
          : `${out}: ${r.frames} frames at ${r.fps.toFixed(3)} fps (${r.width}×${r.height}, ${timing.factor !== null ? `×${timing.factor}` : `from ${info.fps.toFixed(3)} fps`}, ${r.kept} source frames kept)\n`,
      );
    } finally {
      await dispose();
    }
    return 0;
  },
};
