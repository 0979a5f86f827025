import { z } from 'zod';

import type { ProjectApi } from '../../../contract/project.js';
import { absolutePath, noParams } from './common.js';
import type { ParamSchemas } from './types.js';

const itemId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const axis = z.number().int().min(0).max(2);
const slice = z.number().int().min(0).max(1_000_000);
const filter = z
  .object({
    status: z.enum(['all', 'labeled', 'unlabeled', 'predicted']),
    className: z.string().min(1).max(256).nullable(),
    split: z.enum(['train', 'val', 'test', 'none']).nullable(),
    kind: z.enum(['all', 'image', 'video', 'volume']),
    search: z.string().max(1024),
  })
  .strict();
/** Masks up to 4096 × 4096 (the WebSocket caps a request at 4 MiB, so big masks arrive only over Electron IPC). */
const side = z.number().int().min(1).max(4096);
const className = z.string().trim().min(1).max(256);
const frame = z.number().int().min(0).max(1_000_000_000).nullable();

export const projectSchemas: ParamSchemas<ProjectApi> = {
  'project.open': z.object({ dir: absolutePath }).strict(),
  'project.items': z
    .object({ dir: absolutePath, offset: z.number().int().min(0), limit: z.number().int().min(1).max(10_000) })
    .strict(),
  'project.query': z
    .object({ dir: absolutePath, filter, offset: z.number().int().min(0), limit: z.number().int().min(1).max(10_000) })
    .strict(),
  'project.item': z.object({ dir: absolutePath, itemId }).strict(),
  'project.itemIds': z.object({ dir: absolutePath, filter }).strict(),
  'project.demo': noParams,
  'project.recent': noParams,
  'project.setLabels': z
    .object({
      dir: absolutePath,
      itemIds: z.array(itemId).min(1).max(1_000_000),
      className: z.string().min(1).max(256).nullable(),
    })
    .strict(),
  'project.mask': z.object({ dir: absolutePath, itemId, axis, slice }).strict(),
  'project.suggestedMask': z
    .object({
      dir: absolutePath,
      itemId,
      model: z.string().min(1).max(200),
      axis,
      slice,
      paintValue: z.number().int().min(1).max(255).optional(),
    })
    .strict(),
  'project.setMask': z
    .object({
      dir: absolutePath,
      itemId,
      axis,
      slice,
      mask: z
        .object({
          width: side,
          height: side,
          dataBase64: z.string().max(24_000_000),
          encoding: z.literal('deflate').optional(),
        })
        .strict()
        .nullable(),
    })
    .strict(),
  'project.reviews': z.object({ dir: absolutePath, itemId }).strict(),
  'project.setReview': z
    .object({ dir: absolutePath, itemId, axis, slice, state: z.enum(['accepted', 'needs_work']).nullable() })
    .strict(),
  'project.upload': z
    .object({
      dir: absolutePath,
      name: z.string().min(1).max(255),
      // 2.5 MiB of bytes as base64, inside the 4 MiB WebSocket message limit.
      dataBase64: z.string().max(3_500_000),
    })
    .strict(),
  'project.suggestions': z.object({ dir: absolutePath, itemId }).strict(),
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
  'project.addClass': z.object({ dir: absolutePath, name: className }).strict(),
  'project.renameClass': z.object({ dir: absolutePath, from: className, to: className }).strict(),
  'project.deleteClass': z.object({ dir: absolutePath, name: className }).strict(),
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
