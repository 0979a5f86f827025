import type { SsmBridge } from '../../contract/index.js';

declare global {
  interface Window {
    /** Set by the Electron preload; absent in browser mode. */
    readonly ssm?: SsmBridge;
  }
}

export {};
