// Which copy of a job is newer. Pure, so it is tested in Node (test/jobs/job-order.test.ts).
import type { JobInfo, JobState } from '../../../contract/index.js';

const STAGE: Record<JobState, number> = { queued: 0, running: 1, done: 2, failed: 2, cancelled: 2 };

export function isFinished(state: JobState): boolean {
  return STAGE[state] === 2;
}

/**
 * Whether `incoming` may replace `current`. Events can arrive late or out of order (a jobs.list reply racing live
 * events, a reconnect): a job never goes back a stage, a finished job never changes, and progress never goes
 * backwards.
 */
export function isNewer(current: JobInfo | undefined, incoming: JobInfo): boolean {
  if (current === undefined) return true;
  if (isFinished(current.state)) return false;
  const a = STAGE[current.state];
  const b = STAGE[incoming.state];
  if (a !== b) return b > a;
  return incoming.progress.done >= current.progress.done;
}
