// Browser mode: one HTTP server on 127.0.0.1 serving the built renderer, the thumbnail cache and a WebSocket (/ws)
// that carries exactly the contract's messages. Nothing is served without the per-launch token or its cookie.
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';

import { WebSocketServer, type RawData, type WebSocket } from 'ws';

import type { AppEvent, EventMessage, ReplyMessage } from '../../contract/index.js';
import type { AppServices } from '../app/services.js';
import { built } from '../app/paths.js';
import {
  contentSecurityPolicy,
  cookieName,
  hostAllowed,
  newSecret,
  readCookie,
  sameSecret,
  securityHeaders,
  sessionCookie,
} from './security.js';
import { mimeType, resolveInside, safeSegments } from './static-files.js';

/** Largest WebSocket message accepted; bigger frames close the connection (ws answers 1009). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Requests one connection may have in flight before further ones are refused. */
const MAX_IN_FLIGHT = 256;
/** A client that falls this far behind on events is dropped; it reconnects and re-syncs with jobs.list. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const HEARTBEAT_MS = 30_000;
const THUMB_ID = /^[0-9a-f]{40}$/;

export interface BrowserServerOptions {
  services: Pick<AppServices, 'router' | 'events' | 'network'>;
  cacheDir: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The built renderer; defaults to dist/renderer. */
  rendererDir?: string;
}

export interface BrowserServer {
  /** What the user opens: http://127.0.0.1:<port>/?token=<token> */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  /** Open WebSocket connections. */
  clientCount(): number;
  close(): Promise<void>;
}

export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const { services } = options;
  const rendererDir = options.rendererDir ?? built('renderer');
  const thumbDir = path.join(options.cacheDir, 'thumbnails');
  const token = newSecret();
  const session = newSecret();
  // Known once listening; every check below runs only after that.
  let port = 0;
  let origin = '';

  const server = createServer((req, res) => {
    handleHttp(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, 'internal error');
      else res.destroy();
      console.error('browser server: request failed:', err);
    });
  });
  server.on('connection', (socket: Socket) => {
    services.network.record('accept', socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
  const alive = new WeakSet<WebSocket>();

  function send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body?: Buffer | string): void {
    res.writeHead(status, { ...securityHeaders(origin), ...headers });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  function refuse(res: ServerResponse, status: 403 | 404 | 405): void {
    // No content: nothing about the app leaks to an unauthenticated caller.
    const extra: OutgoingHttpHeaders = { 'Cache-Control': 'no-store', 'Content-Length': 0 };
    if (status === 405) extra['Allow'] = 'GET, HEAD';
    send(res, status, extra);
  }

  /** 'query' when the URL carries the right token, 'cookie' when the session cookie is right, else null. */
  function authorize(req: IncomingMessage, url: URL): 'query' | 'cookie' | null {
    if (!hostAllowed(req.headers, port)) return null;
    if (sameSecret(url.searchParams.get('token'), token)) return 'query';
    if (sameSecret(readCookie(req.headers, cookieName(port)), session)) return 'cookie';
    return null;
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const auth = authorize(req, url);
    if (auth === null) return refuse(res, 403);
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405);
    const cookie: OutgoingHttpHeaders = auth === 'query' ? { 'Set-Cookie': sessionCookie(port, session) } : {};

    const segments = safeSegments(url.pathname);
    if (segments === null) return refuse(res, 404);

    if (segments.length === 0 || (segments.length === 1 && segments[0] === 'index.html')) {
      const file = await resolveInside(rendererDir, ['index.html']);
      if (file === null) {
        const msg = 'The renderer is not built. Run: node scripts/build.mjs renderer';
        return send(res, 503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }, msg);
      }
      const html = (await readFile(file, 'utf8')).replace(
        /(<meta\s+http-equiv="Content-Security-Policy"\s+content=")[^"]*(")/i,
        `$1${contentSecurityPolicy(origin, { meta: true })}$2`,
      );
      return send(res, 200, { 'Content-Type': mimeType(file), 'Cache-Control': 'no-store', ...cookie }, html);
    }

    if (segments[0] === 'thumb') {
      const id = segments[1]?.replace(/\.webp$/, '');
      if (segments.length !== 2 || id === undefined || !THUMB_ID.test(id)) return refuse(res, 404);
      const file = await resolveInside(thumbDir, [`${id}.webp`]);
      if (file === null) return refuse(res, 404);
      return send(
        res,
        200,
        { 'Content-Type': 'image/webp', 'Cache-Control': 'private, max-age=3600' },
        await readFile(file),
      );
    }

    const file = await resolveInside(rendererDir, segments);
    if (file === null) return refuse(res, 404);
    // Built assets carry a content hash in their name; everything else is revalidated.
    const immutable = segments[0] === 'assets';
    const cache = immutable ? 'private, max-age=31536000, immutable' : 'no-cache';
    return send(res, 200, { 'Content-Type': mimeType(file), 'Cache-Control': cache, ...cookie }, await readFile(file));
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', origin);
    const ok = url.pathname === '/ws' && authorize(req, url) !== null && req.headers.origin === origin;
    if (!ok) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    alive.add(ws);
    let inFlight = 0;
    ws.on('pong', () => alive.add(ws));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        reply(ws, badRequest('binary frames are not accepted: send one JSON request per text frame'));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawText(data));
      } catch (err) {
        reply(ws, badRequest(`message is not valid JSON (${err instanceof Error ? err.message : String(err)})`));
        return;
      }
      if (inFlight >= MAX_IN_FLIGHT) {
        const id = idOf(parsed);
        reply(ws, {
          type: 'reply',
          id,
          ok: false,
          error: { code: 'too_large', message: 'too many requests in flight' },
        });
        return;
      }
      inFlight += 1;
      void services.router
        .dispatch(parsed, { transport: 'websocket' })
        .then((r) => reply(ws, r))
        .finally(() => {
          inFlight -= 1;
        });
    });
  });

  function reply(ws: WebSocket, msg: ReplyMessage | EventMessage): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.terminate();
      return;
    }
    ws.send(JSON.stringify(msg));
  }

  const onEvent = (event: AppEvent): void => {
    const msg: EventMessage = { type: 'event', event };
    for (const ws of wss.clients) reply(ws, msg);
  };
  services.events.on('event', onEvent);

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  port = address.port;
  origin = `http://127.0.0.1:${port}`;
  services.network.record('listen', address.address, port);

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    clientCount: () => wss.clients.size,
    async close() {
      clearInterval(heartbeat);
      services.events.off('event', onEvent);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function idOf(raw: unknown): number | null {
  if (typeof raw !== 'object' || raw === null || !('id' in raw)) return null;
  const id = raw.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

function badRequest(message: string): ReplyMessage {
  return { type: 'reply', id: null, ok: false, error: { code: 'bad_request', message, path: 'message' } };
}
