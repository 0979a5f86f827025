// `ssm-studio segment <image|.nii|.nii.gz|DICOM folder> [--model ID] [--runtime auto|engine|onnx]
// [--backend cpu|webgpu] -o <mask> [--json]`:
// a class-index mask (0 background, 1..K) as PNG for an image, as NIfTI on the input's grid (same dims, spacing,
// qform/sform) for a volume. --json reports `runtime`: the runtimes that ran it (engine / onnx, see models/runner.ts).
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { segmentFile } from '../../models/infer.js';
import { stringOption, UsageError, type Command } from '../command.js';
import { BACKEND_OPTION, DATA_DIR_OPTION, predictorFor, RUNTIME_OPTION, withSigint } from './model-common.js';

export const segmentCommand: Command = {
  name: 'segment',
  summary:
    'segment an image (PNG mask) or a volume (NIfTI mask on its grid) with a model (default: the shipped segmenter)',
  usage:
    'ssm-studio segment <image|.nii|.nii.gz|DICOM folder> [--model ID] [--runtime auto|engine|onnx] [--backend cpu|webgpu] -o <mask.png|mask.nii.gz> [--json]',
  options: {
    model: { type: 'string' },
    out: { type: 'string', short: 'o' },
    ...RUNTIME_OPTION,
    ...BACKEND_OPTION,
    ...DATA_DIR_OPTION,
  },
  async run(args, io) {
    const input = args.positionals[0];
    if (!input || args.positionals.length > 1)
      throw new UsageError('segment takes exactly one image, volume or DICOM folder');
    const out = stringOption(args, 'out');
    if (!out) throw new UsageError('-o <mask> is required');
    const isDir = (await stat(input).catch(() => null))?.isDirectory() ?? false;
    const { reg, predictor, runtimes, backend, dispose } = await predictorFor(args, 'segment', io);
    try {
      const seg = await withSigint((signal) =>
        segmentFile(predictor, reg.card, path.resolve(input), { isDir, gzip: !/\.nii$/i.test(out), signal }),
      );
      if (seg.kind === 'png' && !/\.png$/i.test(out))
        throw new UsageError(`a 2-D mask is written as PNG: use -o <name>.png`);
      if (seg.kind === 'nifti' && !/\.nii(\.gz)?$/i.test(out))
        throw new UsageError(`a volume mask is written as NIfTI: use -o <name>.nii.gz or .nii`);
      await writeFile(out, seg.bytes);
      const summary = {
        input,
        out,
        model: reg.card.id,
        kind: seg.kind,
        width: seg.width,
        height: seg.height,
        slices: seg.slices,
        foreground: Math.round(seg.foreground * 1e4) / 1e4,
        classes: reg.card.classes,
        runtime: runtimes(),
        ...(backend ? { backend: backend() } : {}),
      };
      io.stdout.write(
        args.values.json
          ? `${JSON.stringify(summary)}\n`
          : `${out}: ${seg.width}×${seg.height}${seg.slices > 1 ? `×${seg.slices}` : ''} mask, ${(seg.foreground * 100).toFixed(1)}% foreground\n`,
      );
    } finally {
      await dispose();
    }
    return 0;
  },
};
