// The Electron preload: exposes ONE fixed object, window.ssm (SsmBridge), over the two allow-listed channels.
// The renderer never sees ipcRenderer. Sandboxed preloads cannot load local modules, so this file is self-contained:
// its only run-time import is electron; the contract types vanish at compile time.
// A CommonJS file under verbatimModuleSyntax must spell its import this way.
import electron = require('electron');

import type { AppEvent, IpcChannel, Method, Params, ReplyMessage, Result, SsmBridge } from '../../../contract/index.js';

const CALL: IpcChannel = 'ssm:call';
const EVENT: IpcChannel = 'ssm:event';

let nextId = 1;

/** A failed call rejects with an Error carrying the contract's code (and path, when there is one). */
class SsmCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'SsmCallError';
  }
}

const bridge: SsmBridge = {
  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    const id = nextId++;
    const reply = (await electron.ipcRenderer.invoke(CALL, { type: 'request', id, method, params })) as ReplyMessage;
    if (reply.ok) return reply.result as Result<M>;
    // Errors cross contextBridge as plain objects; code and message are copied onto the Error the renderer sees.
    throw new SsmCallError(reply.error.code, reply.error.message, reply.error.path);
  },
  onEvent(listener: (event: AppEvent) => void): () => void {
    const wrapped = (_e: Electron.IpcRendererEvent, event: AppEvent): void => listener(event);
    electron.ipcRenderer.on(EVENT, wrapped);
    return () => {
      electron.ipcRenderer.removeListener(EVENT, wrapped);
    };
  },
};

electron.contextBridge.exposeInMainWorld('ssm', bridge);
