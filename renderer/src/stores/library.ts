// What the library shows: the filter, the matching items fetched a page at a time (only pages near the visible rows),
// and the selection (item ids). Pages are dropped whenever the filter or the project changes.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';

import type { ItemFilter, LibraryItem } from '../../../contract/index.js';
import { useBridge } from '../composables/useBridge.js';
import { errorMessage } from '../transport/call-error.js';
import { ALL_ITEMS, useProjectStore } from './project.js';

export const PAGE_SIZE = 200;

export const useLibraryStore = defineStore('library', () => {
  const bridge = useBridge();
  const project = useProjectStore();
  const filter = ref<ItemFilter>({ ...ALL_ITEMS });
  const total = ref(0);
  /** Page index → items; a shallow map replaced on every change. */
  const pages = shallowRef<Map<number, LibraryItem[]>>(new Map());
  const state = ref<'idle' | 'running' | 'error'>('idle');
  const error = ref<string | null>(null);
  const selected = ref<Set<number>>(new Set());
  /** Index of the last plainly clicked item: the start of a shift-click range. */
  const anchor = ref<number | null>(null);
  let generation = 0;
  const loading = new Set<number>();

  const selectedCount = computed(() => selected.value.size);

  /** Refetches: from scratch for a new filter or project; after an edit, the loaded pages in place (no flash). */
  function reset(keep = false): void {
    generation += 1;
    loading.clear();
    const loaded = keep ? [...pages.value.keys()] : [];
    if (!keep) pages.value = new Map();
    for (const p of new Set([0, ...loaded])) void loadPage(p);
  }

  async function loadPage(page: number): Promise<void> {
    const dir = project.dir;
    if (dir === null || loading.has(page)) return;
    const gen = generation;
    loading.add(page);
    state.value = 'running';
    try {
      const r = await bridge.call('project.query', {
        dir,
        filter: { ...filter.value },
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
      });
      if (gen !== generation) return; // a stale answer for an older filter
      total.value = r.total;
      const next = new Map(pages.value);
      next.set(page, r.items);
      pages.value = next;
      state.value = 'idle';
    } catch (err) {
      if (gen !== generation) return;
      error.value = errorMessage(err);
      state.value = 'error';
    } finally {
      if (gen === generation) loading.delete(page);
    }
  }

  /** Makes sure the items with indices first..last are loaded (or loading). */
  function ensure(first: number, last: number): void {
    for (let p = Math.floor(first / PAGE_SIZE); p <= Math.floor(last / PAGE_SIZE); p += 1) {
      if (!pages.value.has(p)) void loadPage(p);
    }
  }

  function at(index: number): LibraryItem | undefined {
    return pages.value.get(Math.floor(index / PAGE_SIZE))?.[index % PAGE_SIZE];
  }

  async function idsInRange(from: number, to: number): Promise<number[]> {
    const dir = project.dir;
    if (dir === null) return [];
    const [lo, hi] = from <= to ? [from, to] : [to, from];
    const r = await bridge.call('project.query', { dir, filter: { ...filter.value }, offset: lo, limit: hi - lo + 1 });
    return r.items.map((i) => i.id);
  }

  /** Click: select only this; ctrl/cmd: toggle it; shift: select the range from the anchor. */
  async function click(index: number, mods: { shift: boolean; toggle: boolean }): Promise<void> {
    const item = at(index);
    if (item === undefined) return;
    if (mods.shift && anchor.value !== null) {
      const ids = await idsInRange(anchor.value, index);
      const next = mods.toggle ? new Set(selected.value) : new Set<number>();
      for (const id of ids) next.add(id);
      selected.value = next;
      return;
    }
    if (mods.toggle) {
      const next = new Set(selected.value);
      if (next.has(item.id)) next.delete(item.id);
      else next.add(item.id);
      selected.value = next;
    } else {
      selected.value = new Set([item.id]);
    }
    anchor.value = index;
  }

  async function selectAll(): Promise<void> {
    const dir = project.dir;
    if (dir === null) return;
    try {
      selected.value = new Set(await bridge.call('project.itemIds', { dir, filter: { ...filter.value } }));
    } catch (err) {
      error.value = errorMessage(err);
      state.value = 'error';
    }
  }

  function clearSelection(): void {
    selected.value = new Set();
    anchor.value = null;
  }

  watch(
    filter,
    () => {
      clearSelection();
      reset();
    },
    { deep: true },
  );
  watch(
    () => [project.dir, project.revision] as const,
    ([dir], [oldDir]) => {
      if (dir !== oldDir) {
        // Another project: its classes differ, so start from every item (a changed filter reloads by itself).
        const fresh = JSON.stringify(filter.value) === JSON.stringify(ALL_ITEMS);
        filter.value = { ...ALL_ITEMS };
        clearSelection();
        if (!fresh) return;
      }
      reset(dir === oldDir);
    },
  );

  return {
    filter,
    total,
    pages,
    state,
    error,
    selected,
    selectedCount,
    anchor,
    reset,
    ensure,
    at,
    click,
    selectAll,
    clearSelection,
  };
});
