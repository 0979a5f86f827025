// The renderer's WebSocket client (renderer/src/transport/ws-bridge.ts) against a scripted server: replies reach
// the right call, events reach listeners, a dropped connection rejects pending calls with a clear error, and the
// client reconnects by itself.
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

import type { RequestMessage, ServerMessage } from '../../contract/index.js';
// A test of a renderer module that uses only the browser's WebSocket API (here provided by the ws package).
import { WebSocketBridge } from '../../renderer/src/transport/ws-bridge.js';

let server: WebSocketServer | null = null;
let bridge: WebSocketBridge | null = null;

afterEach(async () => {
  bridge?.close();
  bridge = null;
  for (const c of server?.clients ?? []) c.terminate();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
  vi.unstubAllGlobals();
});

async function scriptedServer(onRequest: (req: RequestMessage, ws: WebSocket) => void): Promise<string> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server?.once('listening', () => resolve()));
  server.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => onRequest(JSON.parse(data.toString('utf8')) as RequestMessage, ws));
  });
  vi.stubGlobal('WebSocket', WebSocket);
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
}

function send(ws: WebSocket, msg: ServerMessage): void {
  ws.send(JSON.stringify(msg));
}

function waitForState(b: WebSocketBridge, state: 'open' | 'closed'): Promise<void> {
  return new Promise((resolve) => {
    if (b.connectionState() === state) return resolve();
    const off = b.onConnectionChange((s) => {
      if (s !== state) return;
      off();
      resolve();
    });
  });
}

describe('WebSocketBridge', () => {
  it('matches replies to calls by id and turns error replies into errors with the contract code', async () => {
    const url = await scriptedServer((req, ws) => {
      if (req.method === 'settings.get') {
        send(ws, {
          type: 'reply',
          id: req.id,
          ok: true,
          result: { theme: 'dark', threads: 0, memoryLimitMb: 0, backend: 'cpu' },
        });
      } else {
        send(ws, { type: 'reply', id: req.id, ok: false, error: { code: 'not_found', message: "no job with id 'x'" } });
      }
    });
    bridge = new WebSocketBridge(url);
    const [settings, missing] = await Promise.allSettled([
      bridge.call('settings.get', {}),
      bridge.call('jobs.get', { jobId: 'x' }),
    ]);
    expect(settings).toMatchObject({ status: 'fulfilled', value: { theme: 'dark' } });
    expect(missing).toMatchObject({ status: 'rejected', reason: { code: 'not_found', message: "no job with id 'x'" } });
  });

  it('delivers events to every listener until it unsubscribes', async () => {
    let client: WebSocket | null = null;
    const url = await scriptedServer(() => undefined);
    server?.on('connection', (ws) => (client = ws));
    bridge = new WebSocketBridge(url);
    await waitForState(bridge, 'open');
    const seen: string[] = [];
    const off = bridge.onEvent((e) => seen.push(e.type));
    const settings = { theme: 'light' as const, threads: 0, memoryLimitMb: 0, backend: 'cpu' as const };
    send(client as unknown as WebSocket, { type: 'event', event: { type: 'settings', settings } });
    await vi.waitFor(() => expect(seen).toEqual(['settings']));
    off();
    send(client as unknown as WebSocket, { type: 'event', event: { type: 'settings', settings } });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(['settings']);
  });

  it('rejects pending calls when the connection drops, then reconnects', async () => {
    let answer = false;
    const url = await scriptedServer((req, ws) => {
      if (answer) send(ws, { type: 'reply', id: req.id, ok: true, result: [] });
      else ws.terminate(); // the server goes away while the call is pending
    });
    bridge = new WebSocketBridge(url);
    await expect(bridge.call('jobs.list', {})).rejects.toMatchObject({
      code: 'disconnected',
      message: "the connection to SSM Studio closed before 'jobs.list' was answered",
    });
    expect(bridge.connectionState()).not.toBe('open');
    answer = true;
    await waitForState(bridge, 'open');
    await expect(bridge.call('jobs.list', {})).resolves.toEqual([]);
  });
});
