// JobHost with the real thumbnails job: one forked process per job (dist/main/jobs/job-process.js, so
// `node scripts/build.mjs main` must have run), progress with ETA, cancel while queued and while running,
// and a job process that dies (SIGKILL) marks its job failed without hurting the host.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { JobInfo, JobState } from '../../contract/index.js';
import { JobHost } from '../../main/jobs/job-host.js';

let tmp: string;
let small: string; // 30 images: finishes quickly
let large: string; // 400 images: runs long enough to cancel or kill mid-way
const hosts: JobHost[] = [];

async function makeImages(folder: string, count: number, width: number, height: number): Promise<void> {
  await mkdir(folder, { recursive: true });
  // One encoded image, copied: generating 400 distinct images would dominate the test's time.
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i += 1) noise[i] = (i * 2654435761) >>> 24; // deterministic texture
  const jpeg = await sharp(noise, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      writeFile(path.join(folder, `img-${String(i).padStart(4, '0')}.jpg`), jpeg),
    ),
  );
}

function newHost(opts: Partial<ConstructorParameters<typeof JobHost>[0]> = {}): { host: JobHost; seen: JobInfo[] } {
  const host = new JobHost({ cacheDir: path.join(tmp, 'cache'), dataDir: path.join(tmp, 'data'), ...opts });
  const seen: JobInfo[] = [];
  host.on('job', (j) => seen.push(j));
  hosts.push(host);
  return { host, seen };
}

function until(host: JobHost, jobId: string, pred: (j: JobInfo) => boolean, timeoutMs = 60_000): Promise<JobInfo> {
  return new Promise((resolve, reject) => {
    const now = host.get(jobId);
    if (pred(now)) return resolve(now);
    const timer = setTimeout(() => {
      host.off('job', on);
      reject(new Error(`timed out; job is ${JSON.stringify(host.get(jobId))}`));
    }, timeoutMs);
    const on = (j: JobInfo): void => {
      if (j.id !== jobId || !pred(j)) return;
      clearTimeout(timer);
      host.off('job', on);
      resolve(j);
    };
    host.on('job', on);
  });
}

const finished = (j: JobInfo): boolean => (['done', 'failed', 'cancelled'] as JobState[]).includes(j.state);

/** Pids of this process's children running job-process.js (Linux /proc). */
function jobProcessPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (ppid === process.pid && cmd.includes('job-process.js')) pids.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ssm-jobs-test-'));
  small = path.join(tmp, 'small');
  large = path.join(tmp, 'large');
  await makeImages(small, 30, 320, 240);
  await makeImages(large, 400, 1024, 768);
});

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.dispose()));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('JobHost', () => {
  it('runs a thumbnails job to completion with progress and an ETA', async () => {
    const { host, seen } = newHost();
    const { id } = host.start({ kind: 'thumbnails', params: { folder: large, size: 96 } });
    expect(host.get(id).state).toMatch(/queued|running/);
    const done = await until(host, id, finished);
    expect(done.state).toBe('done');
    expect(done.error).toBeNull();
    expect(done.progress).toMatchObject({ done: 400, total: 400, etaSeconds: 0 });
    expect(done.result).toMatchObject({ images: 400, written: 400, failed: [] });
    expect(done.startedAt).not.toBeNull();
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.startedAt ?? Infinity);

    const running = seen.filter((j) => j.id === id && j.state === 'running' && j.progress.total === 400);
    expect(running.length).toBeGreaterThan(2);
    const mid = running.filter((j) => j.progress.done > 0 && j.progress.done < 400);
    expect(mid.length).toBeGreaterThan(0);
    for (const j of mid) {
      expect(j.progress.etaSeconds).not.toBeNull();
      expect(j.progress.etaSeconds).toBeGreaterThanOrEqual(0);
    }
    // One webp per image: the copies share their content, but the cache key includes the path.
    const written = await readdir(path.join(tmp, 'cache', 'thumbnails'));
    expect(written.filter((f) => f.endsWith('.webp')).length).toBeGreaterThanOrEqual(400);
  });

  it('cancels a queued job before it starts and a running job mid-way', async () => {
    const { host } = newHost({ maxConcurrent: 1 });
    const first = host.start({ kind: 'thumbnails', params: { folder: large, size: 128 } });
    const second = host.start({ kind: 'thumbnails', params: { folder: small, size: 128 } });
    expect(host.get(second.id).state).toBe('queued');
    expect(host.cancel(second.id)).toBe(true);
    expect(host.get(second.id)).toMatchObject({
      state: 'cancelled',
      error: { code: 'cancelled', message: 'cancelled before it started' },
    });

    await until(host, first.id, (j) => j.state === 'running' && j.progress.done > 0);
    expect(host.cancel(first.id)).toBe(true);
    const stopped = await until(host, first.id, finished, 15_000);
    expect(stopped.state).toBe('cancelled');
    expect(stopped.progress.done).toBeLessThan(400);
    expect(host.cancel(first.id)).toBe(false); // already finished: nothing to cancel

    // The host is free again: the next job runs.
    const third = host.start({ kind: 'thumbnails', params: { folder: small, size: 64 } });
    expect((await until(host, third.id, finished)).state).toBe('done');
  });

  it('marks a job failed with a clear message when its process is killed, and keeps working', async () => {
    const { host } = newHost();
    const victim = host.start({ kind: 'thumbnails', params: { folder: large, size: 160 } });
    await until(host, victim.id, (j) => j.state === 'running' && j.progress.done > 0);
    const pids = jobProcessPids();
    expect(pids.length).toBe(1);
    process.kill(pids[0] as number, 'SIGKILL');
    const failed = await until(host, victim.id, finished, 15_000);
    expect(failed.state).toBe('failed');
    expect(failed.error).toEqual({ code: 'internal', message: 'job process exited unexpectedly (SIGKILL)' });

    const next = host.start({ kind: 'thumbnails', params: { folder: small, size: 64 } });
    expect((await until(host, next.id, finished)).state).toBe('done');
  });

  it('fails a job on a missing folder with the path in the message', async () => {
    const { host } = newHost();
    const missing = path.join(tmp, 'does-not-exist');
    const job = host.start({ kind: 'thumbnails', params: { folder: missing, size: 64 } });
    const end = await until(host, job.id, finished);
    expect(end.state).toBe('failed');
    expect(end.error).toMatchObject({ code: 'not_found', message: `folder not found: ${missing}` });
  });

  it('rejects an unknown job id precisely', () => {
    const { host } = newHost();
    expect(() => host.get('nope')).toThrow("no job with id 'nope'");
  });
});
