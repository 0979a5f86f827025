import { z } from 'zod';

import type { JobsApi } from '../../../contract/index.js';
import { absolutePath, idString, noParams } from './common.js';
import { inferParams, trainParams } from './models.js';
import type { ParamSchemas } from './types.js';

/** Params of each job kind; jobs.start picks one by `kind`. */
const jobStart = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('thumbnails'),
      params: z.object({ folder: absolutePath, size: z.number().int().min(16).max(1024) }).strict(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('import'),
      params: z.object({ project: absolutePath, paths: z.array(absolutePath).min(1).max(100_000) }).strict(),
    })
    .strict(),
  z.object({ kind: z.literal('train'), params: trainParams }).strict(),
  z.object({ kind: z.literal('infer'), params: inferParams }).strict(),
]);

export const jobsSchemas: ParamSchemas<JobsApi> = {
  'jobs.list': noParams,
  'jobs.get': z.object({ jobId: idString }).strict(),
  'jobs.start': jobStart,
  'jobs.cancel': z.object({ jobId: idString }).strict(),
};
