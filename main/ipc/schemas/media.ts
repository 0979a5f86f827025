import { z } from 'zod';

import type { MediaApi } from '../../../contract/media.js';
import { absolutePath } from './common.js';
import type { ParamSchemas } from './types.js';

const count = z.number().int().min(0).max(1_000_000_000);

export const mediaSchemas: ParamSchemas<MediaApi> = {
  'media.info': z.object({ path: absolutePath }).strict(),
  'media.frame': z.object({ path: absolutePath, frame: count, maxSize: z.number().int().min(16).max(4096) }).strict(),
  'media.pixels': z.object({ path: absolutePath, frame: count }).strict(),
  'media.slice': z
    .object({
      path: absolutePath,
      axis: z.union([z.literal(0), z.literal(1), z.literal(2)]),
      index: count,
      window: z.object({ center: z.number().finite(), width: z.number().finite().positive() }).strict().nullable(),
    })
    .strict(),
  'media.voxel': z.object({ path: absolutePath, x: count, y: count, z: count }).strict(),
};
