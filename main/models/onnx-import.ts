// Importing a plain third-party ONNX classifier or segmenter with an input/output mapping.
//
// Checks, in order, before anything is written: a regular file of sane size -> the protobuf decodes as an ONNX model
// -> no tensor refers to external data (a hostile file could point at any path on disk) and every op is in a standard
// domain -> onnxruntime (CPU EP) builds a session -> the mapped input is a float32 rank-4 tensor whose declared
// channel / spatial dims fit the mapping, no other input needs a feed, the mapped output is float32 -> a dry run on a
// seeded random input at the declared size gives finite scores of the right count (classify: K; segment: K or
// K + 1 channels with a background, on the input's grid). Only then is the folder <userDir>/<id>/ (model.onnx,
// card.json) written, atomically. Imported models have no engine checkpoint and always run on onnxruntime.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { onnx as OnnxTypes } from 'onnx-proto';

import type { ModelCard, OnnxImportParams, OnnxIoMapping } from '../../contract/models.js';
import { AppError } from '../ipc/app-error.js';
import { writeDirAtomic } from '../project/atomic.js';
import { rng } from './dataset.js';
import { CARD, newModelId, ONNX, type ModelManager, type RegisteredModel } from './manager.js';
import { OnnxRunner } from './runner.js';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto') as { onnx: typeof OnnxTypes };

/** Largest ONNX file accepted (protobuf's own limit is 2 GiB). */
export const MAX_ONNX_BYTES = 1024 * 1024 * 1024;
const STANDARD_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml']);

const bad = (file: string, why: string): AppError =>
  new AppError(
    'corrupt_input',
    `${path.basename(file)} cannot be imported: ${why}; nothing was registered`,
    'params.path',
  );

/** Walks the graph (and subgraphs of If/Loop/Scan): external data, non-standard op domains, parameter count. */
function scanGraph(g: OnnxTypes.IGraphProto, file: string, counts: { params: number }): void {
  for (const t of g.initializer ?? []) {
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0)
      throw bad(file, `tensor '${t.name ?? ''}' refers to external data (only self-contained models are imported)`);
    counts.params += (t.dims ?? []).reduce<number>((a, d) => a * Number(d), 1);
  }
  for (const n of g.node ?? []) {
    if (!STANDARD_DOMAINS.has(n.domain ?? ''))
      throw bad(
        file,
        `op '${n.opType ?? ''}' is in the custom domain '${n.domain ?? ''}' (only standard ONNX ops run here)`,
      );
    for (const a of n.attribute ?? []) {
      if (a.t && (a.t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (a.t.externalData?.length ?? 0) > 0))
        throw bad(file, `a constant of '${n.name ?? n.opType ?? ''}' refers to external data`);
      if (a.g) scanGraph(a.g, file, counts);
      for (const sub of a.graphs ?? []) scanGraph(sub, file, counts);
    }
  }
}

/** Decodes and screens the bytes; returns the parameter count. */
function screen(bytes: Uint8Array, file: string): number {
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw bad(file, `not an ONNX model (protobuf decode failed: ${(err as Error).message})`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) throw bad(file, 'not an ONNX model (no graph / no nodes)');
  for (const o of model.opsetImport ?? [])
    if (!STANDARD_DOMAINS.has(o.domain ?? ''))
      throw bad(file, `it imports the custom op domain '${o.domain ?? ''}' (only standard ONNX ops run here)`);
  if ((model.functions?.length ?? 0) > 0) throw bad(file, 'it defines model-local functions (not supported)');
  const counts = { params: 0 };
  scanGraph(model.graph, file, counts);
  return counts.params;
}

const fmtDims = (d: (number | string | null)[] | null): string =>
  d ? `[${d.map((x) => (x === null ? '?' : String(x))).join(', ')}]` : 'not a tensor';

