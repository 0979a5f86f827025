import type { JobsApi } from '../../../contract/index.js';
import type { Handler } from '../../ipc/router.js';
import type { JobHost } from '../../jobs/job-host.js';

export function jobHandlers(jobs: JobHost): { [M in keyof JobsApi]: Handler<M> } {
  return {
    'jobs.list': async () => jobs.list(),
    'jobs.get': async ({ jobId }) => jobs.get(jobId),
    'jobs.start': async (job) => ({ jobId: jobs.start(job).id }),
    'jobs.cancel': async ({ jobId }) => ({ cancelled: jobs.cancel(jobId) }),
  };
}
