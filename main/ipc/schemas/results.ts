import { z } from 'zod';

import type { ResultsApi } from '../../../contract/index.js';
import { absolutePath } from './common.js';
import type { ParamSchemas } from './types.js';

const modelId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a model id (lower-case letters, digits, ".", "_", "-")');
const itemId = z.number().int().min(1);

export const resultsSchemas: ParamSchemas<ResultsApi> = {
  'results.runs': z.object({ project: absolutePath }).strict(),
  'results.classify': z
    .object({
      project: absolutePath,
      model: modelId,
      split: z.enum(['train', 'val', 'test', 'all']),
      sizes: z.array(z.number().int().min(4).max(1024)).min(1).max(12),
    })
    .strict(),
  'results.segment': z
    .object({ project: absolutePath, model: modelId, itemId, slice: z.number().int().min(0).nullable() })
    .strict(),
  'results.exportMask': z.object({ project: absolutePath, model: modelId, itemId, out: absolutePath }).strict(),
  'results.interpolate': z
    .object({
      path: absolutePath,
      model: modelId,
      width: z.number().int().min(8).max(4096),
      pairs: z.number().int().min(1).max(256),
      index: z.number().int().min(1),
      t: z.number().gt(0).lt(1),
    })
    .strict(),
  'results.exportVideo': z
    .object({
      path: absolutePath,
      model: modelId,
      factor: z
        .number()
        .int()
        .refine((f) => f === 2 || f === 4 || f === 8, 'must be 2, 4 or 8'),
      width: z.number().int().min(8).max(4096),
      maxFrames: z.number().int().min(2).max(100_000),
      out: absolutePath,
    })
    .strict(),
  'results.probe': z
    .object({
      project: absolutePath,
      task: z.enum(['classify', 'segment', 'interpolate']),
      architecture: z.string().min(1).max(64).nullable(),
      from: modelId.nullable(),
      size: z.number().int().min(4).max(512),
      batchSize: z.number().int().min(1).max(256),
    })
    .strict(),
  'results.renameModel': z.object({ id: modelId, name: z.string().trim().min(1).max(200) }).strict(),
};
