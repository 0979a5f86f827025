// Settings, app info and the offline audit. The theme is applied to <html data-theme> from here.
import { defineStore } from 'pinia';
import { computed, ref, watchEffect } from 'vue';

import type { AppInfo, NetworkRecord, Settings } from '../../../contract/index.js';
import { useBridge } from '../composables/useBridge.js';
import { errorMessage } from '../transport/call-error.js';

export type LoadState = 'idle' | 'running' | 'error';

export const useSettingsStore = defineStore('settings', () => {
  const bridge = useBridge();
  const settings = ref<Settings | null>(null);
  const info = ref<AppInfo | null>(null);
  const network = ref<NetworkRecord[]>([]);
  const state = ref<LoadState>('idle');
  const error = ref<string | null>(null);

  const prefersDark = ref(window.matchMedia('(prefers-color-scheme: dark)').matches);
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', (e) => {
    prefersDark.value = e.matches;
  });
  const effectiveTheme = computed<'light' | 'dark'>(() => {
    const t = settings.value?.theme ?? 'system';
    if (t === 'system') return prefersDark.value ? 'dark' : 'light';
    return t;
  });
  watchEffect(() => {
    document.documentElement.dataset['theme'] = effectiveTheme.value;
  });

  bridge.onEvent((event) => {
    if (event.type === 'settings') settings.value = event.settings;
  });

  async function run(task: () => Promise<void>): Promise<void> {
    state.value = 'running';
    error.value = null;
    try {
      await task();
      state.value = 'idle';
    } catch (err) {
      error.value = errorMessage(err);
      state.value = 'error';
    }
  }

  const load = (): Promise<void> =>
    run(async () => {
      const [s, i] = await Promise.all([bridge.call('settings.get', {}), bridge.call('app.info', {})]);
      settings.value = s;
      info.value = i;
    });

  const loadNetwork = (): Promise<void> =>
    run(async () => {
      network.value = await bridge.call('app.network', {});
    });

  const update = (patch: Partial<Settings>): Promise<void> =>
    run(async () => {
      settings.value = await bridge.call('settings.update', patch);
      info.value = await bridge.call('app.info', {});
    });

  return { settings, info, network, state, error, effectiveTheme, load, loadNetwork, update };
});
