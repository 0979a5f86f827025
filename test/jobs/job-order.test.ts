// The renderer's rule for late or out-of-order job events (renderer/src/jobs/job-order.ts).
import { describe, expect, it } from 'vitest';

import type { JobInfo, JobState } from '../../contract/index.js';
// A test of a pure renderer module (it imports only contract types), not Node-side code depending on the renderer.
import { isNewer } from '../../renderer/src/jobs/job-order.js';

function job(state: JobState, done: number, total = 10, message = ''): JobInfo {
  return {
    id: 'j1',
    kind: 'thumbnails',
    title: 'Thumbnails for /x',
    state,
    progress: { done, total, message, etaSeconds: null },
    createdAt: 1,
    startedAt: state === 'queued' ? null : 2,
    finishedAt: ['done', 'failed', 'cancelled'].includes(state) ? 3 : null,
    error: null,
    result: null,
  };
}

describe('isNewer', () => {
  it('takes the first copy of a job', () => {
    expect(isNewer(undefined, job('running', 3))).toBe(true);
  });

  it('moves forward through the stages, never back', () => {
    expect(isNewer(job('queued', 0), job('running', 0))).toBe(true);
    expect(isNewer(job('running', 4), job('done', 10))).toBe(true);
    expect(isNewer(job('running', 4), job('cancelled', 4))).toBe(true);
    expect(isNewer(job('running', 4), job('queued', 0))).toBe(false);
  });

  it('ignores anything after a job finished', () => {
    expect(isNewer(job('done', 10), job('running', 9))).toBe(false);
    expect(isNewer(job('cancelled', 4), job('running', 5))).toBe(false);
    expect(isNewer(job('failed', 4), job('done', 10))).toBe(false);
  });

  it('never lets progress go backwards (a stale jobs.list reply after newer events)', () => {
    expect(isNewer(job('running', 7), job('running', 5))).toBe(false);
    expect(isNewer(job('running', 5), job('running', 7))).toBe(true);
    // Same count, new message (e.g. "cancelling…"): accepted.
    expect(isNewer(job('running', 5), job('running', 5, 10, 'cancelling…'))).toBe(true);
  });
});
