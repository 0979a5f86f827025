// Crash safety: SIGKILL a process in the middle of a large import and of a labeling burst, reopen the project, and
// check that the database is consistent (integrity_check, foreign_key_check), that every item has its import label
// (item and label are one transaction), and that every acknowledged label edit is present.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../../main/app/paths.js';
import { importPaths } from '../../main/project/import.js';
import { DB_FILE, ProjectStore } from '../../main/project/store.js';
import { tempDir } from '../media/helpers.js';

const CLI = path.join(ROOT, 'bin/ssm-studio.js');
const DIST_STORE = path.join(ROOT, 'dist/main/project/store.js');
const { dir, cleanup } = tempDir('ssm-crash-');
afterAll(cleanup);

const FILES = 400;
const src = path.join(dir, 'src');

beforeAll(async () => {
  if (!existsSync(path.join(ROOT, 'dist/main/cli/index.js'))) {
    throw new Error('dist/ is missing: run `node scripts/build.mjs main` (npm test builds first)');
  }
  // An ImageFolder tree of distinct small PNGs (distinct bytes: no dedupe).
  for (let c = 0; c < 4; c += 1) mkdirSync(path.join(src, `class${c}`), { recursive: true });
  const jobs: Promise<unknown>[] = [];
  for (let i = 0; i < FILES; i += 1) {
    const raw = Buffer.alloc(24 * 24 * 3, i % 256);
    raw.writeUInt16LE(i, 0);
    jobs.push(
      sharp(raw, { raw: { width: 24, height: 24, channels: 3 } })
        .png()
        .toFile(path.join(src, `class${i % 4}`, `img${i}.png`)),
    );
  }
  await Promise.all(jobs);
});

function checkConsistent(projectDir: string): ProjectStore {
  const store = ProjectStore.open(projectDir);
  const report = store.integrity();
  expect(report.integrity).toEqual(['ok']);
  expect(report.foreignKeys).toEqual([]);
  return store;
}

function countItems(projectDir: string): number {
  const file = path.join(projectDir, DB_FILE);
  if (!existsSync(file)) return 0;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT count(*) FROM items').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0; // schema not created yet
  }
}

describe('SIGKILL mid-write', () => {
  it('during a large import: consistent, every item with its label, and the import can be resumed', async () => {
    const project = path.join(dir, 'import-project');
    const child = spawn(process.execPath, [CLI, 'import', '--project', project, src, '--in-process', '--json'], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    const t0 = Date.now();
    while (countItems(project) < 40) {
      if (Date.now() - t0 > 60_000) throw new Error('import did not start writing within 60 s');
      if (child.exitCode !== null)
        throw new Error(`import finished before it could be killed (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const store = checkConsistent(project);
    const items = store.summary().items;
    expect(items).toBeGreaterThanOrEqual(40);
    expect(items).toBeLessThan(FILES);
    // Item and its ImageFolder label were one transaction: no item without its label.
    const unlabelled = store.db
      .prepare('SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM labels)')
      .pluck()
      .get();
    expect(unlabelled).toBe(0);
    // Resume: the rest is imported, what was there is recognised by hash.
    const again = await importPaths(store, [src], { signal: new AbortController().signal, progress: () => undefined });
    expect(again.imported).toBe(FILES - items);
    expect(store.summary().items).toBe(FILES);
    expect(store.integrity().ok).toBe(true);
    store.close();
  });

  it('during a labeling burst: consistent, and every acknowledged edit is present; undo still works', async () => {
    const project = path.join(dir, 'label-project');
    const setup = ProjectStore.open(project);
    await importPaths(setup, [path.join(src, 'class0')], {
      signal: new AbortController().signal,
      progress: () => undefined,
    });
    const n = setup.summary().items;
    setup.close();

    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'test/project/label-burst-child.mjs'), DIST_STORE, project],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    let acked = -1;
    let buffer = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('burst did not reach 300 edits within 60 s')), 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const l of lines) acked = Math.max(acked, Number(l));
        if (acked >= 300) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    expect(await exited).toBe('SIGKILL');

    const store = checkConsistent(project);
    const items = store.items(0, 1_000_000);
    for (const [idx, item] of items.entries()) {
      // The last acknowledged edit of this item, and what the database holds (possibly a later, unacknowledged one).
      const lastAcked = acked - ((((acked - idx) % n) + n) % n);
      const label = store.labelsOf(item.id)[0]?.className ?? '';
      const j = Number(label.slice(1));
      expect(label.startsWith('c')).toBe(true);
      expect(j % n).toBe(idx);
      expect(j).toBeGreaterThanOrEqual(lastAcked);
    }
    const history = store.db.prepare('SELECT count(*) FROM history').pluck().get() as number;
    expect(history).toBeGreaterThanOrEqual(acked + 1 + Math.floor(acked / 5) + 1);
    expect(store.undo()).toBe(true);
    expect(store.integrity().ok).toBe(true);
    store.close();
  });
});