/** Validates the file against the mapping (session, names, ranks, dry run). Returns the mapping and param count. */
export async function validateOnnxImport(
  file: string,
  params: OnnxImportParams,
): Promise<{ bytes: Uint8Array; io: OnnxIoMapping; params: number; sha256: string; outShape: number[] }> {
  const st = await stat(file).catch(() => null);
  if (!st) throw new AppError('not_found', `${file} does not exist`, 'params.path');
  if (!st.isFile()) throw bad(file, 'not a regular file');
  if (st.size === 0) throw bad(file, 'the file is empty');
  if (st.size > MAX_ONNX_BYTES) throw bad(file, `the file is ${st.size} bytes (limit ${MAX_ONNX_BYTES})`);
  if (!(params.classes.length > 0))
    throw new AppError('bad_request', 'give the class names (--classes a,b,c)', 'params.classes');
  if (!(Number.isInteger(params.inputSize) && params.inputSize > 0))
    throw new AppError(
      'bad_request',
      `--input-size must be a positive integer, got ${params.inputSize}`,
      'params.inputSize',
    );
  if (!(params.std > 0)) throw new AppError('bad_request', `--std must be > 0, got ${params.std}`, 'params.std');
  const bytes = new Uint8Array(await readFile(file));
  const paramCount = screen(bytes, file);
  const layout = params.layout ?? 'nchw';
  const scores = params.scores ?? 'logits';
  const { sessionInputs, sessionOutputs } = await import('./runner-ort.js');
  let runner: OnnxRunner;
  try {
    runner = await OnnxRunner.open(bytes, { threads: 1 });
  } catch (err) {
    throw bad(file, `onnxruntime cannot load it: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const inputs = sessionInputs(runner.session);
    const outputs = sessionOutputs(runner.session);
    const floatIn = inputs.filter((i) => i.type === 'float32');
    const inName = params.input ?? (floatIn.length === 1 ? floatIn[0]?.name : undefined);
    const input = inputs.find((i) => i.name === inName);
    if (!input)
      throw bad(
        file,
        params.input
          ? `it has no input '${params.input}' (inputs: ${inputs.map((i) => i.name).join(', ')})`
          : `name the image input with --input (float inputs: ${floatIn.map((i) => i.name).join(', ') || 'none'})`,
      );
    if (inputs.length > 1)
      throw bad(
        file,
        `it takes ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); only single-input models are imported`,
      );
    if (input.type !== 'float32') throw bad(file, `input '${input.name}' is ${input.type}, not float32`);
    if (!input.dims || input.dims.length !== 4)
      throw bad(
        file,
        `input '${input.name}' has dims ${fmtDims(input.dims)}; a 2-D image model takes rank 4 (${layout})`,
      );
    const chAxis = layout === 'nhwc' ? 3 : 1;
    const spatial = layout === 'nhwc' ? [1, 2] : [2, 3];
    const ch = input.dims[chAxis];
    if (typeof ch === 'number' && ch !== params.channels)
      throw bad(
        file,
        `input '${input.name}' ${fmtDims(input.dims)} (${layout}) takes ${ch} channel(s), the mapping says ${params.channels}`,
      );
    const fixed = spatial.map((a) => input.dims?.[a]);
    const fixedSize = fixed.every((d) => typeof d === 'number') ? (fixed as number[]) : null;
    for (const d of fixed)
      if (typeof d === 'number' && d !== params.inputSize)
        throw bad(
          file,
          `input '${input.name}' ${fmtDims(input.dims)} fixes the image size at ${d}, the mapping says --input-size ${params.inputSize}`,
        );
    const outName = params.output ?? outputs[0]?.name;
    const output = outputs.find((o) => o.name === outName);
    if (!output)
      throw bad(file, `it has no output '${outName ?? ''}' (outputs: ${outputs.map((o) => o.name).join(', ')})`);
    if (output.type !== 'float32') throw bad(file, `output '${output.name}' is ${output.type}, not float32`);

    // Dry run at the declared size, through the same mapped path inference uses.
    const s = params.inputSize;
    const r = rng(20261122);
    const x = new Float32Array(params.channels * s * s);
    for (let i = 0; i < x.length; i++) x[i] = r() * 2 - 1;
    const { runMapped } = await import('./runner-ort.js');
    const { toChannelsLast } = await import('./runner.js');
    let y: { data: Float32Array; shape: number[] };
    try {
      y =
        layout === 'nhwc'
          ? await runMapped(
              runner.session,
              input.name,
              toChannelsLast(x, params.channels, [s, s]),
              [1, s, s, params.channels],
              output.name,
            )
          : await runMapped(runner.session, input.name, x, [1, params.channels, s, s], output.name);
    } catch (err) {
      throw bad(
        file,
        `the dry run at 1×${params.channels}×${s}×${s} (${layout}) failed: ${(err as Error).message.split('\n')[0]}`,
      );
    }
    if (!y.data.every(Number.isFinite)) throw bad(file, 'the dry run gave non-finite scores');
    const k = params.classes.length;
    let background = false;
    if (params.task === 'classify') {
      if (y.data.length !== k)
        throw bad(
          file,
          `output '${output.name}' [${y.shape.join(', ')}] holds ${y.data.length} scores per image, but ${k} classes were given`,
        );
    } else {
      if (y.shape.length !== 4)
        throw bad(file, `output '${output.name}' [${y.shape.join(', ')}] is not a rank-4 per-pixel map`);
      const kOut = (layout === 'nhwc' ? y.shape[3] : y.shape[1]) ?? 0;
      const grid = layout === 'nhwc' ? y.shape.slice(1, 3) : y.shape.slice(2);
      if (grid.join('x') !== `${s}x${s}`)
        throw bad(file, `output '${output.name}' [${y.shape.join(', ')}] is not on the input's ${s}×${s} grid`);
      if (kOut === k + 1) background = true;
      else if (kOut !== k)
        throw bad(
          file,
          `output '${output.name}' has ${kOut} channels; ${k} classes need ${k} (per class) or ${k + 1} (with background first)`,
        );
    }
    const io: OnnxIoMapping = { input: input.name, output: output.name, layout, scores, background, fixedSize };
    return {
      bytes,
      io,
      params: paramCount,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      outShape: y.shape,
    };
  } finally {
    await runner.dispose();
  }
}

