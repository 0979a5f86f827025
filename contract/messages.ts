// The wire protocol shared by both transports (Electron IPC and the browser-mode WebSocket).
// Every request names a method of Api; main validates params against the contract before any handler runs.
import type { AppApi, Settings } from './app.js';
import type { ErrorInfo } from './errors.js';
import type { JobInfo, JobsApi } from './jobs.js';
import type { MediaApi } from './media.js';
import type { ModelsApi } from './models.js';
import type { ProjectApi } from './project.js';
import type { ResultsApi } from './results.js';

/** All methods. Each domain declares its own map; this interface joins them. */
export interface Api extends AppApi, JobsApi, MediaApi, ModelsApi, ProjectApi, ResultsApi {}

export type Method = keyof Api;
export type Params<M extends Method> = Api[M]['params'];
export type Result<M extends Method> = Api[M]['result'];

export interface RequestMessage<M extends Method = Method> {
  type: 'request';
  id: number;
  method: M;
  params: Params<M>;
}

export type ReplyMessage =
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number | null; ok: false; error: ErrorInfo };

export type AppEvent = { type: 'job'; job: JobInfo } | { type: 'settings'; settings: Settings };

export interface EventMessage {
  type: 'event';
  event: AppEvent;
}

export type ServerMessage = ReplyMessage | EventMessage;

/** What the renderer sees: the preload (Electron) or the WebSocket client (browser mode) implements it. */
export interface SsmBridge {
  call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>>;
  onEvent(listener: (event: AppEvent) => void): () => void;
}

/** Names used by the Electron transport. */
export type IpcChannel = 'ssm:call' | 'ssm:event';
