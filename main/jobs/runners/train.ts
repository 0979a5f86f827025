// The `train` job: trains, resumes or fine-tunes a model on a project's data (main/models/train-service.ts).
// The compute backend is the app's Settings.backend unless the params name one.
// Cancelling pauses: the run is checkpointed and a later job with the same runId resumes it.
import path from 'node:path';

import type { TrainResult } from '../../../contract/index.js';
import { readBackendSetting } from '../../models/backend.js';
import { ModelManager } from '../../models/manager.js';
import { runTraining } from '../../models/train-service.js';
import type { JobRunner } from '../runner.js';

export const trainRunner: JobRunner<'train'> = async (params, ctx): Promise<TrainResult> =>
  runTraining(
    { ...params, backend: params.backend ?? (await readBackendSetting(ctx.dataDir)) },
    {
      signal: ctx.signal,
      progress: (done, total, message, metrics) => ctx.progress(done, total, message, metrics),
      manager: new ModelManager({ userDir: path.join(ctx.dataDir, 'models') }),
    },
  );
