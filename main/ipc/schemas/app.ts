import { z } from 'zod';

import type { AppApi } from '../../../contract/index.js';
import { noParams } from './common.js';
import type { ParamSchemas } from './types.js';

export const appSchemas: ParamSchemas<AppApi> = {
  'app.info': noParams,
  'settings.get': noParams,
  'settings.update': z
    .object({
      theme: z.enum(['light', 'dark', 'system']),
      threads: z.number().int().min(0).max(256),
      memoryLimitMb: z.number().int().min(0).max(1_048_576),
      backend: z.enum(['cpu', 'webgpu']),
      backendChosen: z.boolean(),
    })
    .partial()
    .strict(),
  'app.network': noParams,
  'gpu.status': noParams,
};
