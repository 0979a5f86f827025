// Shared by the server tests: raw HTTP requests (no URL normalisation, so traversal attempts reach the server as
// written) and WebSocket clients that collect what the server sends.
import { request } from 'node:http';

import WebSocket from 'ws';

import type { EventMessage, ReplyMessage, ServerMessage } from '../../contract/index.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function rawGet(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, headers: { Host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket; resolves with the client, or rejects with the HTTP status the upgrade was refused with. */
export function openSocket(url: string, headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`refused with HTTP ${res.statusCode ?? 0}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** Collects every message of one client, and waits for the one that matches. */
export class SocketLog {
  readonly messages: ServerMessage[] = [];
  private waiters: { match: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as ServerMessage;
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
  }

  waitFor(match: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<ServerMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Sends a raw frame and waits for the reply with that id (or id null when `id` is null). */
  async send(frame: string | Buffer, id: number | null): Promise<ReplyMessage> {
    const before = this.messages.length;
    this.ws.send(frame);
    const reply = await this.waitFor((m) => m.type === 'reply' && m.id === id && this.messages.indexOf(m) >= before);
    return reply as ReplyMessage;
  }

  events(): EventMessage[] {
    return this.messages.filter((m): m is EventMessage => m.type === 'event');
  }
}
