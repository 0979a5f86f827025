// The renderer's transport: the Electron preload's window.ssm when present, else a WebSocket to the browser-mode
// server. Both implement the contract's SsmBridge; the app adds only a connection state on top.
import type { InjectionKey } from 'vue';

import type { SsmBridge } from '../../../contract/index.js';
import type { AppBridge } from './types.js';
import { WebSocketBridge } from './ws-bridge.js';

export type { AppBridge, ConnectionState } from './types.js';

export const BRIDGE: InjectionKey<AppBridge> = Symbol('ssm-bridge');

function electronBridge(ssm: SsmBridge): AppBridge {
  return {
    transport: 'electron',
    call: (method, params) => ssm.call(method, params),
    onEvent: (listener) => ssm.onEvent(listener),
    connectionState: () => 'open',
    onConnectionChange: () => () => undefined,
  };
}

export function createBridge(): AppBridge {
  if (window.ssm !== undefined) return electronBridge(window.ssm);
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WebSocketBridge(`${scheme}//${location.host}/ws`);
}
