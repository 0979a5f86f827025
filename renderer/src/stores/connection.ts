import { defineStore } from 'pinia';
import { ref } from 'vue';

import { useBridge } from '../composables/useBridge.js';
import type { ConnectionState } from '../transport/bridge.js';

/** Whether the renderer can reach the app's services (always 'open' in Electron). */
export const useConnectionStore = defineStore('connection', () => {
  const bridge = useBridge();
  const state = ref<ConnectionState>(bridge.connectionState());
  const everOpened = ref(state.value === 'open');
  bridge.onConnectionChange((s) => {
    state.value = s;
    if (s === 'open') everOpened.value = true;
  });
  return { state, everOpened, transport: bridge.transport };
});
