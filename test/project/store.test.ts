// The project store: schema, items, labels (whole item and video frame ranges), masks, splits, runs and metrics,
// undo/redo, and transactional writes (a failing write leaves nothing behind).
import { afterAll, describe, expect, it } from 'vitest';

import type { MediaInfo } from '../../contract/media.js';
import { AppError } from '../../main/ipc/app-error.js';
import { SCHEMA_VERSION } from '../../main/project/schema.js';
import { ProjectStore } from '../../main/project/store.js';
import { tempDir } from '../media/helpers.js';
import { mediaInfo } from './media-info.js';

const { dir, cleanup } = tempDir('ssm-store-');
afterAll(cleanup);

function info(kind: MediaInfo['kind'], frames = 1): MediaInfo {
  return mediaInfo({
    kind,
    format: kind === 'video' ? 'mp4' : 'png',
    frames,
    channels: 3,
    fps: kind === 'video' ? 25 : null,
  });
}

function open(name: string): ProjectStore {
  return ProjectStore.open(`${dir}/${name}`);
}

describe('ProjectStore', () => {
  it('creates the schema (WAL, foreign keys, versioned) and reopens it', () => {
    const s = open('schema');
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(s.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    s.close();
    const again = open('schema');
    expect(again.summary().schemaVersion).toBe(SCHEMA_VERSION);
    expect(again.integrity().ok).toBe(true);
    again.close();
  });

  it('items dedupe by hash; labels per item and per frame range; undo/redo', () => {
    const s = open('labels');
    const a = s.addItem({ path: '/a.png', hash: 'h-a', info: info('image') }, { className: 'cat', split: 'train' });
    expect(a.added).toBe(true);
    expect(s.addItem({ path: '/copy-of-a.png', hash: 'h-a', info: info('image') }).added).toBe(false);
    const v = s.addItem({ path: '/v.mp4', hash: 'h-v', info: info('video', 100) }).item;
    expect(s.item(a.item.id).split).toBe('train');
    expect(s.labelsOf(a.item.id)).toEqual([{ itemId: a.item.id, className: 'cat', frameStart: null, frameEnd: null }]);

    s.setLabel(a.item.id, 'dog');
    s.setLabel(v.id, 'walking', 0, 49);
    s.setLabel(v.id, 'running', 50, 99);
    expect(s.labelsOf(v.id).map((l) => [l.className, l.frameStart, l.frameEnd])).toEqual([
      ['walking', 0, 49],
      ['running', 50, 99],
    ]);
    expect(() => s.setLabel(v.id, 'x', 90, 100)).toThrow(/frame range 90–100 is outside the item's 100 frames/);

    expect(s.undo()).toBe(true); // running
    expect(s.labelsOf(v.id)).toHaveLength(1);
    expect(s.undo()).toBe(true); // walking
    expect(s.undo()).toBe(true); // dog → cat
    expect(s.labelsOf(a.item.id)[0]?.className).toBe('cat');
    expect(s.undo()).toBe(false); // import labels are not edits
    expect(s.redo()).toBe(true);
    expect(s.labelsOf(a.item.id)[0]?.className).toBe('dog');
    s.setLabel(a.item.id, null); // a new edit drops the redo stack
    expect(s.summary().canRedo).toBe(false);
    expect(s.labelsOf(a.item.id)).toEqual([]);
    expect(s.undo()).toBe(true);
    expect(s.labelsOf(a.item.id)[0]?.className).toBe('dog');
    expect(s.integrity().ok).toBe(true);
    s.close();
  });

  it('masks are stored compressed, lossless, per slice, and undoable', () => {
    const s = open('masks');
    const { item } = s.addItem({ path: '/m.png', hash: 'h-m', info: info('image') });
    const data = new Uint8Array(8 * 6).map((_, i) => (i % 7 === 0 ? 2 : i % 5 === 0 ? 1 : 0));
    s.setMask(item.id, 2, 0, { width: 8, height: 6, data });
    expect(s.mask(item.id, 2, 0)?.data).toEqual(data);
    const blob = s.db.prepare('SELECT length(data) FROM masks').pluck().get() as number;
    expect(blob).toBeLessThan(data.length); // deflate
    const changed = data.map((v) => (v === 2 ? 3 : v));
    s.setMask(item.id, 2, 0, { width: 8, height: 6, data: changed });
    s.undo();
    expect(s.mask(item.id, 2, 0)?.data).toEqual(data);
    s.undo();
    expect(s.mask(item.id, 2, 0)).toBeNull();
    expect(() => s.setMask(item.id, 2, 0, { width: 8, height: 6, data: new Uint8Array(3) })).toThrow(
      /mask has 3 bytes, expected 8×6/,
    );
    s.close();
  });

  it('models, training runs and metrics', () => {
    const s = open('runs');
    const m = s.addModel('s4nd-tiny', { params: 1000 });
    const r = s.startRun(m, { epochs: 2 });
    s.logMetrics(r, 1, { loss: 0.9, acc: 0.5 });
    s.logMetrics(r, 2, { loss: 0.5, acc: 0.8 });
    s.finishRun(r, 'done');
    expect(s.metrics(r)).toEqual([
      { step: 1, name: 'acc', value: 0.5 },
      { step: 1, name: 'loss', value: 0.9 },
      { step: 2, name: 'acc', value: 0.8 },
      { step: 2, name: 'loss', value: 0.5 },
    ]);
    s.close();
  });

  it('a batch with one bad edit writes nothing (one transaction)', () => {
    const s = open('atomic');
    const { item } = s.addItem({ path: '/a.png', hash: 'h1', info: info('image') });
    const before = s.summary();
    expect(() =>
      s.setLabels([
        { itemId: item.id, className: 'ok', frameStart: null, frameEnd: null },
        { itemId: 9999, className: 'bad', frameStart: null, frameEnd: null },
      ]),
    ).toThrow(AppError);
    expect(s.summary()).toEqual(before);
    s.close();
  });

  it('refuses a file that is not a project database', async () => {
    const { writeFileSync, mkdirSync } = await import('node:fs');
    mkdirSync(`${dir}/bad`, { recursive: true });
    writeFileSync(`${dir}/bad/project.ssm.sqlite`, 'this is not sqlite'.repeat(100));
    expect(() => open('bad')).toThrow(/is not a valid project database/);
  });
});
