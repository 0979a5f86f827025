// Registered models (shipped and user models) and the Models view's actions: import, export, rename, delete.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';

import type { ModelCard, ModelTask, OnnxImportParams } from '../../../contract/index.js';
import { useBridge } from '../composables/useBridge.js';
import { errorMessage } from '../transport/call-error.js';

export type ModelsState = 'idle' | 'running' | 'error';

export const useModelsStore = defineStore('models', () => {
  const bridge = useBridge();
  const cards = ref<ModelCard[]>([]);
  const state = ref<ModelsState>('idle');
  const error = ref<string | null>(null);
  /** The last action's outcome for the user ("Exported to …"). */
  const notice = ref<string | null>(null);
  let loaded = false;

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

  async function refresh(): Promise<void> {
    const list = await run(() => bridge.call('models.list', {}));
    if (list !== undefined) {
      cards.value = list;
      loaded = true;
    }
  }

  function ensure(): Promise<void> {
    return loaded ? Promise.resolve() : refresh();
  }

  const byTask = (task: ModelTask): ModelCard[] => cards.value.filter((c) => c.task === task);
  const byId = computed(() => new Map(cards.value.map((c) => [c.id, c])));

  async function remove(id: string): Promise<boolean> {
    const r = await run(() => bridge.call('models.delete', { id }));
    if (r === undefined) return false;
    notice.value = `Deleted ${id}`;
    await refresh();
    return true;
  }

  async function rename(id: string, name: string): Promise<boolean> {
    const card = await run(() => bridge.call('results.renameModel', { id, name }));
    if (card === undefined) return false;
    notice.value = `Renamed ${id} to “${card.name}”`;
    await refresh();
    return true;
  }

  async function exportTo(id: string, out: string): Promise<boolean> {
    const r = await run(() => bridge.call('models.export', { id, out }));
    if (r === undefined) return false;
    notice.value = `Exported ${id} (card, checkpoint, ONNX) to ${r.out}`;
    return true;
  }

  /** An exported model folder, or a plain .onnx file with its input/output mapping (`onnx`). */
  async function importFrom(path: string, onnx?: OnnxImportParams): Promise<ModelCard | undefined> {
    const card = await run(() => bridge.call('models.import', onnx ? { path, onnx } : { path }));
    if (card === undefined) return undefined;
    notice.value = `Imported “${card.name}” as ${card.id}`;
    await refresh();
    return card;
  }

  return { cards, state, error, notice, refresh, ensure, byTask, byId, remove, rename, exportTo, importFrom };
});
