// `ssm-studio classify <files...> [--model ID] [--size S] [--top K] [--runtime auto|engine|onnx] [--backend cpu|webgpu]
// [--json]`: one line
// per file; with --json one JSON object per line: {"file", "model", "runtime", "top": [{"index", "label", "p"}]}.
// Images run at their native size (S4ND rate = training size / image size) unless --size resamples them to S × S
// first; imported ONNX models at their declared size. `runtime` is the one that ran the file: 'auto' (default) uses
// whichever of the engine and onnxruntime was measured faster for the model at that size bucket on this machine.
// A 3-D clip classifier (--model) takes videos: the mean over clips of F frames × F × F px (F its base size, or
// --size), see models/infer-3d.ts. `--backend webgpu` runs the model as the app does with WebGPU selected
// (models/route.ts) and says where on stderr; `runtime` is then 'onnx-webgpu', or null on the GPU executor.
import path from 'node:path';

import { classifyMedia } from '../../models/infer-3d.js';
import { stringOption, UsageError, type Command } from '../command.js';
import { BACKEND_OPTION, DATA_DIR_OPTION, predictorFor, RUNTIME_OPTION, withSigint } from './model-common.js';

function intOption(v: string | undefined, name: string, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export const classifyCommand: Command = {
  name: 'classify',
  summary:
    'classify images (videos with a 3-D clip model) with a model (default: the shipped classifier), at their native size or --size',
  usage:
    'ssm-studio classify <files...> [--model ID] [--size S] [--top K] [--runtime auto|engine|onnx] [--backend cpu|webgpu] [--json]',
  options: {
    model: { type: 'string' },
    size: { type: 'string' },
    top: { type: 'string' },
    ...RUNTIME_OPTION,
    ...BACKEND_OPTION,
    ...DATA_DIR_OPTION,
  },
  async run(args, io) {
    if (args.positionals.length === 0) throw new UsageError('give at least one image (or video for a 3-D model)');
    const size = intOption(stringOption(args, 'size'), 'size', 4);
    const top = intOption(stringOption(args, 'top'), 'top', 1) ?? 3;
    const { reg, predictor, lastRuntime, dispose } = await predictorFor(args, 'classify', io);
    try {
      await withSigint(async (signal) => {
        for (const file of args.positionals) {
          const best = await classifyMedia(predictor, reg.card, path.resolve(file), { size, top, signal });
          const runtime = lastRuntime();
          if (args.values.json)
            io.stdout.write(`${JSON.stringify({ file, model: reg.card.id, runtime, top: best })}\n`);
          else io.stdout.write(`${file}: ${best.map((b) => `${b.label} ${(b.p * 100).toFixed(1)}%`).join(', ')}\n`);
        }
      });
    } finally {
      await dispose();
    }
    return 0;
  },
};
