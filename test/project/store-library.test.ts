// The store's library queries (filters, paging, ids), bulk labels and per-slice review state, all undoable.
import { afterAll, describe, expect, it } from 'vitest';

import type { MediaInfo } from '../../contract/media.js';
import type { ItemFilter } from '../../contract/project.js';
import { ProjectStore } from '../../main/project/store.js';
import { tempDir } from '../media/helpers.js';
import { mediaInfo } from './media-info.js';

const { dir, cleanup } = tempDir('ssm-store-library-');
afterAll(cleanup);

const ALL: ItemFilter = { status: 'all', className: null, split: null, kind: 'all', search: '' };

function info(kind: MediaInfo['kind']): MediaInfo {
  return mediaInfo({
    kind,
    format: kind === 'video' ? 'mp4' : kind === 'image' ? 'png' : kind,
    frames: kind === 'video' ? 10 : 1,
    slices: kind === 'dicom' || kind === 'nifti' ? 4 : null,
  });
}

function fill(name: string): ProjectStore {
  const store = ProjectStore.open(`${dir}/${name}`);
  const kinds: MediaInfo['kind'][] = ['image', 'image', 'video', 'dicom', 'nifti', 'image'];
  kinds.forEach((kind, n) => {
    store.addItem(
      { path: `/data/${kind}-${n}_100%.x`, hash: `h${n}`, info: info(kind) },
      { className: n < 2 ? 'cat' : null, split: n === 0 ? 'train' : null },
    );
  });
  return store;
}

describe('ProjectStore library queries', () => {
  it('filters by label status, class, split, kind and name, and pages', () => {
    const store = fill('filters');
    expect(store.query(ALL).total).toBe(6);
    expect(store.query({ ...ALL, status: 'labeled' }).items.map((i) => i.id)).toEqual([1, 2]);
    expect(store.query({ ...ALL, status: 'labeled' }).items[0]?.className).toBe('cat');
    expect(store.query({ ...ALL, status: 'unlabeled' }).total).toBe(4);
    expect(store.query({ ...ALL, status: 'predicted' }).total).toBe(0);
    expect(store.query({ ...ALL, status: 'predicted' }, 0, 10, [2, 5, 99]).items.map((i) => i.id)).toEqual([2, 5]);
    expect(store.queryIds({ ...ALL, status: 'predicted', kind: 'image' }, [2, 5])).toEqual([2]);
    expect(store.query({ ...ALL, className: 'cat' }).total).toBe(2);
    expect(store.query({ ...ALL, split: 'train' }).items.map((i) => i.id)).toEqual([1]);
    expect(store.query({ ...ALL, split: 'none' }).total).toBe(5);
    expect(store.query({ ...ALL, kind: 'volume' }).items.map((i) => i.kind)).toEqual(['dicom', 'nifti']);
    expect(store.query({ ...ALL, kind: 'video' }).total).toBe(1);
    expect(store.query({ ...ALL, search: 'IMAGE-5' }).items.map((i) => i.id)).toEqual([6]);
    // LIKE wildcards in the search are literal characters.
    expect(store.query({ ...ALL, search: '_100%' }).total).toBe(6);
    expect(store.query({ ...ALL, search: 'x%y' }).total).toBe(0);
    const page = store.query(ALL, 2, 3);
    expect(page.total).toBe(6);
    expect(page.items.map((i) => i.id)).toEqual([3, 4, 5]);
    expect(store.queryIds({ ...ALL, kind: 'image' })).toEqual([1, 2, 6]);
    // A mask alone makes an item labelled.
    store.setMask(6, 2, 0, { width: 2, height: 1, data: new Uint8Array([0, 1]) });
    expect(store.queryIds({ ...ALL, status: 'labeled' })).toEqual([1, 2, 6]);
    store.close();
  });

  it('bulk labels are one undoable edit', () => {
    const store = fill('bulk');
    store.setLabels(
      [3, 4, 5].map((itemId) => ({ itemId, className: 'dog', frameStart: null, frameEnd: null })),
      'bulk-label',
    );
    expect(store.queryIds({ ...ALL, className: 'dog' })).toEqual([3, 4, 5]);
    store.undo();
    expect(store.queryIds({ ...ALL, className: 'dog' })).toEqual([]);
    store.redo();
    expect(store.queryIds({ ...ALL, className: 'dog' })).toEqual([3, 4, 5]);
    store.close();
  });

  it('keeps review state per slice, undoable, and across reopening', () => {
    const store = fill('review');
    store.setReview(4, 2, 1, 'accepted');
    store.setReview(4, 0, 3, 'needs_work');
    store.setReview(4, 2, 1, 'needs_work');
    expect(store.reviews(4)).toEqual([
      { itemId: 4, axis: 0, slice: 3, state: 'needs_work' },
      { itemId: 4, axis: 2, slice: 1, state: 'needs_work' },
    ]);
    expect(store.reviews(5)).toEqual([]);
    store.undo();
    expect(store.reviews(4).find((r) => r.axis === 2)?.state).toBe('accepted');
    store.undo();
    store.undo();
    expect(store.reviews(4)).toEqual([]);
    // Import labels are not history: after undoing the three reviews nothing is left to undo.
    expect(store.summary()).toMatchObject({ canUndo: false, canRedo: true });
    store.redo();
    store.close();
    const again = ProjectStore.open(`${dir}/review`);
    expect(again.reviews(4)).toEqual([{ itemId: 4, axis: 2, slice: 1, state: 'accepted' }]);
    expect(() => again.setReview(99, 2, 0, 'accepted')).toThrow(/no item with id 99/);
    again.close();
  });
});
