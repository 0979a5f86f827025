import { z } from 'zod';

import type { ModelsApi } from '../../../contract/index.js';
import { absolutePath, idString, noParams } from './common.js';
import type { ParamSchemas } from './types.js';

const modelId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a model id (lower-case letters, digits, ".", "_", "-")');

const stage = z
  .object({ size: z.number().int().min(4).max(4096), epochs: z.number().int().min(1).max(10_000) })
  .strict();

/** Params of the `train` job. */
export const trainParams = z
  .object({
    project: absolutePath,
    task: z.enum(['classify', 'segment', 'interpolate']),
    architecture: z.string().min(1).max(64).optional(),
    schedule: z.array(stage).min(1).max(32),
    from: modelId.optional(),
    runId: idString.optional(),
    name: z.string().min(1).max(200).optional(),
    batchSize: z.number().int().min(1).max(4096).optional(),
    lr: z.number().positive().max(1).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31)
      .optional(),
    validationSizes: z.array(z.number().int().min(4).max(4096)).min(1).max(8).optional(),
    patience: z.number().int().min(1).max(1000).optional(),
    augment: z
      .object({ flip: z.boolean(), crop: z.number().min(0).max(0.5), intensity: z.number().min(0).max(1) })
      .strict()
      .optional(),
    split: z
      .discriminatedUnion('mode', [
        z.object({ mode: z.literal('project') }).strict(),
        z.object({ mode: z.literal('hash'), fraction: z.number().gt(0).lt(1) }).strict(),
      ])
      .optional(),
    maxSteps: z.number().int().min(0).optional(),
    backend: z.enum(['cpu', 'webgpu']).optional(),
  })
  .strict();

/** Params of the `infer` job. */
export const inferParams = z
  .object({
    project: absolutePath,
    task: z.enum(['classify', 'segment']),
    model: modelId.optional(),
    itemIds: z.array(z.number().int().min(1)).max(1_000_000).optional(),
    backend: z.enum(['cpu', 'webgpu']).optional(),
  })
  .strict();

/** Mapping of a plain .onnx import (`models.import` with `onnx`). */
export const onnxImportParams = z
  .object({
    task: z.enum(['classify', 'segment']),
    classes: z.array(z.string().min(1).max(200)).min(1).max(10_000),
    inputSize: z.number().int().min(1).max(8192),
    channels: z.number().int().min(1).max(64),
    mean: z.number().finite(),
    std: z.number().finite().positive(),
    name: z.string().min(1).max(200).optional(),
    input: z.string().min(1).max(500).optional(),
    output: z.string().min(1).max(500).optional(),
    layout: z.enum(['nchw', 'nhwc']).optional(),
    scores: z.enum(['logits', 'probabilities']).optional(),
  })
  .strict();

export const modelsSchemas: ParamSchemas<ModelsApi> = {
  'models.list': noParams,
  'models.get': z.object({ id: modelId }).strict(),
  'models.delete': z.object({ id: modelId }).strict(),
  'models.import': z.object({ path: absolutePath, onnx: onnxImportParams.optional() }).strict(),
  'models.export': z.object({ id: modelId, out: absolutePath }).strict(),
};
