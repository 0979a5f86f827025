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
  'results.compareSegment': z.object({ project: absolutePath, models: z.tuple([modelId, modelId]) }).strict(),
  'results.compareInterpolate': z
    .object({
      project: absolutePath,
      models: z.tuple([modelId, modelId]),
      itemId,
      width: z.number().int().min(8).max(1024),
      pairs: z.number().int().min(1).max(64),
    })
    .strict(),
  'results.exportMask': z.object({ project: absolutePath, model: modelId, itemId, out: absolutePath }).strict(),
  'results.interpolate': z
    .object({
      path: absolutePath,
      model: modelId,
      width: z.number().int().min(8).max(4096),
      pairs: z.number().int().min(1).max(256),
      index: z.number().int().min(1),
      t: z.number().refine((t) => t > 0 && t < 1, {
        error: (issue) =>
          `the interpolation time t must be strictly between 0 and 1 (0 and 1 are the two source frames), got ${String(issue.input)}`,
      }),
      step: z.union([z.literal(2), z.literal(3)], 'must be 2 (t = 1/2) or 3 (t = 1/3, 2/3)').optional(),
    })
    .strict(),
  'results.exportVideo': z
    .object({
      path: absolutePath,
      model: modelId,
      factor: z
        .number()
        .refine((f) => Number.isSafeInteger(f) && f >= 2, {
          error: (issue) => `the factor must be an integer ≥ 2, got ${String(issue.input)}`,
        })
        .optional(),
      fps: z
        .number()
        .refine((f) => Number.isFinite(f) && f > 0, {
          error: (issue) => `the output frame rate must be a number > 0, got ${String(issue.input)}`,
        })
        .optional(),
      width: z.number().int().min(8).max(4096),
      maxFrames: z.number().int().min(2).max(100_000),
      out: absolutePath,
    })
    .strict()
    .refine((p) => (p.factor === undefined) !== (p.fps === undefined), {
      error: 'give exactly one of factor (an integer ≥ 2) or fps (a rate > 0)',
      path: ['factor'],
    }),
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
