import { inject } from 'vue';

import { BRIDGE, type AppBridge } from '../transport/bridge.js';

/** The transport provided by main.ts. Works in components and in setup stores (Pinia runs them in app context). */
export function useBridge(): AppBridge {
  const bridge = inject(BRIDGE);
  if (bridge === undefined) throw new Error('SSM bridge not provided: create the app with app.provide(BRIDGE, …)');
  return bridge;
}
