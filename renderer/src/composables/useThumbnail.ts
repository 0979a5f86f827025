// Library thumbnails: fetched through the bridge (media.frame / media.slice, so Electron and browser mode work the
// same), at most CONCURRENCY at a time, newest requests first (what is on screen now), cached by item hash.
import type { LibraryItem } from '../../../contract/index.js';
import type { AppBridge } from '../transport/bridge.js';

const CONCURRENCY = 3;
const CACHE_MAX = 600;
export const THUMB_PX = 128;

const cache = new Map<string, string | null>();
const waiting = new Map<string, Array<(url: string | null) => void>>();
const queue: Array<{ key: string; item: LibraryItem }> = [];
let active = 0;

export function pngUrl(base64: string): string {
  return `data:image/png;base64,${base64}`;
}

async function fetchThumb(bridge: AppBridge, item: LibraryItem): Promise<string | null> {
  try {
    if (item.kind === 'dicom' || item.kind === 'nifti') {
      const mid = Math.floor((item.slices ?? 1) / 2);
      return pngUrl(
        (await bridge.call('media.slice', { path: item.path, axis: 2, index: mid, window: null })).pngBase64,
      );
    }
    return pngUrl((await bridge.call('media.frame', { path: item.path, frame: 0, maxSize: THUMB_PX })).pngBase64);
  } catch {
    return null; // the tile says the preview failed; the item itself still opens
  }
}

function pump(bridge: AppBridge): void {
  while (active < CONCURRENCY && queue.length > 0) {
    const next = queue.pop() as { key: string; item: LibraryItem };
    if (!waiting.has(next.key)) continue;
    active += 1;
    void fetchThumb(bridge, next.item).then((url) => {
      active -= 1;
      cache.set(next.key, url);
      if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
      for (const cb of waiting.get(next.key) ?? []) cb(url);
      waiting.delete(next.key);
      pump(bridge);
    });
  }
}

/** The cached thumbnail (a data: URL, null when it failed) or undefined while it is not known yet. */
export function cachedThumb(item: LibraryItem): string | null | undefined {
  return cache.get(item.hash);
}

/** Asks for a thumbnail; `done` runs once with it. Returns a cancel function (the tile scrolled away). */
export function requestThumb(bridge: AppBridge, item: LibraryItem, done: (url: string | null) => void): () => void {
  const key = item.hash;
  const hit = cache.get(key);
  if (hit !== undefined) {
    done(hit);
    return () => undefined;
  }
  const list = waiting.get(key) ?? [];
  list.push(done);
  if (!waiting.has(key)) {
    waiting.set(key, list);
    queue.push({ key, item });
  }
  pump(bridge);
  return () => {
    const l = waiting.get(key);
    if (!l) return;
    const i = l.indexOf(done);
    if (i >= 0) l.splice(i, 1);
    if (l.length === 0) waiting.delete(key);
  };
}
