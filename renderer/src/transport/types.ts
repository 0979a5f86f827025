import type { SsmBridge } from '../../../contract/index.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** The contract's SsmBridge plus the connection state the UI shows. */
export interface AppBridge extends SsmBridge {
  readonly transport: 'electron' | 'websocket';
  connectionState(): ConnectionState;
  /** Called on every change; 'open' after a reconnect means events may have been missed: re-sync. */
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
}
