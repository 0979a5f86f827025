import { z } from 'zod';

import type { ProjectApi } from '../../../contract/project.js';
import { absolutePath } from './common.js';
import type { ParamSchemas } from './types.js';

const itemId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const frame = z.number().int().min(0).max(1_000_000_000).nullable();

export const projectSchemas: ParamSchemas<ProjectApi> = {
  'project.open': z.object({ dir: absolutePath }).strict(),
  'project.items': z
    .object({ dir: absolutePath, offset: z.number().int().min(0), limit: z.number().int().min(1).max(10_000) })
    .strict(),
  'project.labels': z.object({ dir: absolutePath, itemId }).strict(),
  'project.setLabel': z
    .object({
      dir: absolutePath,
      itemId,
      className: z.string().min(1).max(256).nullable(),
      frameStart: frame,
      frameEnd: frame,
    })
    .strict(),
  'project.undo': z.object({ dir: absolutePath }).strict(),
  'project.redo': z.object({ dir: absolutePath }).strict(),
  'project.export': z
    .object({
      dir: absolutePath,
      format: z.enum(['labels-csv', 'labels-json', 'imagefolder', 'masks-png', 'masks-nifti', 'coco']),
      out: absolutePath,
    })
    .strict(),
};
