// Browser mode: the contract's messages over one WebSocket. Reconnects with backoff; a call pending when the
// connection drops is rejected (the server may or may not have run it: callers re-read state, never retry blindly).
import type { AppEvent, Method, Params, Result, ServerMessage } from '../../../contract/index.js';
import type { AppBridge, ConnectionState } from './types.js';
import { CallError } from './call-error.js';

interface Pending {
  method: Method;
  resolve: (result: unknown) => void;
  reject: (err: Error) => void;
}

const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;
/** How long a call made while (re)connecting waits for the connection before failing. */
const CONNECT_WAIT_MS = 10_000;

export class WebSocketBridge implements AppBridge {
  readonly transport = 'websocket' as const;
  private ws: WebSocket | null = null;
  private state: ConnectionState = 'connecting';
  private nextId = 1;
  private attempt = 0;
  private stopped = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(event: AppEvent) => void>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();

  constructor(private readonly url: string) {
    this.connect();
  }

  /** Closes the connection for good (no reconnect); pending calls are rejected. */
  close(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.ws?.close();
  }

  connectionState(): ConnectionState {
    return this.state;
  }

  onConnectionChange(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onEvent(listener: (event: AppEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  async call<M extends Method>(method: M, params: Params<M>): Promise<Result<M>> {
    if (this.state !== 'open') await this.waitForOpen(method);
    const ws = this.ws;
    if (ws === null || ws.readyState !== WebSocket.OPEN) {
      throw new CallError({ code: 'disconnected', message: `not connected to SSM Studio; '${method}' was not sent` });
    }
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      this.pending.set(id, { method, resolve: (r) => resolve(r as Result<M>), reject });
      ws.send(JSON.stringify({ type: 'request', id, method, params }));
    });
  }

  private waitForOpen(method: Method): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new CallError({ code: 'disconnected', message: `could not reach SSM Studio to send '${method}'` }));
      }, CONNECT_WAIT_MS);
      const off = this.onConnectionChange((s) => {
        if (s !== 'open') return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of this.stateListeners) l(state);
  }

  private connect(): void {
    this.setState('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setState('open');
    };
    ws.onmessage = (e: MessageEvent) => {
      if (typeof e.data !== 'string') return;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(e.data) as ServerMessage;
      } catch {
        console.error('SSM Studio: ignored a message from the server that is not JSON');
        return;
      }
      this.receive(msg);
    };
    ws.onclose = () => {
      this.ws = null;
      this.failPending();
      this.setState('closed');
      if (this.stopped) return;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt) * (0.75 + Math.random() * 0.5);
      this.attempt += 1;
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
  }

  private receive(msg: ServerMessage): void {
    if (msg.type === 'event') {
      for (const l of this.eventListeners) l(msg.event);
      return;
    }
    if (msg.id === null) {
      // The server could not tell which request this answers (e.g. it was not valid JSON). We never send those.
      console.error('SSM Studio: error reply without a request id:', msg.ok ? msg : msg.error.message);
      return;
    }
    const p = this.pending.get(msg.id);
    if (p === undefined) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new CallError(msg.error));
  }

  private failPending(): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(
        new CallError({
          code: 'disconnected',
          message: `the connection to SSM Studio closed before '${p.method}' was answered`,
        }),
      );
    }
  }
}
