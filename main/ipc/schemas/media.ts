import { z } from 'zod';

import type { MediaApi } from '../../../contract/media.js';
import { absolutePath } from './common.js';
import type { ParamSchemas } from './types.js';

export const mediaSchemas: ParamSchemas<MediaApi> = {
  'media.info': z.object({ path: absolutePath }).strict(),
};
