// The open project: its folder (main keeps the recently opened ones, so the last one reopens after a restart), its
// summary, and every labeling edit.
// Each edit is one store transaction in main (autosaved); `revision` counts edits, undos and imports so views refetch.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';

import type { ItemFilter, MaskData, ProjectSummary, ReviewState } from '../../../contract/index.js';
import { useBridge } from '../composables/useBridge.js';
import { errorMessage } from '../transport/call-error.js';
import { useJobsStore } from './jobs.js';

export type ProjectState = 'idle' | 'running' | 'error';

export const ALL_ITEMS: ItemFilter = { status: 'all', className: null, split: null, kind: 'all', search: '' };

export const useProjectStore = defineStore('project', () => {
  const bridge = useBridge();
  const jobs = useJobsStore();
  const dir = ref<string | null>(null);
  /** Project folders opened before, most recent first. */
  const recent = ref<string[]>([]);
  const summary = ref<ProjectSummary | null>(null);
  const state = ref<ProjectState>('idle');
  const error = ref<string | null>(null);
  /** Bumped after every change to items, labels, masks or reviews (edit, undo, redo, finished import). */
  const revision = ref(0);
  /** The import job started for this project, if any (its progress shows in the job tray). */
  const importJobId = ref<string | null>(null);

  /** Class names in key order: keys 1–9 then 0 pick the first ten. */
  const classes = computed(() => summary.value?.classes ?? []);
  /** Each class's stored mask value (stable: a rename keeps it, a value is never given to another class). */
  const maskValues = computed(() => new Map((summary.value?.maskClasses ?? []).map((c) => [c.name, c.value])));
  /** The mask value of a class; null when it has none. Chips and mask overlays take their colour from it. */
  const maskValueOf = (name: string | null): number | null =>
    name === null ? null : (maskValues.value.get(name) ?? null);

  async function run<T>(task: () => Promise<T>): Promise<T | undefined> {
    state.value = 'running';
    error.value = null;
    try {
      const r = await task();
      state.value = 'idle';
      return r;
    } catch (err) {
      error.value = errorMessage(err);
      state.value = 'error';
      return undefined;
    }
  }

  function applySummary(s: ProjectSummary): void {
    summary.value = s;
    revision.value += 1;
  }

  async function open(folder: string): Promise<boolean> {
    const s = await run(() => bridge.call('project.open', { dir: folder }));
    if (s === undefined) return false;
    if (dir.value !== s.dir) importJobId.value = null; // another project's import is not this one's
    dir.value = s.dir;
    recent.value = [s.dir, ...recent.value.filter((d) => d !== s.dir)];
    applySummary(s);
    return true;
  }

  /** Reopens the most recently opened project (after a reload or restart), once per app start. */
  let restoring: Promise<void> | null = null;
  function restore(): Promise<void> {
    restoring ??= (async () => {
      try {
        recent.value = await bridge.call('project.recent', {});
      } catch {
        restoring = null; // not connected yet: the next view that asks tries again
        return;
      }
      const last = recent.value[0];
      if (last !== undefined && summary.value === null && dir.value === null) await open(last);
    })();
    return restoring;
  }

  function close(): void {
    dir.value = null;
    summary.value = null;
    error.value = null;
    state.value = 'idle';
  }

  async function importPaths(paths: string[]): Promise<string | undefined> {
    const project = dir.value;
    if (project === null) return undefined;
    return run(async () => {
      const id = await jobs.start({ kind: 'import', params: { project, paths } });
      importJobId.value = id;
      return id;
    });
  }

  /** Creates the demo project in the data folder and imports the shipped samples into it as a job. */
  async function openDemo(): Promise<void> {
    const demo = await run(() => bridge.call('project.demo', {}));
    if (demo === undefined) return;
    if (!(await open(demo.dir))) return;
    if ((summary.value?.items ?? 0) === 0) await importPaths(demo.paths);
  }

  // A finished import changes the items: refresh.
  watch(
    () => (importJobId.value === null ? null : jobs.byId[importJobId.value]?.state),
    (s) => {
      if (s === 'done' || s === 'failed' || s === 'cancelled') void refresh();
    },
  );

  async function refresh(): Promise<void> {
    const d = dir.value;
    if (d === null) return;
    const s = await run(() => bridge.call('project.open', { dir: d }));
    if (s !== undefined) applySummary(s);
  }

  async function edit(task: (d: string) => Promise<ProjectSummary>): Promise<boolean> {
    const d = dir.value;
    if (d === null) return false;
    const s = await run(() => task(d));
    if (s === undefined) return false;
    applySummary(s);
    return true;
  }

  const setLabels = (itemIds: number[], className: string | null): Promise<boolean> =>
    edit((d) => bridge.call('project.setLabels', { dir: d, itemIds, className }));
  /** A class on an inclusive frame range of a video (null: removes that range's label). */
  const setFrameLabel = (
    itemId: number,
    className: string | null,
    frameStart: number,
    frameEnd: number,
  ): Promise<boolean> =>
    edit((d) => bridge.call('project.setLabel', { dir: d, itemId, className, frameStart, frameEnd }));
  const setMask = (itemId: number, axis: number, slice: number, mask: MaskData | null): Promise<boolean> =>
    edit((d) => bridge.call('project.setMask', { dir: d, itemId, axis, slice, mask }));
  const setReview = (itemId: number, axis: number, slice: number, s: ReviewState | null): Promise<boolean> =>
    edit((d) => bridge.call('project.setReview', { dir: d, itemId, axis, slice, state: s }));
  const addClass = (name: string): Promise<boolean> => edit((d) => bridge.call('project.addClass', { dir: d, name }));
  const renameClass = (from: string, to: string): Promise<boolean> =>
    edit((d) => bridge.call('project.renameClass', { dir: d, from, to }));
  const deleteClass = (name: string): Promise<boolean> =>
    edit((d) => bridge.call('project.deleteClass', { dir: d, name }));
  const undo = (): Promise<boolean> => edit((d) => bridge.call('project.undo', { dir: d }));
  const redo = (): Promise<boolean> => edit((d) => bridge.call('project.redo', { dir: d }));

  return {
    dir,
    recent,
    summary,
    state,
    error,
    revision,
    importJobId,
    classes,
    maskValueOf,
    open,
    restore,
    close,
    openDemo,
    importPaths,
    refresh,
    setLabels,
    setFrameLabel,
    setMask,
    setReview,
    addClass,
    renameClass,
    deleteClass,
    undo,
    redo,
  };
});
