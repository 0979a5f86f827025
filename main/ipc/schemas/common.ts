import { z } from 'zod';

/** No params: an empty object, and nothing else. */
export const noParams = z.object({}).strict();

/** Ids the app hands out (job ids, item ids): short, printable, no path characters. */
export const idString = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'must contain only letters, digits, "_" and "-"');

/** A filesystem path from the user: absolute, bounded, no NUL bytes. */
export const absolutePath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'must not contain NUL bytes')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p), 'must be an absolute path');