/** Validates and registers a plain ONNX file as a user model (folder with model.onnx and card.json). */
export async function importOnnxModel(
  manager: ModelManager,
  file: string,
  params: OnnxImportParams,
): Promise<RegisteredModel> {
  const abs = path.resolve(file);
  const v = await validateOnnxImport(abs, params);
  const name = params.name ?? path.basename(abs).replace(/\.onnx$/i, '');
  const id = newModelId(name);
  const s = params.inputSize;
  const card: ModelCard = {
    id,
    name,
    task: params.task,
    architecture: 'onnx-import',
    description: `Imported ONNX ${params.task === 'classify' ? 'classifier' : 'segmenter'} (${path.basename(abs)}): input '${v.io.input}' ${v.io.layout}, ${params.channels}×${s}×${s}, output '${v.io.output}' (${v.io.scores}${v.io.background ? ', background channel first' : ''}). Runs on onnxruntime at ${s}×${s}.`,
    classes: params.classes,
    input: {
      channels: params.channels,
      dims: 2,
      size: [s, s],
      normalize: { mean: params.mean, std: params.std },
      multiple: 1,
      resolutionFlexible: false,
    },
    trainingResolutions: [s],
    metrics: [],
    params: v.params,
    lineage: {
      parent: null,
      datasetHash: '',
      dataset: 'unknown (imported ONNX model)',
      trainSamples: 0,
      valSamples: 0,
      schedule: [],
      seed: 0,
      date: new Date().toISOString(),
      steps: 0,
      trainSeconds: 0,
      imported: { file: abs, sha256: v.sha256 },
    },
    onnx: { file: ONNX, parity: [], io: v.io },
    builtin: false,
  };
  const target = path.join(manager.userDir, id);
  await writeDirAtomic(target, async (tmp) => {
    await writeFile(path.join(tmp, ONNX), v.bytes);
    await writeFile(path.join(tmp, CARD), `${JSON.stringify(card, null, 2)}\n`);
  });
  return manager.get(id);
}
