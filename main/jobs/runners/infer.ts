// The `infer` job: classifies or segments a project's items and saves the predictions as suggestions; on the
// app's Settings.backend unless the params name one.
import path from 'node:path';

import type { InferResult } from '../../../contract/index.js';
import { readBackendSetting } from '../../models/backend.js';
import { runInference } from '../../models/infer-service.js';
import { ModelManager } from '../../models/manager.js';
import type { JobRunner } from '../runner.js';

export const inferRunner: JobRunner<'infer'> = async (params, ctx): Promise<InferResult> =>
  runInference(
    { ...params, backend: params.backend ?? (await readBackendSetting(ctx.dataDir)) },
    {
      signal: ctx.signal,
      progress: (done, total, message) => ctx.progress(done, total, message),
      manager: new ModelManager({ userDir: path.join(ctx.dataDir, 'models'), cacheDir: ctx.cacheDir }),
    },
  );
